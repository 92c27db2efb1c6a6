/**
 * `sdx import` never writes a secret, and reads nothing outside the app:
 * values planted in the environment, in .env, inside longer values, in an
 * env_file, in a config read from the environment and as credential literals
 * must not appear in any output of `sdx import` (written sdx.yaml, --json,
 * stdout, stderr) or `sdx plan -f compose.yaml` (text and --json).
 */
import { describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { runCli } from "../src/cli/run-cli.js";
import { SdxError } from "../src/errors/sdx-error.js";
import { interpolate } from "../src/load/interpolate.js";
import { importCompose, importScore, toSdxYaml, type ImportResult } from "../src/import/index.js";
import { looksCredential, looksSecretValue, urlPassword } from "../src/import/secret-like.js";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const DIR = fileURLToPath(new URL("./fixtures/compose-hostile/planted-secrets/", import.meta.url));
const COMPOSE = join(DIR, "compose.yaml");

/** The environment of the run: secret-looking and plain variables, each value distinctive. */
const ENV = { SHOP_DB_PASSWORD: "zz-env-db-secret-1", CONF_SECRET: "zz-conf-secret-2", PLAIN_TAG: "zz-plain-3", SECRET_ENV: "zz-secret-env-10" };
/** Every planted value: from the environment, from .env, from the env_file, and the literals in compose.yaml. */
const PLANTED = [...Object.values(ENV), "zz-dotenv-token-4", "zz-dotenv-host-5", "zz-literal-pw-6", "zz-url-pw-7", "zz-arg-pw-8", "zz-file-pw-9"];

function cli() {
  return async (...argv: string[]) => {
    let stdout = "";
    let stderr = "";
    const code = await runCli(argv, { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, interactive: false, confirm: async () => false, env: { ...ENV } });
    return { code, stdout, stderr };
  };
}

const leaks = (text: string): string[] => PLANTED.filter((v) => text.includes(v));

function importFixture(options: { inlineEnv?: boolean } = {}): ImportResult {
  return importCompose(readFileSync(COMPOSE, "utf8"), { fileName: COMPOSE, baseDir: DIR, env: { ...ENV }, readFile: (p) => readFileSync(p, "utf8"), ...options });
}

describe("import: planted secrets never reach an output", () => {
  it("the document (what plan -f runs) holds the planted values: the plants reach the import", () => {
    const r = importFixture();
    const doc = JSON.stringify(r.document);
    for (const v of ["zz-env-db-secret-1", "zz-dotenv-host-5", "zz-literal-pw-6", "zz-file-pw-9", "zz-plain-3"]) expect(doc).toContain(v);
  });

  it("the template, the written sdx.yaml, the report and the diagnostics hold none of them", () => {
    const r = importFixture();
    expect(leaks(JSON.stringify(r.template))).toEqual([]);
    expect(leaks(toSdxYaml(r, { source: "compose.yaml" }))).toEqual([]);
    expect(leaks(JSON.stringify(r.report))).toEqual([]);
    expect(leaks(JSON.stringify(r.diagnostics))).toEqual([]);
  });

  it("keeps references: ${VAR} inside values, secrets read from variables, credential literals read from generated variables", () => {
    const r = importFixture();
    const web = (r.template.services as Obj).web as Obj;
    expect(web.env).toEqual({
      DATABASE_URL: "postgres://app:${SHOP_DB_PASSWORD}@db/app",
      GREETING: "hello-${DOTENV_HOST}-there",
      IMAGE_TAG: "${PLAIN_TAG:-none}",
      FILE_URL: "http://${DOTENV_HOST}/x",
      FILE_MODE: "plain",
    });
    expect(web.secrets).toEqual({
      "file-password": { fromEnv: "FILE_PASSWORD", asEnv: "FILE_PASSWORD" },
      "db-conn": { fromEnv: "SHOP_DB_PASSWORD", asEnv: "DB_CONN" },
      "token-copy": { fromEnv: "DOTENV_TOKEN", asEnv: "TOKEN_COPY" },
      "lit-password": { fromEnv: "LIT_PASSWORD", asEnv: "LIT_PASSWORD" },
      "cache-url": { fromEnv: "CACHE_URL", asEnv: "CACHE_URL" },
      envsecret: { fromEnv: "SECRET_ENV", asFile: "/run/secrets/envsecret" },
      conf: { fromEnv: "CONF_SECRET", asFile: "/conf" },
    });
    expect(web.args).toEqual(["nginx", "-g", "daemon off;", "--db=postgres://app:${URL_PASSWORD}@db/app"]);
    expect(web.labels).toEqual({ "build.tag": "${PLAIN_TAG}" });
    // Every credential literal is reported with its path, as a note and as a warning the CLI prints.
    for (const path of ["services.web.environment.LIT_PASSWORD", "services.web.environment.CACHE_URL", "services.web.env_file"]) {
      expect(r.diagnostics, path).toContainEqual(expect.objectContaining({ code: "SDX_IMPORT_CREDENTIAL", severity: "warning", path }));
    }
    expect(r.diagnostics).toContainEqual(expect.objectContaining({ code: "SDX_IMPORT_CREDENTIAL", path: "services.web", message: expect.stringContaining("URL_PASSWORD") }));
    // The embedded secret reference is flagged: it becomes a plain env var when sdx loads the file.
    expect(r.report).toContainEqual(expect.objectContaining({ path: "services.web.environment.DATABASE_URL", level: "approximated", reason: expect.stringContaining("unencrypted") }));
    // .env variables must be exported for sdx, which does not read .env.
    expect(r.report).toContainEqual(expect.objectContaining({ path: ".env", level: "approximated", reason: expect.stringContaining("${DOTENV_HOST}") }));
  });

  it("loading the template with the same variables gives the document, credential literals aside", () => {
    const r = importFixture();
    const back = interpolate(r.template, { ...ENV, DOTENV_HOST: "zz-dotenv-host-5", DOTENV_TOKEN: "zz-dotenv-token-4", URL_PASSWORD: "zz-arg-pw-8" });
    expect(back.diagnostics).toEqual([]);
    const web = (back.value as Obj).services.web as Obj;
    const doc = (r.document.services as Obj).web as Obj;
    expect(web.args).toEqual(doc.args);
    for (const [k, v] of Object.entries(web.env as Obj)) expect(doc.env[k], k).toBe(v);
  });

  it("inlineEnv writes plain variables' values, never secret-looking ones", () => {
    const r = importFixture({ inlineEnv: true });
    const web = (r.template.services as Obj).web as Obj;
    expect(web.env.IMAGE_TAG).toBe("zz-plain-3");
    expect(web.env.GREETING).toBe("hello-zz-dotenv-host-5-there");
    expect(web.env.DATABASE_URL).toBe("postgres://app:${SHOP_DB_PASSWORD}@db/app");
    const secretOnes = PLANTED.filter((v) => !["zz-plain-3", "zz-dotenv-host-5"].includes(v));
    const text = toSdxYaml(r);
    expect(secretOnes.filter((v) => text.includes(v))).toEqual([]);
  });
});

describe("CLI: sdx import and sdx plan -f print no planted value", () => {
  it("sdx import: the written file, stdout and stderr", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "sdx-import-secrets-")), "sdx.yaml");
    const r = await cli()("import", COMPOSE, "-o", out);
    expect(r.code).toBe(0);
    const written = readFileSync(out, "utf8");
    expect(leaks(written)).toEqual([]);
    expect(leaks(r.stdout)).toEqual([]);
    expect(leaks(r.stderr)).toEqual([]);
    // The credentials are reported with their paths on stderr.
    expect(r.stderr).toMatch(/SDX_IMPORT_CREDENTIAL at services\.web\.environment\.LIT_PASSWORD/);
    expect((parse(written) as Obj).services.web.env.DATABASE_URL).toBe("postgres://app:${SHOP_DB_PASSWORD}@db/app");
  });

  it("sdx import --json prints the template, not the values", async () => {
    const r = await cli()("import", COMPOSE, "--json");
    expect(r.code).toBe(0);
    expect(leaks(r.stdout)).toEqual([]);
    expect(leaks(r.stderr)).toEqual([]);
    const j = JSON.parse(r.stdout) as Obj;
    expect(j.document.services.web.secrets["db-conn"]).toEqual({ fromEnv: "SHOP_DB_PASSWORD", asEnv: "DB_CONN" });
  });

  it("sdx import --inline-env writes plain values only", async () => {
    const r = await cli()("import", COMPOSE, "--json", "--inline-env");
    expect(r.code).toBe(0);
    expect(leaks(r.stdout)).toEqual(["zz-plain-3", "zz-dotenv-host-5"]);
  });

  it("sdx plan -f compose.yaml, text and --json", async () => {
    const text = await cli()("plan", "-f", COMPOSE, "--offline");
    expect(text.code).toBe(0);
    expect(leaks(text.stdout + text.stderr)).toEqual([]);
    const json = await cli()("plan", "-f", COMPOSE, "--offline", "--json");
    expect(json.code).toBe(0);
    expect(leaks(json.stdout + json.stderr)).toEqual([]);
    expect(JSON.parse(json.stdout).plan.summary.create).toBeGreaterThan(0);
  });
});

describe("import reads only inside the Compose file's directory", () => {
  const project = (files: Record<string, string>): string => {
    const root = mkdtempSync(join(tmpdir(), "sdx-import-contained-"));
    const dir = join(root, "app");
    mkdirSync(dir);
    writeFileSync(join(root, "outside.conf"), "zz-outside-content\n");
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  };

  it("env_file: /proc/self/environ is an error from the reader, never values (exit 2)", async () => {
    const dir = project({ "compose.yaml": "services:\n  web:\n    image: nginx:1.27\n    env_file: /proc/self/environ\n" });
    for (const json of [false, true]) {
      const r = await cli()("import", join(dir, "compose.yaml"), ...(json ? ["--json"] : []));
      expect(r.code).toBe(2);
      expect(r.stdout + r.stderr).toMatch(/SDX_FILE_NOT_REGULAR|SDX_PATH_OUTSIDE_APP/);
      expect(r.stdout + r.stderr).toContain("services.web.env_file");
      expect(leaks(r.stdout + r.stderr)).toEqual([]);
    }
  });

  it("env_file and .env symlinked out of the directory are refused, even when optional", async () => {
    const dir = project({ "compose.yaml": "services:\n  web:\n    image: nginx:1.27\n    env_file:\n      - path: linked.env\n        required: false\n" });
    symlinkSync(join(dir, "..", "outside.conf"), join(dir, "linked.env"));
    symlinkSync(join(dir, "..", "outside.conf"), join(dir, ".env"));
    const r = await cli()("import", join(dir, "compose.yaml"), "--json");
    expect(r.code).toBe(2);
    const j = JSON.parse(r.stdout) as Obj;
    expect(j.diagnostics.map((d: Obj) => [d.code, d.path])).toEqual(expect.arrayContaining([["SDX_PATH_OUTSIDE_APP", "services.web.env_file[0]"], ["SDX_PATH_OUTSIDE_APP", ".env"]]));
    expect(r.stdout).not.toContain("zz-outside-content");
  });

  it("bind mounts: a source outside is SDX_PATH_OUTSIDE_APP at its path, one inside still becomes a config file", async () => {
    const dir = project({
      "compose.yaml": "services:\n  web:\n    image: nginx:1.27\n    volumes:\n      - ../../etc:/etc/x\n      - ./nginx.conf:/etc/nginx/nginx.conf:ro\n      - type: bind\n        source: ../outside.conf\n        target: /etc/o.conf\n      - /etc/localtime:/etc/localtime:ro\n",
      "nginx.conf": "worker_processes 1;\n",
    });
    const r = await cli()("import", join(dir, "compose.yaml"), "--json");
    expect(r.code).toBe(2);
    const j = JSON.parse(r.stdout) as Obj;
    const outside = j.diagnostics.filter((d: Obj) => d.code === "SDX_PATH_OUTSIDE_APP").map((d: Obj) => [d.path, d.severity]);
    expect(outside).toEqual([["services.web.volumes[0]", "error"], ["services.web.volumes[2]", "error"], ["services.web.volumes[3]", "warning"]]);
    expect(j.document.services.web.files).toEqual([{ path: "/etc/nginx/nginx.conf", fromFile: "nginx.conf" }]);
    expect(r.stdout).not.toContain("zz-outside-content");
    // --allow-outside opts in: the file outside is shipped as a config file.
    const allowed = await cli()("import", join(dir, "compose.yaml"), "--json", "--allow-outside", join(dir, ".."), "--allow-outside", "/etc");
    const ja = JSON.parse(allowed.stdout) as Obj;
    expect(ja.document.services.web.files).toContainEqual({ path: "/etc/o.conf", fromFile: "../outside.conf" });
  });

  it("the importer turns the reader's refusals into diagnostics at the path that named the file", () => {
    const refuse = (code: string) => (p: string): string => {
      if (p.endsWith("/.env")) throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
      throw new SdxError(code, `file "${p}" refused`, { fault: "user", hint: "fix it" });
    };
    const text = "services:\n  web:\n    image: x\n    env_file: [a.env]\n    volumes: ['./b.conf:/b.conf']\n";
    for (const code of ["SDX_PATH_OUTSIDE_APP", "SDX_FILE_NOT_REGULAR", "SDX_FILE_TOO_LARGE", "SDX_INVALID_ENCODING"]) {
      const r = importCompose(text, { baseDir: "/p", readFile: refuse(code) });
      expect(r.diagnostics.filter((d) => d.severity === "error").map((d) => [d.code, d.path]), code).toEqual([
        [code, "services.web.env_file[0]"],
        // A file Compose would mount must not vanish quietly: too large for a config file is an error too.
        ...(code === "SDX_PATH_OUTSIDE_APP" || code === "SDX_FILE_TOO_LARGE" ? [[code, "services.web.volumes[0]"]] : []),
      ]);
    }
  });
});

describe("what looks like a credential", () => {
  it("URLs with a password, PEM keys, token formats; not references or plain URLs", () => {
    expect(urlPassword("postgres://app:pw@db/app")).toEqual({ start: 15, end: 17 });
    // The last "@" before the host ends the userinfo: the password is "p@ss" (characters 9 to 13).
    expect(urlPassword("redis://:p@ss@cache:6379/0")).toEqual({ start: 9, end: 13 });
    expect(urlPassword("postgres://app:${DB_PASSWORD}@db/app")).toBeUndefined();
    expect(urlPassword("http://localhost:8000/healthz")).toBeUndefined();
    expect(urlPassword("https://user@example.com")).toBeUndefined();
    expect(looksCredential("-----BEGIN RSA PRIVATE KEY-----\nabc")).toBe(true);
    expect(looksCredential("ghp_0123456789abcdefghijABCDEFGHIJ")).toBe(true);
    expect(looksCredential("production")).toBe(false);
    expect(looksSecretValue("Zx8!kQ2#pL9@vT4$mN7^rB1&")).toBe(true);
    expect(looksSecretValue("hello world this is long enough")).toBe(false);
    expect(looksSecretValue("2.1.0")).toBe(false);
  });
});

describe("Score import keeps passwords in URLs out of sdx.yaml", () => {
  it("reads a password in args and in file content from a variable, with a warning at the container", () => {
    const r = importScore([
      "apiVersion: score.dev/v1b1",
      "metadata: { name: shop }",
      "containers:",
      "  api:",
      "    image: ghcr.io/acme/api:1.0",
      "    args: [\"--db=postgres://app:zz-score-pw-91@db/app\"]",
      "    files:",
      "      - target: /etc/api.conf",
      "        content: \"url = postgres://app:zz-score-pw-91@db/app\"",
      "",
    ].join("\n"), { fileName: "score.yaml" });
    const written = toSdxYaml(r, { source: "score.yaml" });
    expect(written).not.toContain("zz-score-pw-91");
    expect(written).toContain("postgres://app:${URL_PASSWORD}@db/app");
    expect(r.diagnostics).toContainEqual(expect.objectContaining({ code: "SDX_IMPORT_CREDENTIAL", path: "containers.api" }));
    expect(JSON.stringify(r.report) + JSON.stringify(r.diagnostics)).not.toContain("zz-score-pw-91");
  });
});
