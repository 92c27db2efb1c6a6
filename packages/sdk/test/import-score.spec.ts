import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { interpolate } from "../src/load/interpolate.js";
import type { Diagnostic } from "../src/validation/diagnostic.js";
import { validateApp } from "../src/validation/validate-app.js";
import { importScore, toSdxYaml, type ImportResult, type ImportScoreOptions } from "../src/import/index.js";
import { builtinTargetKinds } from "../src/testing/testing.js";

// The built-in backends' target kinds: validation knows no kind by itself.
const targetKinds = await builtinTargetKinds();

const FIXTURES = fileURLToPath(new URL("./fixtures/score/", import.meta.url));
const CASES = ["web", "postgres-app", "multi-container"] as const;
const errors = (d: readonly Diagnostic[]): Diagnostic[] => d.filter((x) => x.severity === "error");
const readFile = (p: string): string => readFileSync(p, "utf8");
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function importCase(name: string, options: Partial<ImportScoreOptions> = {}): ImportResult {
  const dir = join(FIXTURES, name);
  return importScore(readFile(join(dir, "score.yaml")), { fileName: "score.yaml", baseDir: dir, readFile, ...options });
}
const svc = (r: ImportResult, name: string): Obj => (r.document.services as Obj)[name];
const note = (r: ImportResult, path: string): string | undefined => r.report.find((n) => n.path === path)?.level;

/** The document with each env var that sdx.yaml reads from a secret instead (a credential literal) moved to that secret. */
function withCredentialsAsSecrets(document: Obj, written: Obj): Obj {
  const out = structuredClone(document);
  for (const [name, s] of Object.entries(out.services as Obj)) {
    const w = (written.services as Obj)[name] as Obj;
    for (const [secret, def] of Object.entries((w.secrets ?? {}) as Obj)) {
      if (s.secrets?.[secret] !== undefined || typeof def.asEnv !== "string" || s.env?.[def.asEnv] === undefined) continue;
      delete s.env[def.asEnv];
      if (Object.keys(s.env).length === 0) delete s.env;
      s.secrets = { ...s.secrets, [secret]: def };
    }
  }
  return out;
}

describe("importScore: fixtures", () => {
  for (const name of CASES) {
    describe(name, () => {
      const r = importCase(name);
      it("imports without errors into a document that validates without errors", () => {
        expect(errors(r.diagnostics)).toEqual([]);
        const v = validateApp(r.document, { targetKinds, readFile: (p) => readFile(resolve(FIXTURES, name, p)) });
        expect(errors(v.diagnostics)).toEqual([]);
      });
      it("writes the golden sdx.yaml", async () => {
        await expect(toSdxYaml(r, { source: "score.yaml" })).toMatchFileSnapshot(`./fixtures/score/${name}/sdx.yaml`);
      });
      it("writes sdx.yaml that loads back to the same document, credentials read from the environment instead", () => {
        const written = parse(toSdxYaml(r, { source: "score.yaml" })) as Obj;
        expect(written).toEqual(r.template);
        const back = interpolate(written, {});
        expect(back.diagnostics).toEqual([]);
        expect(back.value).toEqual(withCredentialsAsSecrets(r.document, back.value as Obj));
      });
    });
  }
});

describe("importScore: what the user gets", () => {
  it("one container: the workload is the app, service port to container port, a route makes it public", () => {
    const r = importCase("web");
    expect(r.document.name).toBe("hello-web");
    expect(svc(r, "web")).toMatchObject({
      image: "ghcr.io/example/hello:1.2.0",
      args: ["--listen", ":8080"],
      env: { APP_NAME: "hello-web", GREETING: "Hello from Score" },
      ports: [{ port: 8080, name: "www", appProtocol: "http", public: true }],
      health: { http: { path: "/healthz", port: 8080 } },
      resources: { cpu: "250m", memory: "128Mi", limits: { cpu: "1", memory: "256M" } },
    });
    expect(note(r, "service.ports.www.targetPort")).toBe("approximated");
    expect(note(r, "resources.route")).toBe("approximated");
    expect(r.document.targets).toEqual({ kubernetes: { kind: "kubernetes" } });
  });

  it("${resources.*} placeholders without a mapping: reported at their path, secret ones read at deploy time", () => {
    const r = importCase("postgres-app");
    const api = svc(r, "api");
    expect(api.env).toEqual({ DB_HOST: "${resources.db.host}", DB_PORT: "${resources.db.port}", DB_NAME: "${resources.db.name}", PRICE_FORMAT: "$0.00" });
    expect(api.secrets).toEqual({ "db-password": { fromEnv: "DB_PASSWORD", asEnv: "DB_PASSWORD" }, "database-url": { fromEnv: "DATABASE_URL", asEnv: "DATABASE_URL" } });
    expect(r.diagnostics.filter((d) => d.code === "SDX_IMPORT_UNMAPPED").map((d) => d.path)).toEqual([
      "containers.api.args[1]", "containers.api.variables.DB_HOST", "containers.api.variables.DB_PORT", "containers.api.variables.DB_NAME",
      'containers.api.files["/etc/orders/config.yaml"].content',
    ]);
    expect(note(r, "resources.db")).toBe("dropped");
    expect(note(r, "resources.cache")).toBe("dropped");
    expect(api.volumes).toEqual([{ name: "data", path: "/var/lib/orders", kind: "persistent" }]);
    expect(api.files).toEqual([
      { path: "/etc/orders/config.yaml", content: "service: orders\ndatabase: ${resources.db.host}\n", mode: "0644" },
      { path: "/etc/orders/banner.txt", fromFile: "config/banner.txt" },
      { path: "/etc/orders/raw.tmpl", content: "literal ${resources.db.host}" },
    ]);
    // Limits alone are also the requests, as in Kubernetes.
    expect(api.resources).toEqual({ cpu: "500m", memory: "512Mi", limits: { cpu: "500m", memory: "512Mi" } });
    expect(api.health).toEqual({ exec: { command: ["/app/orders", "health"] } });
  });

  it("fills placeholders from the resources mapping", () => {
    const r = importCase("postgres-app", { resources: { db: { host: "db.internal", port: "5432", name: "orders", username: "app", password: "pw" } } });
    const api = svc(r, "api");
    expect(api.args).toEqual(["serve", "--db-host=db.internal"]);
    expect(api.env).toMatchObject({ DB_HOST: "db.internal", DB_PORT: "5432", DB_PASSWORD: "pw", DATABASE_URL: "postgres://app:pw@db.internal:5432/orders" });
    expect(api.secrets).toBeUndefined();
    expect(r.diagnostics.filter((d) => d.code === "SDX_IMPORT_UNMAPPED")).toEqual([]);
    expect(note(r, "resources.db")).toBe("translated");
    // The password (alone, and inside the URL) is not written: sdx.yaml reads both from the environment at deploy time.
    const written = (r.template.services as Obj).api as Obj;
    expect(written.env).toMatchObject({ DB_HOST: "db.internal", DB_PORT: "5432" });
    expect(written.env).not.toHaveProperty("DB_PASSWORD");
    expect(written.secrets).toEqual({ "db-password": { fromEnv: "DB_PASSWORD", asEnv: "DB_PASSWORD" }, "database-url": { fromEnv: "DATABASE_URL", asEnv: "DATABASE_URL" } });
    expect(toSdxYaml(r)).not.toContain("app:pw@");
    for (const path of ["containers.api.variables.DB_PASSWORD", "containers.api.variables.DATABASE_URL"]) {
      expect(r.report).toContainEqual({ path, level: "approximated", reason: expect.stringContaining("credential") });
      expect(r.diagnostics).toContainEqual(expect.objectContaining({ code: "SDX_IMPORT_CREDENTIAL", severity: "warning", path }));
    }
  });

  it("several containers: one service each, ports on the first, exec preferred over httpGet, a source build reported", () => {
    const r = importCase("multi-container");
    expect(r.document.name).toBe("billing-service");
    expect(Object.keys(r.document.services as Obj)).toEqual(["app", "log-shipper"]);
    expect(note(r, "containers")).toBe("approximated");
    expect(svc(r, "app")).toMatchObject({ image: "billing-service-app", ports: [{ port: 8080, name: "http" }, { port: 9100, name: "metrics" }], health: { exec: { command: ["/bin/ready"] } } });
    expect(svc(r, "log-shipper").ports).toBeUndefined();
    expect(r.diagnostics).toContainEqual(expect.objectContaining({ code: "SDX_IMPORT_BUILD", path: "containers.app.image" }));
    expect(note(r, "containers.app.livenessProbe")).toBe("approximated");
    expect(note(r, "containers.app.readinessProbe.httpGet")).toBe("dropped");
    expect(note(r, "containers.log-shipper.before")).toBe("dropped");
    expect(note(r, 'containers.log-shipper.files["/fluent-bit/etc/logo.bin"]')).toBe("dropped");
    expect(svc(r, "log-shipper").files).toEqual([{ path: "/fluent-bit/etc/extra.conf", content: "[INPUT]\n    Name dummy\n" }]);
    expect(svc(r, "log-shipper").resources).toEqual({ memory: "64Mi" });
    expect(note(r, "containers.app.variables.STRIPE_API_KEY")).toBe("approximated");
  });

  it("reports another apiVersion and missing parts as errors", () => {
    const r = importScore("apiVersion: score.dev/v2\nmetadata: {}\ncontainers: {}\n");
    expect(errors(r.diagnostics).map((d) => d.path)).toEqual(["apiVersion", "metadata.name", "containers"]);
  });

  it("drops unknown keys with a note instead of silently", () => {
    const r = importScore("apiVersion: score.dev/v1b1\nmetadata: { name: ab }\ncontainers:\n  main:\n    image: x:1\n    tty: true\nextra: 1\n");
    expect(note(r, "containers.main.tty")).toBe("dropped");
    expect(note(r, "extra")).toBe("dropped");
  });
});
