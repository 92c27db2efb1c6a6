/**
 * Checks the Compose importer against Docker's own reading of each fixture:
 * `docker stack config` (docker CLI ≥ 25, no daemon needed) prints the file as
 * `docker stack deploy` would deploy it to Swarm. Services, images, commands,
 * ports, replicas and environment must match the imported model, except the
 * differences each case documents. Skips loudly without the docker CLI, and
 * fails under CI=true.
 */
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse, stringify } from "yaml";
import type { Service } from "../src/model/app.js";
import { builtinTargetKinds, EXAMPLE_SECRET_ENV, REPO_ROOT } from "../src/testing/testing.js";
import { validateApp } from "../src/validation/validate-app.js";
import { importCompose } from "../src/import/index.js";
import { toDnsLabel } from "../src/import/dns-label.js";
import { COMPOSE_CASES, COMPOSE_FIXTURES, type ComposeCase } from "./fixtures/compose/cases.js";

// The built-in backends' target kinds: validation knows no kind by itself.
const targetKinds = await builtinTargetKinds();

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function findDocker(): string | undefined {
  if (process.env.SDX_DOCKER_CLI === "none") return undefined;
  for (const candidate of [process.env.SDX_DOCKER_CLI, "/usr/local/bin/docker", "docker"]) {
    if (!candidate) continue;
    try {
      const out = execFileSync(candidate, ["stack", "config", "--help"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      if (out.includes("compose-file")) return candidate;
    } catch {
      // not this one
    }
  }
  return undefined;
}

const docker = findDocker();
const CI = process.env.CI === "true";
if (!docker && !CI) {
  console.warn("\n*** SKIPPED import-compose-stack-config: no docker CLI with `docker stack config` (set SDX_DOCKER_CLI to its path). Under CI=true this fails. ***\n");
}

/**
 * The file as the docker CLI's v3 schema accepts it: Compose-specification keys it
 * rejects are removed. None of them changes services, ports, replicas or env.
 */
function swarmView(text: string, imported: ReadonlySet<string>): { text: string; stripped: string[] } {
  const doc = parse(text, { merge: true }) as Obj;
  const stripped: string[] = [];
  if ("name" in doc) {
    delete doc.name;
    stripped.push("name");
  }
  for (const [name, s] of Object.entries(doc.services as Obj)) {
    const svc = s as Obj;
    if (!imported.has(name)) {
      delete doc.services[name];
      stripped.push(`services.${name} (inactive profile)`);
      continue;
    }
    for (const k of ["profiles", "pull_policy"]) {
      if (k in svc) {
        delete svc[k];
        stripped.push(`services.${name}.${k}`);
      }
    }
    if (svc.depends_on && !Array.isArray(svc.depends_on)) {
      svc.depends_on = Object.keys(svc.depends_on);
      stripped.push(`services.${name}.depends_on (long syntax)`);
    }
    for (const p of Array.isArray(svc.ports) ? svc.ports : []) {
      if (typeof p !== "object") continue;
      for (const k of ["app_protocol", "name"]) {
        if (k in p) {
          delete p[k];
          stripped.push(`services.${name}.ports.${k}`);
        }
      }
    }
    for (const k of Object.keys(svc.deploy ?? {})) {
      if (k.startsWith("x-")) {
        delete svc.deploy[k];
        stripped.push(`services.${name}.deploy.${k}`);
      }
    }
  }
  return { text: stringify(doc), stripped };
}

function stackConfig(dir: string, text: string, env: Readonly<Record<string, string>>): Obj {
  const home = mkdtempSync(join(tmpdir(), "sdx-docker-"));
  const out = execFileSync(docker!, ["stack", "config", "-c", "-"], {
    cwd: dir,
    input: text,
    encoding: "utf8",
    stdio: ["pipe", "pipe", "pipe"],
    // No daemon is contacted; a socket that does not exist makes sure of it.
    env: { PATH: process.env.PATH ?? "", HOME: home, DOCKER_CONFIG: home, DOCKER_HOST: "unix:///nonexistent/docker.sock", ...env },
  });
  return parse(out) as Obj;
}

/** What Swarm would run, reduced to what the comparison looks at. */
function fromStack(s: Obj, env: Readonly<Record<string, string>>): Obj {
  const environment: Record<string, string> = {};
  for (const [k, v] of Object.entries((s.environment ?? {}) as Obj)) if (v !== null) environment[k] = String(v);
  const ports = new Set<string>();
  for (const p of s.ports ?? []) ports.add(`${p.target}/${p.protocol ?? "tcp"} public`);
  for (const e of s.expose ?? []) ports.add(`${String(e)}/tcp internal`);
  const test = s.healthcheck?.test as string[] | undefined;
  const health = !test || test[0] === "NONE" || s.healthcheck?.disable ? undefined : test[0] === "CMD-SHELL" ? ["/bin/sh", "-c", test.slice(1).join(" ")] : test.slice(1);
  void env;
  return {
    image: s.image, command: s.entrypoint, args: s.command,
    replicas: s.deploy?.mode === "global" ? 1 : (s.deploy?.replicas ?? 1),
    ports: [...ports].sort(), environment, health,
  };
}

/** The same view of an imported service; env secrets count with the value they will be read from. */
function fromModel(s: Service, env: Readonly<Record<string, string>>): Obj {
  const environment: Record<string, string> = { ...s.env };
  for (const sec of s.secrets) if (sec.asEnv && sec.source.kind === "env") environment[sec.asEnv] = env[sec.source.name] ?? "";
  return {
    image: s.image.ref, command: s.command, args: s.args,
    replicas: s.scale.kind === "fixed" ? s.scale.replicas : s.scale.min,
    ports: s.ports.map((p) => `${p.port}/${p.protocol} ${p.public ? "public" : "internal"}`).sort(),
    environment, health: s.health?.probe.kind === "exec" ? s.health.probe.command : undefined,
  };
}

const SHOP: ComposeCase = { name: "examples/shop", env: EXAMPLE_SECRET_ENV, specOnly: ["services.web.ports.app_protocol"] };

describe.skipIf(!docker)("importCompose agrees with docker stack config", () => {
  for (const c of [...COMPOSE_CASES, SHOP]) {
    it(c.name, () => {
      const dir = c === SHOP ? resolve(REPO_ROOT, "examples/shop") : join(COMPOSE_FIXTURES, c.name);
      const text = readFileSync(join(dir, "compose.yaml"), "utf8");
      const r = importCompose(text, { fileName: "compose.yaml", baseDir: dir, readFile: (p) => readFileSync(p, "utf8"), env: { ...c.env }, ...(c.profiles ? { profiles: c.profiles } : {}) });
      const app = validateApp(r.document, { targetKinds, readFile: (p) => readFileSync(resolve(dir, p), "utf8") }).app!;
      expect(app).toBeDefined();

      const composeNames = Object.keys((parse(text, { merge: true }) as Obj).services);
      const imported = new Set(composeNames.filter((n) => app.services.some((s) => s.name === toDnsLabel(n))));
      const view = swarmView(text, imported);
      expect(view.stripped.sort()).toEqual([...c.specOnly].sort());
      const stack = stackConfig(dir, view.text, c.env).services as Obj;

      expect(Object.keys(stack).map((n) => toDnsLabel(n)).sort()).toEqual(app.services.map((s) => s.name).sort());
      for (const [name, s] of Object.entries(stack)) {
        const model = app.services.find((x) => x.name === toDnsLabel(name))!;
        const want = fromStack(s as Obj, c.env);
        const got = fromModel(model, c.env);
        for (const d of c.differences ?? []) {
          if (toDnsLabel(d.service) !== model.name) continue;
          if (d.field === "image") want.image = d.to;
          else if (d.field === "env") want.environment[d.key!] = d.to;
          else want.ports = want.ports.map((p: string) => (p === d.from ? d.to : p)).sort();
        }
        expect(got, `${c.name}: ${name}`).toEqual(want);
      }
    });
  }
});

if (!docker && CI) {
  describe("docker stack config comparison", () => {
    it("needs the docker CLI under CI", () => {
      throw new Error("No docker CLI with `docker stack config` was found; CI must provide one (or set SDX_DOCKER_CLI).");
    });
  });
}
