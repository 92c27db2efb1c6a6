import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { interpolate } from "../src/load/interpolate.js";
import { loadApp } from "../src/load/load-app.js";
import { builtinTargetKinds, exampleFile, EXAMPLE_SECRET_ENV, REPO_ROOT } from "../src/testing/testing.js";
import type { Diagnostic } from "../src/validation/diagnostic.js";
import { validateApp } from "../src/validation/validate-app.js";
import { detectImportFormat, importApp, importCompose, interpolateComposeString, toSdxYaml, type ImportResult } from "../src/import/index.js";
import { parseEnvFile } from "../src/import/env-file.js";
import { splitShellWords } from "../src/import/shell-words.js";
import { looksSecret } from "../src/import/secret-like.js";
import { bytesToSdxMemory, parseComposeBytes, parseComposeDuration } from "../src/import/compose-units.js";
import { COMPOSE_CASES, COMPOSE_FIXTURES } from "./fixtures/compose/cases.js";

// The built-in backends' target kinds: validation knows no kind by itself.
const targetKinds = await builtinTargetKinds();

const errors = (d: readonly Diagnostic[]): Diagnostic[] => d.filter((x) => x.severity === "error");
const readFile = (p: string): string => readFileSync(p, "utf8");
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function importCase(name: string, env: Record<string, string>, profiles?: readonly string[]): ImportResult {
  const dir = join(COMPOSE_FIXTURES, name);
  return importCompose(readFile(join(dir, "compose.yaml")), { fileName: "compose.yaml", baseDir: dir, readFile, env, ...(profiles ? { profiles } : {}) });
}

/** Imports inline text with an in-memory file system. */
function importText(text: string, options: { env?: Record<string, string>; files?: Record<string, string>; profiles?: string[] } = {}): ImportResult {
  const files = options.files ?? {};
  return importCompose(text, {
    fileName: "compose.yaml", baseDir: "/proj", env: options.env ?? {}, ...(options.profiles ? { profiles: options.profiles } : {}),
    readFile: (p) => {
      const rel = p.replace(/^\/proj\//, "");
      if (!(rel in files)) throw new Error(`ENOENT ${p}`);
      return files[rel]!;
    },
  });
}

const svc = (r: ImportResult, name: string): Obj => (r.document.services as Obj)[name];
const note = (r: ImportResult, path: string): string | undefined => r.report.find((n) => n.path === path)?.level;

describe("importCompose: fixtures", () => {
  for (const c of COMPOSE_CASES) {
    describe(c.name, () => {
      const r = importCase(c.name, { ...c.env }, c.profiles);
      const dir = join(COMPOSE_FIXTURES, c.name);

      it("imports without errors into a document that validates without errors", () => {
        expect(errors(r.diagnostics)).toEqual([]);
        const v = validateApp(r.document, { targetKinds, readFile: (p) => readFile(resolve(dir, p)) });
        expect(errors(v.diagnostics)).toEqual([]);
        expect(v.app).toBeDefined();
      });

      it("writes the golden sdx.yaml", async () => {
        await expect(toSdxYaml(r, { source: "compose.yaml" })).toMatchFileSnapshot(`./fixtures/compose/${c.name}/sdx.yaml`);
      });

      it("writes sdx.yaml that keeps variables as references and loads back to the same document with them set", () => {
        const text = toSdxYaml(r, { source: "compose.yaml" });
        expect(parse(text)).toEqual(r.template);
        for (const v of Object.values(c.env)) if (v.length >= 3) expect(text, v).not.toContain(v);
        const back = interpolate(parse(text), { ...c.env });
        expect(back.diagnostics).toEqual([]);
        expect(back.value).toEqual(r.document);
      });

      it("accounts for every key: translated silently only where the mapping is one to one", () => {
        const source = parse(readFile(join(dir, "compose.yaml")), { merge: true }) as Obj;
        const noted = (path: string): boolean => r.report.some((n) => n.path === path || n.path.startsWith(`${path}.`) || n.path.startsWith(`${path}[`));
        const SILENT_TOP = ["services", "volumes", "secrets", "configs", "name"];
        const SILENT_SERVICE = ["image", "command", "entrypoint", "environment", "ports", "expose", "healthcheck", "deploy", "secrets", "configs", "volumes", "labels", "tmpfs", "scale", "cpus", "mem_limit", "mem_reservation", "platform"];
        const SILENT_DEPLOY = ["replicas", "resources", "placement", "update_config", "labels", "mode"];
        for (const k of Object.keys(source)) if (!SILENT_TOP.includes(k)) expect(noted(k), `top-level ${k}`).toBe(true);
        for (const [name, s] of Object.entries(source.services as Obj)) {
          const included = (r.document.services as Obj)[name] !== undefined || noted(`services.${name}`);
          expect(included, `service ${name}`).toBe(true);
          if (!(r.document.services as Obj)[name]) continue;
          for (const k of Object.keys(s as Obj)) if (!SILENT_SERVICE.includes(k)) expect(noted(`services.${name}.${k}`), `services.${name}.${k}`).toBe(true);
          for (const k of Object.keys((s as Obj).deploy ?? {})) if (!SILENT_DEPLOY.includes(k)) expect(noted(`services.${name}.deploy.${k}`), `services.${name}.deploy.${k}`).toBe(true);
        }
      });
    });
  }
});

describe("importCompose: what the user gets", () => {
  it("web+db: secrets stay references, project files become config files, the database is flagged unreachable", () => {
    const r = importCase("web-db", { POSTGRES_PASSWORD: "hunter2-do-not-print" });
    const text = toSdxYaml(r, { source: "compose.yaml" });
    expect(text).not.toContain("hunter2");
    expect(svc(r, "db").secrets).toEqual({ "postgres-password": { fromEnv: "POSTGRES_PASSWORD", asEnv: "POSTGRES_PASSWORD" } });
    expect(svc(r, "app").secrets).toEqual({ "database-password": { fromEnv: "POSTGRES_PASSWORD", asEnv: "DATABASE_PASSWORD" } });
    expect(svc(r, "db").files).toEqual([{ path: "/docker-entrypoint-initdb.d/init.sql", fromFile: "db/init.sql" }]);
    // Swarm mounts the volume docker stack deploy made for the stack web-db, so its data carries over.
    expect(svc(r, "db").volumes).toEqual([{ name: "db-data", path: "/var/lib/postgresql/data", kind: "persistent", dockerName: "web-db_db-data" }]);
    expect(svc(r, "db").health).toEqual({ exec: { command: ["/bin/sh", "-c", "pg_isready -U shop -d shop"] }, interval: "10s", timeout: "5s", retries: 5 });
    expect(svc(r, "web").ports).toEqual([{ port: 80, public: true }]);
    expect(svc(r, "app").ports).toEqual([3000]);
    expect(note(r, "services.db.ports")).toBe("approximated");
    expect(note(r, "services.app.depends_on")).toBe("dropped");
    expect(note(r, "services.web.container_name")).toBe("dropped");
    expect(note(r, "networks")).toBe("ignored");
  });

  it("queue worker: renamed to a DNS label, shell-split command, scaled with resources, tmpfs", () => {
    const r = importCase("queue-worker", { WORKER_TOKEN: "t" });
    expect(Object.keys(r.document.services as Obj)).toEqual(["redis", "queue-worker", "scheduler"]);
    expect(note(r, "services.queue_worker")).toBe("approximated");
    expect(svc(r, "redis").args).toEqual(["redis-server", "--appendonly", "yes", "--maxmemory-policy", "noeviction"]);
    expect(svc(r, "scheduler")).toMatchObject({ command: ["celery"], args: ["-A", "jobs", "beat", "--schedule", "/tmp/beat-schedule"] });
    expect(svc(r, "scheduler").volumes).toEqual([{ name: "tmp", path: "/tmp", kind: "ephemeral", size: "64Mi" }]);
    expect(svc(r, "scheduler").resources).toEqual({ memory: "128Mi", limits: { memory: "128Mi" } });
    expect(svc(r, "queue-worker")).toMatchObject({ replicas: 3, resources: { cpu: 0.5, memory: "512Mi", limits: { cpu: 1, memory: "1Gi" } } });
    expect(note(r, "services.queue_worker.stop_grace_period")).toBe("dropped");
  });

  it("secrets and configs from files: mounts, targets, modes; external ones dropped with the reason", () => {
    const r = importCase("secrets-files", {});
    expect(svc(r, "api").secrets).toEqual({
      "db-password": { fromFile: "secrets/db_password.txt", asFile: "/run/secrets/db_password" },
      "stripe-key": { fromFile: "secrets/stripe_key.txt", asFile: "/run/secrets/stripe.key" },
    });
    expect(svc(r, "api").files).toEqual([
      { path: "/etc/api/config.toml", fromFile: "config/api.toml", mode: "0440" },
      { path: "/logging", fromFile: "config/logging.yaml" },
    ]);
    expect(r.report.find((n) => n.path === "services.api.secrets[2]")).toMatchObject({ level: "dropped", reason: expect.stringContaining("backend-native reference") });
    expect(note(r, "services.api.secrets[1].mode")).toBe("dropped");
    expect(note(r, "services.api.secrets[1].uid")).toBe("dropped");
  });

  it("long-syntax and short ports: container ports, publishing, ranges, loopback, duplicates", () => {
    const r = importCase("long-ports", {});
    expect(svc(r, "gateway").ports).toEqual([{ port: 80, public: true }, { port: 443, public: true }, { port: 8082, public: true }, 8080]);
    expect(svc(r, "dns").ports).toEqual([{ port: 53, protocol: "udp", public: true }, { port: 53, public: true }, { port: 9153, public: true }]);
    expect(svc(r, "media").ports).toEqual([6000, 6001, 6002].map((port) => ({ port, public: true })).concat([{ port: 7000, protocol: "udp", public: true } as never]));
    expect(note(r, "services.gateway.ports[1].published")).toBe("approximated");
    expect(note(r, "services.gateway.ports[3]")).toBe("approximated");
    expect(note(r, "services.gateway.ports[1].mode")).toBe("approximated");
    expect((r.document.targets as Obj).swarm).toEqual({ kind: "swarm" });
  });

  it("publishes in host mode when every published port asks for it", () => {
    const r = importText("services:\n  a:\n    image: x:1\n    ports:\n      - { target: 80, published: 80, mode: host }\n");
    expect((r.document.targets as Obj).swarm).toEqual({ kind: "swarm", publishMode: "host" });
    const mixed = importText("services:\n  a:\n    image: x:1\n    ports:\n      - { target: 80, published: 80, mode: host }\n      - \"8080:8080\"\n");
    expect((mixed.document.targets as Obj).swarm).toEqual({ kind: "swarm" });
    expect(note(mixed, "services.a.ports[0].mode")).toBe("approximated");
  });

  it("health checks: CMD-SHELL and strings run in /bin/sh -c, CMD as is, timing in whole seconds, NONE and disable", () => {
    const r = importCase("cmd-shell-health", {});
    expect(svc(r, "api").health).toEqual({
      exec: { command: ["/bin/sh", "-c", "curl -fsS http://localhost:8000/healthz || exit 1"] }, interval: "1m30s", timeout: "10s", retries: 3, startPeriod: "40s",
    });
    expect(svc(r, "cache").health).toEqual({ exec: { command: ["/bin/sh", "-c", "echo stats | nc -w 1 127.0.0.1 11211 | grep -q uptime"] }, interval: "15s", timeout: "15s" });
    expect(svc(r, "search").health).toEqual({ exec: { command: ["/usr/local/bin/healthcheck", "--port", "9200", "--timeout=2s"] }, interval: "3s", timeout: "2s", retries: 4 });
    expect(svc(r, "legacy").health).toBeUndefined();
    expect(svc(r, "batch").health).toBeUndefined();
    expect(note(r, "services.search.healthcheck.interval")).toBe("approximated");
    expect(note(r, "services.api.healthcheck.start_interval")).toBe("dropped");
    expect(note(r, "services.legacy.healthcheck.test")).toBe("approximated");
  });

  it("writes Docker's default timing, since sdx's defaults are shorter", () => {
    const r = importText('services:\n  a:\n    image: x:1\n    healthcheck:\n      test: ["CMD", "true"]\n');
    expect(svc(r, "a").health).toEqual({ exec: { command: ["true"] }, interval: "30s", timeout: "30s" });
  });

  it("deploy blocks: replicas, resources, placement, rollout, labels, global mode", () => {
    const r = importCase("deploy-blocks", {});
    expect(svc(r, "api")).toMatchObject({
      replicas: 4,
      resources: { cpu: 0.5, memory: "768Mi", limits: { cpu: 2, memory: "2Gi" } },
      placement: { arch: "arm64", constraints: { zone: "eu-west-1a" } },
      rollout: { maxSurge: 2, maxUnavailable: 0, autoRollback: true },
      labels: { "com.example.team": "payments", "com.example.tier": "backend" },
    });
    expect(svc(r, "migrate")).toMatchObject({ rollout: { strategy: "recreate" }, resources: { cpu: 0.1, memory: "64Mi", limits: { cpu: 0.1, memory: "64Mi" } } });
    expect(note(r, "services.node-exporter.deploy.mode")).toBe("approximated");
    expect(note(r, "services.api.deploy.placement.constraints[2]")).toBe("dropped");
    expect(note(r, "services.api.deploy.rollback_config.parallelism")).toBe("approximated");
    expect(note(r, "services.api.deploy.restart_policy.condition")).toBe("approximated");
    expect(note(r, "services.api.deploy.resources.limits.pids")).toBe("dropped");
  });

  it("maps stop-first updates to maxUnavailable and failure_action pause to no automatic rollback", () => {
    const r = importText("services:\n  a:\n    image: x:1\n    deploy:\n      update_config: { parallelism: 3, failure_action: pause }\n");
    expect(svc(r, "a").rollout).toEqual({ maxSurge: 0, maxUnavailable: 3, autoRollback: false });
  });

  it("build without image: reported with a warning and the image Compose would build, never dropped silently", () => {
    const r = importCase("build-no-image", {});
    expect(svc(r, "api").image).toBe("build-no-image-api");
    expect(note(r, "services.api.build")).toBe("approximated");
    expect(r.diagnostics).toContainEqual(expect.objectContaining({ code: "SDX_IMPORT_BUILD", severity: "warning", path: "services.api.build" }));
    expect(svc(r, "web").image).toBe("registry.example.com/shop/web:1.2.0");
    expect(note(r, "services.web.build")).toBe("ignored");
  });

  it("profiles: inactive services are left out and reported; options, COMPOSE_PROFILES and * select them", () => {
    const r = importCase("profiles", {}, ["debug"]);
    expect(Object.keys(r.document.services as Obj)).toEqual(["app", "debug-tools", "admin"]);
    expect(note(r, "services.loadtest")).toBe("ignored");
    expect(r.document.name).toBe("profiled");
    const none = importCase("profiles", {});
    expect(Object.keys(none.document.services as Obj)).toEqual(["app"]);
    const fromEnv = importCase("profiles", { COMPOSE_PROFILES: "admin,load" });
    expect(Object.keys(fromEnv.document.services as Obj)).toEqual(["app", "admin", "loadtest"]);
    const all = importCase("profiles", {}, ["*"]);
    expect(Object.keys(all.document.services as Obj)).toHaveLength(4);
  });

  it("x- extensions: fragments merged through anchors, x- keys ignored with a note", () => {
    const r = importCase("x-extensions", {});
    expect(svc(r, "worker").env).toEqual({ TZ: "UTC", LOG_FORMAT: "json" });
    for (const p of ["x-logging", "x-service-defaults", "services.api.x-traefik-rule", "services.api.deploy.x-autoscale-hint", "version"]) expect(note(r, p), p).toBe("ignored");
    expect(note(r, "services.worker.logging")).toBe("dropped");
  });

  it("interpolation: defaults, required variables, $$, $VAR, typed fields and env files", () => {
    const r = importCase("interpolation", { TAG: "2.1.0", SITE_NAME: "shop", USER_NAME: "ada", EMPTY: "", API_TOKEN: "tok", REPLICAS: "3" });
    const web = svc(r, "web");
    expect(web.image).toBe("ghcr.io/example/web:2.1.0");
    expect(web.args).toEqual(["sh", "-c", "echo $HOSTNAME serving shop && exec httpd -f -p 8080"]);
    expect(web.env).toEqual({
      APP_MODE: "production", APP_URL: "https://shop.example.com", APP_MOTTO: "single quotes keep $SITE_NAME literal", CACHE_TTL: "300",
      SITE_NAME: "shop", GREETING: "hello, ada", EMPTY_DEFAULT: "fallback", EMPTY_KEPT: "", UNSET_OK: "", LITERAL: "cost: $5",
    });
    expect(web.secrets).toEqual({ "api-token": { fromEnv: "API_TOKEN", asEnv: "API_TOKEN" } });
    expect(web.replicas).toBe(3);
    expect(web.resources).toEqual({ memory: "256Mi" });
    expect(web.ports).toEqual([{ port: 8080, public: true }]);
    expect(toSdxYaml(r)).toContain('LITERAL: "cost: $$5"');
  });

  it("interpolation: a missing required variable is an error at its path; an unset one a warning", () => {
    const r = importCase("interpolation", { API_TOKEN: "tok" });
    expect(errors(r.diagnostics)).toEqual([
      expect.objectContaining({ code: "SDX_ENV_REQUIRED", path: "services.web.command[2]", message: expect.stringContaining("set SITE_NAME") }),
      expect.objectContaining({ code: "SDX_ENV_REQUIRED", path: "services.web.environment.SITE_NAME", message: expect.stringContaining("SITE_NAME is required") }),
    ]);
    expect(r.diagnostics).toContainEqual(expect.objectContaining({ code: "SDX_ENV_UNSET", severity: "warning", path: "services.web.environment.GREETING" }));
  });

  it("reads .env next to the Compose file for interpolation; the environment wins", () => {
    const text = "services:\n  a:\n    image: x:${TAG}\n    environment:\n      MODE: ${MODE}\n";
    const r = importText(text, { env: { MODE: "prod" }, files: { ".env": "TAG=1.2\nMODE=dev\n" } });
    expect(svc(r, "a")).toMatchObject({ image: "x:1.2", env: { MODE: "prod" } });
    expect(note(r, ".env")).toBe("translated");
  });

  it("names the app from COMPOSE_PROJECT_NAME, then name, then the directory", () => {
    expect(importText("name: My_Shop\nservices: { a: { image: x } }\n").document.name).toBe("my-shop");
    expect(importText("name: shop\nservices: { a: { image: x } }\n", { env: { COMPOSE_PROJECT_NAME: "other" } }).document.name).toBe("other");
    expect(importText("services: { a: { image: x } }\n").document.name).toBe("proj");
  });

  it("keeps literal secret-looking values as env but recommends a secret reference", () => {
    const r = importText("services:\n  a:\n    image: x\n    environment:\n      - API_KEY=abc\n      - KEY_PREFIX=p\n      - DB_PASSWORD_FILE=/run/secrets/db\n");
    expect(svc(r, "a").env).toEqual({ API_KEY: "abc", KEY_PREFIX: "p", DB_PASSWORD_FILE: "/run/secrets/db" });
    expect(r.report.filter((n) => n.level === "approximated").map((n) => n.path)).toEqual(["services.a.environment[0]"]);
  });

  it("reports inputs Compose itself would reject", () => {
    const r = importText("services:\n  a:\n    image: x\n    secrets: [nope]\n    volumes: [missing:/data]\n  b:\n    environment: { A: b }\n");
    expect(errors(r.diagnostics).map((d) => [d.code, d.path])).toEqual([
      ["SDX_IMPORT_UNDEFINED", "services.a.secrets[0]"],
      ["SDX_IMPORT_UNDEFINED", "services.a.volumes[0]"],
      ["SDX_IMPORT_NO_IMAGE", "services.b"],
    ]);
  });

  it("turns a syntax error into a diagnostic with line and column", () => {
    const r = importText("services:\n  a:\n    image: [x\n");
    expect(r.diagnostics[0]).toMatchObject({ code: "SDX_SYNTAX", severity: "error", line: expect.any(Number) });
    expect(r.document).toEqual({});
  });

  it("volumes: bind mounts of directories and host paths are dropped with the reason; external volumes approximated", () => {
    const r = importText(
      "services:\n  a:\n    image: x\n    volumes:\n      - ./src:/app\n      - /var/run/docker.sock:/var/run/docker.sock\n      - data:/data:ro\n      - /cache\n" +
        "volumes:\n  data:\n    external: true\n",
    );
    // An external volume keeps its own name on Swarm (not prefixed with the project), so the existing data is mounted.
    expect(svc(r, "a").volumes).toEqual([{ name: "data", path: "/data", kind: "persistent", readOnly: true, dockerName: "data" }, { name: "cache", path: "/cache", kind: "ephemeral" }]);
    expect(note(r, "services.a.volumes[0]")).toBe("dropped");
    expect(r.report.find((n) => n.path === "services.a.volumes[1]")?.reason).toMatch(/Docker API socket/);
    expect(note(r, "volumes.data.external")).toBe("approximated");
  });

  it("env_file: required files must exist, optional ones may not, raw ones are not parsed", () => {
    const text = "services:\n  a:\n    image: x\n    env_file:\n      - path: base.env\n      - path: local.env\n        required: false\n      - path: raw.env\n        format: raw\n";
    const r = importText(text, { files: { "base.env": "A='1'\n", "raw.env": "B='2'\n" } });
    expect(svc(r, "a").env).toEqual({ A: "1", B: "'2'" });
    expect(note(r, "services.a.env_file[1]")).toBe("ignored");
    const missing = importText(text, { files: {} });
    expect(errors(missing.diagnostics).map((d) => [d.code, d.path])).toEqual([["SDX_IMPORT_FILE_UNREADABLE", "services.a.env_file[0]"], ["SDX_IMPORT_FILE_UNREADABLE", "services.a.env_file[2]"]]);
  });

  it("rounds units sdx cannot hold and says so", () => {
    const r = importText("services:\n  a:\n    image: x\n    deploy:\n      resources:\n        reservations: { memory: 1500k }\n");
    expect(svc(r, "a").resources).toEqual({ memory: "2Mi" });
    expect(note(r, "services.a.deploy.resources.reservations.memory")).toBe("approximated");
  });
});

describe("examples/shop/compose.yaml", () => {
  /** What sdx.yaml says and Compose cannot: removed from both sides, and checked to really differ. */
  const COMPOSE_CANNOT_EXPRESS: readonly { service: string; path: string; why: string }[] = [
    { service: "web", path: "scale", why: "autoscale (2–6 replicas at 70% CPU): Compose has fixed replicas, so the twin runs the minimum" },
    { service: "web", path: "rollout.timeoutSeconds", why: "a rollout deadline: update_config has none" },
    { service: "web", path: "health.probe", why: "an http probe: Compose health checks are commands (the twin runs wget)" },
    { service: "api", path: "health.probe", why: "a tcp probe: Compose health checks are commands (the twin runs nc)" },
    { service: "api", path: "ports.0.appProtocol", why: "the protocol of an internal port: expose has no app_protocol" },
    { service: "api", path: "ports.0.name", why: "derived from appProtocol (http-9090 vs tcp-9090)" },
    { service: "worker", path: "placement", why: "spot: prefer with minOnDemand: 1: Compose knows no spot capacity" },
  ];
  const without = (o: unknown, path: string): unknown => {
    const clone = structuredClone(o) as Obj;
    const segs = path.split(".");
    let cur: Obj | undefined = clone;
    for (const s of segs.slice(0, -1)) cur = cur?.[s];
    if (cur) delete cur[segs.at(-1)!];
    return clone;
  };
  const get = (o: unknown, path: string): unknown => path.split(".").reduce<unknown>((x, s) => (x as Obj | undefined)?.[s], o);

  it("imports to the services of examples/shop/sdx.yaml, except what Compose cannot express", async () => {
    const dir = resolve(REPO_ROOT, "examples/shop");
    const r = importCompose(readFile(join(dir, "compose.yaml")), { fileName: "compose.yaml", baseDir: dir, readFile, env: { ...EXAMPLE_SECRET_ENV } });
    expect(errors(r.diagnostics)).toEqual([]);
    const imported = validateApp(r.document, { targetKinds, readFile: (p) => readFile(resolve(dir, p)) });
    expect(errors(imported.diagnostics)).toEqual([]);
    const loaded = await loadApp(exampleFile("shop"), { targetKinds, env: EXAMPLE_SECRET_ENV });
    expect(errors(loaded.diagnostics)).toEqual([]);
    expect(imported.app!.name).toBe(loaded.app!.name);

    const mine = new Map(imported.app!.services.map((s) => [s.name, s as unknown]));
    // quotes is built from source by sdx (no Dockerfile): Compose's `build:` would need one, so the Compose file leaves it out.
    const theirs = new Map(loaded.app!.services.filter((s) => !s.build).map((s) => [s.name, s as unknown]));
    expect([...mine.keys()]).toEqual([...theirs.keys()]);
    for (const e of COMPOSE_CANNOT_EXPRESS) {
      expect(get(mine.get(e.service), e.path), `${e.service}.${e.path} should differ: ${e.why}`).not.toEqual(get(theirs.get(e.service), e.path));
      mine.set(e.service, without(mine.get(e.service), e.path));
      theirs.set(e.service, without(theirs.get(e.service), e.path));
    }
    for (const [name, s] of theirs) expect(mine.get(name), name).toEqual(s);
  });
});

describe("Compose interpolation", () => {
  const env = { SET: "v", EMPTY: "", A: "a" };
  const cases: [string, string][] = [
    ["${SET}", "v"], ["$SET", "v"], ["x${SET}y", "xvy"], ["$SET-x", "v-x"],
    ["${UNSET:-d}", "d"], ["${EMPTY:-d}", "d"], ["${EMPTY-d}", ""], ["${UNSET-d}", "d"], ["${SET:-d}", "v"],
    ["${SET:+alt}", "alt"], ["${EMPTY:+alt}", ""], ["${EMPTY+alt}", "alt"], ["${UNSET+alt}", ""],
    ["${UNSET:-${A}}", "a"], ["${UNSET:-${ALSO_UNSET:-deep}}", "deep"], ["${UNSET:-{\"k\":1}}", "{\"k\":1}"],
    ["$$SET", "$SET"], ["$${SET}", "${SET}"], ["a$$", "a$"], ["${SET?err}", "v"], ["${EMPTY?err}", ""],
  ];
  for (const [input, want] of cases) {
    it(`${input} → ${JSON.stringify(want)}`, () => {
      const r = interpolateComposeString(input, env, "p");
      expect(r.value).toBe(want);
      expect(errors(r.diagnostics)).toEqual([]);
    });
  }
  it("errors on required variables and malformed templates, warns on unset ones", () => {
    expect(interpolateComposeString("${EMPTY:?need it}", env, "p").diagnostics).toEqual([expect.objectContaining({ code: "SDX_ENV_REQUIRED", message: expect.stringContaining("need it") })]);
    expect(interpolateComposeString("${UNSET?gone}", env, "p").diagnostics[0]).toMatchObject({ code: "SDX_ENV_REQUIRED" });
    expect(interpolateComposeString("${1}", env, "p").diagnostics[0]).toMatchObject({ code: "SDX_INTERPOLATION" });
    expect(interpolateComposeString("${SET", env, "p").diagnostics[0]).toMatchObject({ code: "SDX_INTERPOLATION" });
    expect(interpolateComposeString("cost $5", env, "p").diagnostics[0]).toMatchObject({ code: "SDX_INTERPOLATION" });
    expect(interpolateComposeString("$UNSET", env, "p")).toMatchObject({ value: "", diagnostics: [expect.objectContaining({ code: "SDX_ENV_UNSET", severity: "warning" })] });
  });
});

describe("import helpers", () => {
  it("parses env files as Compose does", () => {
    const text = [
      "# comment", "", "export A=1", "B = two # comment", "C=three# not a comment", "D='single $A'", 'E="double $A\\tq\\"x\\""',
      'F="multi', 'line"', "G", "H=", "I=${A}-${NOPE:-z}",
    ].join("\n");
    expect(parseEnvFile(text, { G: "from-env" }, "f").vars).toEqual({
      A: "1", B: "two", C: "three# not a comment", D: "single $A", E: 'double 1\tq"x"', F: "multi\nline", G: "from-env", H: "", I: "1-z",
    });
    expect(parseEnvFile("A='$X'\nB=$X", {}, "f", "raw").vars).toEqual({ A: "'$X'", B: "$X" });
  });
  it("splits command strings like a POSIX shell, without expansion", () => {
    expect(splitShellWords(`sh -c 'echo "a b" $HOME' x\\ y "q\\"z"`)).toEqual(["sh", "-c", 'echo "a b" $HOME', "x y", 'q"z']);
    expect(splitShellWords("unterminated 'quote")).toBeUndefined();
  });
  it("reads Compose byte values as binary units and durations with every unit", () => {
    expect(parseComposeBytes("512M")).toBe(512 * 2 ** 20);
    expect(parseComposeBytes("512mb")).toBe(512 * 2 ** 20);
    expect(parseComposeBytes("1gb")).toBe(2 ** 30);
    expect(parseComposeBytes("2048k")).toBe(2 ** 21);
    expect(parseComposeBytes(1024)).toBe(1024);
    expect(parseComposeBytes("1.5g")).toBe(1.5 * 2 ** 30);
    expect(parseComposeBytes("lots")).toBeUndefined();
    expect(bytesToSdxMemory(1.5 * 2 ** 30)).toEqual({ value: "1536Mi", exact: true });
    expect(bytesToSdxMemory(2 ** 30)).toEqual({ value: "1Gi", exact: true });
    expect(parseComposeDuration("1h5m30s20ms")).toBeCloseTo(3930.02);
    expect(parseComposeDuration("500us")).toBeCloseTo(0.0005);
    expect(parseComposeDuration("10")).toBe(10);
    expect(parseComposeDuration("ten")).toBeUndefined();
  });
  it("tells secret-looking variable names", () => {
    for (const n of ["DB_PASSWORD", "API_KEY", "GITHUB_TOKEN", "SECRET_KEY_BASE", "POSTGRES_PASSWORD", "AWS_SECRET_ACCESS_KEY", "DBPASSWORD", "STRIPE_API_KEY"]) expect(looksSecret(n), n).toBe(true);
    for (const n of ["DB_PASSWORD_FILE", "KEY_PREFIX", "LOG_LEVEL", "PWD", "MONKEY", "TOKEN_TTL_SECONDS"]) expect(looksSecret(n), n).toBe(false);
  });
});

describe("detectImportFormat", () => {
  const cases: [string | undefined, string | undefined, string | undefined][] = [
    ["compose.yaml", undefined, "compose"], ["docker-compose.yml", undefined, "compose"], ["docker-compose.prod.yml", undefined, "compose"],
    ["app.compose.yaml", undefined, "compose"], ["score.yaml", undefined, "score"], ["api.score.yaml", undefined, "score"],
    ["sdx.yaml", undefined, "sdx"], ["sdx.config.ts", undefined, "sdx"], ["app.yaml", undefined, undefined],
    ["app.yaml", "apiVersion: score.dev/v1b1\nmetadata: { name: x }\ncontainers: {}\n", "score"],
    ["app.yaml", "version: '3.8'\nservices: { a: { image: x } }\n", "compose"],
    ["app.yaml", "services:\n  a:\n    image: x\n    environment: { A: b }\n", "compose"],
    ["app.yaml", "name: x\nservices:\n  a:\n    image: x\n    env: { A: b }\n", "sdx"],
    ["app.yaml", "name: x\nservices: { a: { image: x } }\ntargets: { t: { kind: swarm } }\n", "sdx"],
    ["compose.yaml", "services: { a: { image: x } }\n", "compose"],
    ["sdx.yaml", "name: x\nservices: { a: { image: x } }\n", "sdx"],
    // Content wins over a misleading name.
    ["compose.yaml", "apiVersion: score.dev/v1b1\nmetadata: { name: x }\ncontainers: {}\n", "score"],
  ];
  for (const [name, text, want] of cases) {
    it(`${name}${text ? " with content" : ""} → ${want}`, () => {
      const r = detectImportFormat(name, text);
      expect(r.format).toBe(want);
      expect(r.reason).not.toBe("");
    });
  }
});

describe("importApp", () => {
  it("runs the importer the file name and content call for", () => {
    const compose = readFile(join(COMPOSE_FIXTURES, "queue-worker", "compose.yaml"));
    expect(importApp(compose, { fileName: "docker-compose.yml", env: { WORKER_TOKEN: "t" } }).format).toBe("compose");
    const score = "apiVersion: score.dev/v1b1\nmetadata: { name: ab }\ncontainers: { main: { image: x } }\n";
    expect(importApp(score, { fileName: "workload.yaml" })).toMatchObject({ format: "score", document: { name: "ab" } });
    const sdx = importApp("name: a\nservices: { w: { image: x } }\ntargets: { t: { kind: swarm } }\n", { fileName: "sdx.yaml" });
    expect(sdx.format).toBeUndefined();
    expect(sdx.diagnostics[0]).toMatchObject({ code: "SDX_IMPORT_FORMAT", severity: "error" });
  });
});

describe("toSdxYaml", () => {
  it("lists the report in the header by level and escapes $ so that loading gives the same values", () => {
    const result = { document: { name: "a", services: { web: { image: "x:1", env: { A: "$HOME ${B} $$" } } } }, report: [
      { path: "services.web.build", level: "dropped" as const, reason: "no build" },
      { path: "x-y", level: "ignored" as const, reason: "extension" },
    ] };
    const text = toSdxYaml(result, { source: "compose.yaml", schema: "./app.schema.json" });
    expect(text).toMatch(/^# Imported from compose\.yaml/);
    expect(text.indexOf("Dropped")).toBeLessThan(text.indexOf("Ignored"));
    expect(text).toContain("#   - services.web.build: no build");
    const parsed = parse(text) as Obj;
    expect(parsed.$schema).toBe("./app.schema.json");
    delete parsed.$schema;
    expect(interpolate(parsed, {}).value).toEqual(result.document);
  });
});
