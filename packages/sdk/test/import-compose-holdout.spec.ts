/**
 * Compose shapes from the holdout (real projects no one here wrote): each case
 * asserts what the user gets, the imported document, the report, the
 * diagnostics, and where it matters the objects a backend renders from it.
 */
import { describe, expect, it } from "vitest";
import { plan } from "@sdx/sdk";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { BackendRegistry } from "../src/backend/backend-registry.js";
import { builtinBackendProviders } from "../src/di/builtin-providers.js";
import { importCompose, toSdxYaml, type ImportResult } from "../src/import/index.js";
import { readDotEnv } from "../src/import/env-file.js";
import { containedTextReader } from "../src/load/read-contained-file.js";
import { builtinTargetKinds, contextForApp } from "../src/testing/testing.js";
import type { Diagnostic } from "../src/validation/diagnostic.js";
import { validateApp } from "../src/validation/validate-app.js";

const targetKinds = await builtinTargetKinds();
const registry = new BackendRegistry(builtinBackendProviders());
const FIXTURES = join(import.meta.dirname, "fixtures/compose-holdout");
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const errors = (d: readonly Diagnostic[]): [string, string][] => d.filter((x) => x.severity === "error").map((x) => [x.code, x.path]);
const note = (r: ImportResult, path: string): { level: string; reason: string } | undefined => r.report.find((n) => n.path === path);
const svc = (r: ImportResult, name: string): Obj => (r.document.services as Obj)[name];

/** Imports a fixture as `sdx import` does: files read through the contained reader of its directory. */
function importFixture(name: string, options: { env?: Record<string, string>; targets?: Record<string, Record<string, unknown>> } = {}): ImportResult {
  const dir = join(FIXTURES, name);
  return importCompose(readFileSync(join(dir, "compose.yaml"), "utf8"), {
    fileName: "compose.yaml", baseDir: dir, readFile: containedTextReader({ baseDir: dir, allowOutside: [] }), env: options.env ?? {},
    ...(options.targets ? { targets: options.targets } : {}),
  });
}

describe("an anonymous volume inside a dropped bind mount (node_modules under .:/usr/src/app)", () => {
  const r = importFixture("node-dev");

  it("is dropped with a warning, so the image's node_modules stays visible; other anonymous volumes stay ephemeral", () => {
    expect(errors(r.diagnostics)).toEqual([]);
    // Not an empty tmpfs over the image's /usr/src/app/node_modules: only /scratch is mounted.
    expect(svc(r, "app").volumes).toEqual([{ name: "scratch", path: "/scratch", kind: "ephemeral" }]);
    expect(note(r, "services.app.volumes[0]")).toMatchObject({ level: "dropped", reason: expect.stringContaining("inside the dropped bind mount of . at /usr/src/app") });
    expect(note(r, "services.app.volumes[1]")?.level).toBe("dropped");
    expect(note(r, "services.app.volumes[2]")?.level).toBe("approximated");
    expect(r.diagnostics.filter((d) => d.severity === "warning").map((d) => [d.code, d.path])).toContainEqual(["SDX_IMPORT_VOLUME_DROPPED", "services.app.volumes[0]"]);
  });

  it("the bind mount may come first or last: the same volume is dropped either way", () => {
    const text = "services:\n  app:\n    image: x\n    volumes:\n      - ./src:/app\n      - /app/node_modules\n      - /app-data\n";
    const later = importCompose(text, { baseDir: "/p", readFile: () => { throw new Error("ENOENT"); } });
    expect(svc(later, "app").volumes).toEqual([{ name: "app-data", path: "/app-data", kind: "ephemeral" }]);
    expect(note(later, "services.app.volumes[1]")?.level).toBe("dropped");
  });

  it("reports a fixed ipv4_address as dropped with the address, not ignored with the network", () => {
    expect(note(r, "services.app.networks.backend.ipv4_address")).toMatchObject({ level: "dropped", reason: expect.stringContaining("172.28.0.10") });
    expect(note(r, "services.app.networks")?.level).toBe("ignored");
    expect(toSdxYaml(r, { source: "compose.yaml" })).toMatch(/Dropped[^]*services\.app\.networks\.backend\.ipv4_address: sdx does not fix container addresses \(172\.28\.0\.10\)/);
  });
});

describe("environment variables with dots (Elasticsearch's discovery.type)", () => {
  const r = importFixture("search", { targets: { swarm: { kind: "swarm" }, k8s: { kind: "kubernetes" } } });
  const app = validateApp(r.document, { targetKinds }).app!;

  it("are kept, and the app validates", () => {
    expect(errors(r.diagnostics)).toEqual([]);
    expect(svc(r, "es").env).toEqual({ "discovery.type": "single-node", "xpack.security.enabled": "false", ES_JAVA_OPTS: "-Xms512m -Xmx512m" });
    expect(svc(r, "kibana").env).toEqual({ "elasticsearch.hosts": "http://es:9200" });
    expect(r.report.filter((n) => n.level === "dropped" && n.path.includes("environment"))).toEqual([]);
    expect(app).toBeDefined();
  });

  it("reach the container on Swarm and Kubernetes", async () => {
    const swarm = await registry.get("swarm");
    const rs = swarm.render(await contextForApp(app, { kind: "swarm" }, FIXTURES, {}));
    const es = rs.find((x) => x.kind === "service" && x.name === "search_es")!.body as Obj;
    expect(es.TaskTemplate.ContainerSpec.Env).toEqual(expect.arrayContaining(["discovery.type=single-node", "xpack.security.enabled=false"]));
    const k8s = await registry.get("kubernetes");
    const ks = k8s.render(await contextForApp(app, { kind: "kubernetes" }, FIXTURES, {}));
    const dep = ks.find((x) => x.kind === "Deployment" && x.name === "es")!.body as Obj;
    expect(dep.spec.template.spec.containers[0].env).toEqual(expect.arrayContaining([{ name: "discovery.type", value: "single-node" }]));
  });

  it("are refused only where a shell must export them: a secret's asEnv, and names no backend takes", () => {
    const doc = (env: Obj, secrets?: Obj): Obj => ({ name: "a", services: { s: { image: "x@sha256:" + "0".repeat(64), env, ...(secrets ? { secrets } : {}) } }, targets: { swarm: { kind: "swarm" } } });
    expect(errors(validateApp(doc({ "discovery.type": "single-node", "a-b": "1" }), { targetKinds }).diagnostics)).toEqual([]);
    expect(errors(validateApp(doc({ "1abc": "x", "a b": "x", "a=b": "x" }), { targetKinds }).diagnostics)).toEqual([
      ["SDX_INVALID_ENV_NAME", "services.s.env[\"1abc\"]"], ["SDX_INVALID_ENV_NAME", "services.s.env[\"a b\"]"], ["SDX_INVALID_ENV_NAME", "services.s.env[\"a=b\"]"],
    ]);
    expect(errors(validateApp(doc({}, { pw: { fromEnv: "PW", asEnv: "es.password" } }), { targetKinds }).diagnostics)).toEqual([["SDX_INVALID_ENV_NAME", "services.s.secrets.pw.asEnv"]]);
  });

  it("a credential under a dotted name is read from a shell-named variable, never written", () => {
    const t = importCompose("services:\n  es:\n    image: x\n    environment:\n      xpack.security.password: hunter2-hunter2\n", { env: {} });
    expect(errors(t.diagnostics)).toEqual([]);
    expect(t.template).toMatchObject({ services: { es: { env: { "xpack.security.password": "${xpack_security_password}" } } } });
    expect(JSON.stringify(t.template)).not.toContain("hunter2");
  });
});

describe("volumes keep Compose's names on Swarm", () => {
  const r = importFixture("search");

  it("<project>_<volume> for a project volume, the volume's own name for an external one", () => {
    expect(svc(r, "es").volumes).toEqual([
      { name: "esdata", path: "/usr/share/elasticsearch/data", kind: "persistent", dockerName: "search_esdata" },
      { name: "legacy", path: "/legacy", kind: "persistent", dockerName: "legacy" },
    ]);
    expect(note(r, "volumes.esdata")?.level).toBe("approximated");
    expect(r.report.filter((n) => n.path === "volumes.esdata").map((n) => n.reason).join("\n")).toMatch(/same Docker volume search_esdata/);
    expect(note(r, "volumes.legacy.external")?.reason).toMatch(/Swarm mounts the existing volume legacy/);
  });

  it("a Compose `name` is the Docker volume's name", () => {
    const t = importCompose("services:\n  db:\n    image: x\n    volumes: [data:/data]\nvolumes:\n  data:\n    name: pgdata\n", { projectName: "p" });
    expect(svc(t, "db").volumes).toEqual([{ name: "data", path: "/data", kind: "persistent", dockerName: "pgdata" }]);
    expect(t.report.filter((n) => n.path.startsWith("volumes.data")).map((n) => n.level)).not.toContain("dropped");
  });

  it("the Swarm render mounts that volume; without dockerName it keeps sdx's own <app>_<service>_<volume>", async () => {
    const app = validateApp(r.document, { targetKinds }).app!;
    const swarm = await registry.get("swarm");
    const rs = swarm.render(await contextForApp(app, { kind: "swarm" }, FIXTURES, {}));
    const mounts = (name: string): string[] => ((rs.find((x) => x.name === name)!.body as Obj).TaskTemplate.ContainerSpec.Mounts as Obj[]).map((m) => `${m.Source}:${m.Target}`);
    expect(mounts("search_es")).toEqual(["search_esdata:/usr/share/elasticsearch/data", "legacy:/legacy"]);
    expect(mounts("search_kibana")).toEqual(["search_esdata:/shared"]);
    const plain = validateApp({ ...r.document, services: { db: { image: "x", volumes: [{ name: "data", path: "/d", kind: "persistent" }] } } }, { targetKinds }).app!;
    const prs = swarm.render(await contextForApp(plain, { kind: "swarm" }, FIXTURES, {}));
    expect(((prs.find((x) => x.name === "search_db")!.body as Obj).TaskTemplate.ContainerSpec.Mounts as Obj[])[0]!.Source).toBe("search_db_data");
  });

  it("dockerName is checked: Docker's name rule, persistent volumes only", () => {
    const doc = (v: Obj): Obj => ({ name: "a", services: { s: { image: "x", volumes: [{ name: "d", path: "/d", ...v }] } }, targets: { swarm: { kind: "swarm" } } });
    expect(errors(validateApp(doc({ kind: "persistent", dockerName: "my stack/data" }), { targetKinds }).diagnostics)).toEqual([["SDX_INVALID_NAME", "services.s.volumes[0].dockerName"]]);
    expect(errors(validateApp(doc({ kind: "ephemeral", dockerName: "x_data" }), { targetKinds }).diagnostics)).toEqual([["SDX_INVALID_VOLUME", "services.s.volumes[0].dockerName"]]);
  });
});

describe("values from .env feed fromEnv secrets, as Compose feeds them to the container", () => {
  const dir = join(FIXTURES, "dotenv-secret");
  const r = importFixture("dotenv-secret");

  it("the import writes a fromEnv secret and never the value from .env", () => {
    expect(errors(r.diagnostics)).toEqual([]);
    expect(r.template).toMatchObject({ services: { api: { secrets: { "db-password": { fromEnv: "DB_PASSWORD", asEnv: "DB_PASSWORD" } }, env: { LOG_LEVEL: "${LOG_LEVEL:-info}" } } } });
    const text = toSdxYaml(r, { source: "compose.yaml" });
    expect(text).not.toContain("dotenv-planted-pw-4821");
    expect(parse(text).services.api.secrets).toEqual({ "db-password": { fromEnv: "DB_PASSWORD", asEnv: "DB_PASSWORD" } });
  });

  it("the report says .env feeds the secret at deploy, and that ${VAR} references from .env must be exported", () => {
    const notes = r.report.filter((n) => n.path === ".env");
    expect(notes).toContainEqual({ path: ".env", level: "translated", reason: expect.stringMatching(/^\$DB_PASSWORD from \.env feeds fromEnv secrets.*sdx reads \.env beside the app file for fromEnv at plan and deploy \(the environment wins\)/) });
    expect(notes).toContainEqual({ path: ".env", level: "approximated", reason: expect.stringContaining("${LOG_LEVEL}") });
    // Only ${LOG_LEVEL} must be exported: the secret's variable is read from .env.
    expect(notes.find((n) => n.level === "approximated")?.reason).not.toContain("DB_PASSWORD");
  });

  it("readDotEnv gives the variables sdx resolves fromEnv secrets with: .env under the environment", () => {
    const read = containedTextReader({ baseDir: dir, allowOutside: [] });
    const dot = readDotEnv(dir, read, {});
    expect(dot).toEqual({ vars: { DB_PASSWORD: "dotenv-planted-pw-4821", LOG_LEVEL: "debug" }, found: true, diagnostics: [] });
    expect(readDotEnv(join(dir, ".."), containedTextReader({ baseDir: join(dir, ".."), allowOutside: [] }), {})).toEqual({ vars: {}, found: false, diagnostics: [] });
    // A .env that must not be read (here: too large) is an error, not an empty file.
    const big = mkdtempSync(join(tmpdir(), "sdx-dotenv-"));
    writeFileSync(join(big, ".env"), `A=${"x".repeat(2 * 1024 * 1024)}\n`);
    expect(errors(readDotEnv(big, containedTextReader({ baseDir: big, allowOutside: [] }), {}).diagnostics)).toEqual([["SDX_FILE_TOO_LARGE", ".env"]]);
  });
});

describe("a bind-mounted file too large for a config file", () => {
  it("is an error at the mount, not a silent drop", () => {
    const dir = mkdtempSync(join(tmpdir(), "sdx-bigfile-"));
    writeFileSync(join(dir, "big.json"), `"${"x".repeat(2 * 1024 * 1024)}"`);
    writeFileSync(join(dir, "small.conf"), "ok\n");
    const text = "services:\n  web:\n    image: x\n    volumes:\n      - ./big.json:/data/big.json\n      - ./small.conf:/etc/small.conf\n";
    const r = importCompose(text, { baseDir: dir, readFile: containedTextReader({ baseDir: dir, allowOutside: [] }) });
    expect(errors(r.diagnostics)).toEqual([["SDX_FILE_TOO_LARGE", "services.web.volumes[0]"]]);
    expect(svc(r, "web").files).toEqual([{ path: "/etc/small.conf", fromFile: "small.conf" }]);
  });
});

describe(".env beside the app file feeds fromEnv secrets at plan and deploy (as Compose feeds containers)", () => {
  it("resolves a fromEnv secret from .env, the environment winning, and never from elsewhere", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sdx-dotenv-secret-"));
    writeFileSync(join(dir, "sdx.yaml"), [
      "name: dotenv",
      "services:",
      "  db:",
      "    image: postgres:16@sha256:" + "a".repeat(64),
      "    secrets:",
      "      password: { fromEnv: DB_PASSWORD, asEnv: POSTGRES_PASSWORD }",
      "targets:",
      "  s: { kind: swarm }",
      "",
    ].join("\n"));
    const unresolved = (r: { diagnostics: readonly { code: string }[] }) => r.diagnostics.filter((d) => d.code === "SDX_SECRET_UNRESOLVED");
    const without = await plan(join(dir, "sdx.yaml"), { env: {}, offline: true });
    expect(unresolved(without)).toHaveLength(1);
    writeFileSync(join(dir, ".env"), "DB_PASSWORD=from-dotenv\n");
    const fromDotEnv = await plan(join(dir, "sdx.yaml"), { env: {}, offline: true });
    expect(unresolved(fromDotEnv)).toEqual([]);
    const same = await plan(join(dir, "sdx.yaml"), { env: { DB_PASSWORD: "from-dotenv" }, offline: true });
    expect(same.revision.app).toBe(fromDotEnv.revision.app);
    const envWins = await plan(join(dir, "sdx.yaml"), { env: { DB_PASSWORD: "from-environment" }, offline: true });
    expect(envWins.revision.app).not.toBe(fromDotEnv.revision.app);
    expect(JSON.stringify(fromDotEnv)).not.toContain("from-dotenv");
  });
});
