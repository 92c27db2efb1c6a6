/**
 * Secret scan (issue #16): distinctive secret values are planted where sdx reads
 * secrets — the environment for `secrets.*.fromEnv`, files for `fromFile`, a
 * Compose `.env`, `env_file`, file secrets and environment configs, `${VAR}`
 * inside longer values, credential-looking literals — and every output of
 * `validate`, `plan --offline`, `check` and `import` (text and --json, stdout,
 * stderr and every file written) is scanned for them, raw and as base64 or hex
 * at any alignment.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli/run-cli.js";

/** Planted values: long, random-looking and unlike anything sdx prints. */
const PLANTED = {
  envSecret: "PLANTED-env-secret-8f3a91c2e7d4",
  fileSecret: "PLANTED-file-secret-5d8e2c7a91b3",
  interpolated: "PLANTED-interp-secret-c41f09b6a2e8",
  composeEnv: "PLANTED-compose-env-3b7e5a1d9c06",
  dotEnv: "PLANTED-dotenv-secret-e2a6c8f40b17",
  envFile: "PLANTED-envfile-token-71c3d9e5a284",
  composeFileSecret: "PLANTED-compose-file-9a0e4b6c2d15",
  composeConfigEnv: "PLANTED-config-env-4e8b2f6a0c39",
  composeLiteral: "PLANTED-literal-password-b5d1f7c3e9a0",
  urlPassword: "PLANTED-url-password-0c6a2e8b4d17",
  scoreLiteral: "PLANTED-score-apikey-6f2b8d4a0e51",
} as const;

/** The forms a value could leak in: raw, hex, and base64 at each of the three alignments inside a longer encoded string. */
function needles(value: string): string[] {
  const buf = Buffer.from(value, "utf8");
  const out = [value, buf.toString("hex"), buf.toString("hex").toUpperCase()];
  for (const shift of [0, 1, 2]) {
    const b64 = Buffer.concat([Buffer.alloc(shift, 0x78), buf]).toString("base64");
    // Drop the groups that also encode the padding bytes before and whatever follows after.
    const inner = b64.slice(shift === 0 ? 0 : 4, -4);
    out.push(inner, inner.replace(/\+/g, "-").replace(/\//g, "_"));
  }
  return out;
}

/** Which planted values (by name) appear in `text`, in any of their forms. */
function leaksIn(text: string): string[] {
  return Object.entries(PLANTED).filter(([, v]) => needles(v).some((n) => text.includes(n))).map(([k]) => k);
}

let dir: string;
const env: Record<string, string> = {
  SDX_RESOLVE_IMAGES: "0",
  SCAN_DB_PASSWORD: PLANTED.envSecret,
  SCAN_URL_PASSWORD: PLANTED.interpolated,
  SHOP_DB_PASSWORD: PLANTED.composeEnv,
  CONFIG_SECRET: PLANTED.composeConfigEnv,
  URL_PW: PLANTED.urlPassword,
};

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runWith(env, ...argv);
}

async function runWith(vars: Readonly<Record<string, string>>, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, interactive: false, confirm: async () => false, env: vars });
  return { code, stdout, stderr };
}

/** Every file under `dir` not in `inputs`: what sdx wrote. */
function written(root: string, inputs: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!inputs.has(p)) out.push(p);
    }
  };
  walk(root);
  return out;
}

let inputs: Set<string>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sdx-secret-scan-"));
  mkdirSync(join(dir, "app/secrets"), { recursive: true });
  writeFileSync(join(dir, "app/secrets/tls.key"), `${PLANTED.fileSecret}\n`);
  writeFileSync(join(dir, "app/sdx.yaml"), [
    "name: scan",
    "services:",
    "  web:",
    "    image: ghcr.io/acme/web:1.0",
    "    env:",
    "      LOG_LEVEL: info",
    '      DATABASE_URL: "postgres://app:${SCAN_URL_PASSWORD}@db:5432/app"',
    "    secrets:",
    "      db-password: { fromEnv: SCAN_DB_PASSWORD, asEnv: DB_PASSWORD }",
    "      tls-key: { fromFile: secrets/tls.key, asFile: /run/secrets/tls.key }",
    "    ports: [8080]",
    "targets:",
    "  k8s: { kind: kubernetes, namespace: scan, pricing: { provider: aws, region: us-east-1, nodeTypes: [m6i.large] } }",
    "  swarm: { kind: swarm }",
    "  ecs: { kind: ecs, region: us-east-1, cluster: scan, subnets: [subnet-0a1b2c3d], securityGroups: [sg-0a1b2c3d], executionRoleArn: \"arn:aws:iam::123456789012:role/exec\" }",
    "",
  ].join("\n"));
  // The same app with a validation error: error output must not carry values either.
  writeFileSync(join(dir, "app/sdx-invalid.yaml"), readFileSync(join(dir, "app/sdx.yaml"), "utf8").replace("    ports: [8080]", "    ports: [8080]\n    replicas: -1"));

  mkdirSync(join(dir, "compose/secrets"), { recursive: true });
  writeFileSync(join(dir, "compose/.env"), `DOTENV_SECRET=${PLANTED.dotEnv}\n`);
  writeFileSync(join(dir, "compose/app.env"), `API_TOKEN=${PLANTED.envFile}\nPLAIN=ok\n`);
  writeFileSync(join(dir, "compose/secrets/db_pw.txt"), PLANTED.composeFileSecret);
  writeFileSync(join(dir, "compose/compose.yaml"), [
    "services:",
    "  api:",
    "    image: ghcr.io/acme/api:1.0",
    "    env_file: app.env",
    "    environment:",
    "      DATABASE_URL: postgres://app:${SHOP_DB_PASSWORD}@db/app",
    "      DB_CONN: ${SHOP_DB_PASSWORD}",
    '      GREETING: "hello ${DOTENV_SECRET} world"',
    `      DB_PASSWORD: ${PLANTED.composeLiteral}`,
    "      CACHE_URL: redis://cache:${URL_PW}@cache:6379/0",
    "    ports: [\"8000:8000\"]",
    "    secrets: [db_pw]",
    "    configs: [c_env]",
    "secrets:",
    "  db_pw:",
    "    file: ./secrets/db_pw.txt",
    "configs:",
    "  c_env:",
    "    environment: CONFIG_SECRET",
    "",
  ].join("\n"));

  mkdirSync(join(dir, "score"), { recursive: true });
  writeFileSync(join(dir, "score/score.yaml"), [
    "apiVersion: score.dev/v1b1",
    "metadata:",
    "  name: scan",
    "containers:",
    "  main:",
    "    image: ghcr.io/acme/main:1.0",
    "    variables:",
    `      STRIPE_API_KEY: ${PLANTED.scoreLiteral}`,
    "      LOG_LEVEL: info",
    "",
  ].join("\n"));
  inputs = new Set(written(dir, new Set()));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs each command line and returns `<command>: <stream>: <leaked value names>` for every leak. */
async function scan(commands: readonly (readonly string[])[]): Promise<string[]> {
  const found: string[] = [];
  for (const argv of commands) {
    const r = await run(...argv);
    for (const [stream, text] of [["stdout", r.stdout], ["stderr", r.stderr]] as const) {
      const leaks = leaksIn(text);
      if (leaks.length) found.push(`${argv.join(" ").replaceAll(dir, "<dir>")}: ${stream}: ${leaks.join(", ")}`);
    }
  }
  return found;
}

describe("secret scan: planted values appear in no output", () => {
  it("the scan finds a value raw, as hex, and as base64 inside a longer encoded string", () => {
    // Without this, a scan that can never match would pass every test below.
    const v = PLANTED.fileSecret;
    expect(leaksIn(`x ${v} y`)).toEqual(["fileSecret"]);
    expect(leaksIn(Buffer.from(v).toString("hex"))).toEqual(["fileSecret"]);
    for (const prefix of ["", "a", "ab", "abc"]) expect(leaksIn(Buffer.from(`${prefix}${v}\n`).toString("base64")), prefix).toEqual(["fileSecret"]);
    expect(leaksIn("nothing planted here")).toEqual([]);
    // And it sees the planted inputs themselves.
    expect(leaksIn(readFileSync(join(dir, "compose/compose.yaml"), "utf8"))).toEqual(expect.arrayContaining(["composeLiteral"]));
  });

  it("sdx.yaml: validate, plan --offline for every target, check — text and --json", async () => {
    const app = join(dir, "app/sdx.yaml");
    const plan = await run("plan", app, "--offline", "-t", "all", "--json");
    expect(plan.code, plan.stderr).toBe(0);
    // The plan does carry the secrets, by digest: proof they were read and rendered.
    expect(plan.stdout).toContain("scan");
    expect(await scan([
      ["validate", app], ["validate", app, "--json"],
      ["plan", app, "--offline"], ["plan", app, "--offline", "--json"],
      ["plan", app, "--offline", "-t", "all"], ["plan", app, "--offline", "-t", "all", "--json"],
      ["plan", app, "--offline", "-t", "swarm", "--json"], ["plan", app, "--offline", "-t", "ecs", "--json"],
      ["check", app], ["check", app, "--json"],
      ["targets", app, "--json"],
    ])).toEqual([]);
  });

  it("an invalid sdx.yaml: the error output carries no values", async () => {
    const bad = join(dir, "app/sdx-invalid.yaml");
    const r = await run("plan", bad, "--offline", "--json");
    expect(r.code).toBe(2);
    expect(await scan([["validate", bad], ["validate", bad, "--json"], ["plan", bad, "--offline"], ["plan", bad, "--offline", "--json"], ["check", bad, "--json"]])).toEqual([]);
  });

  it("compose.yaml: validate, plan -f, check — text and --json", async () => {
    const file = join(dir, "compose/compose.yaml");
    const plan = await run("plan", "-f", file, "--offline", "--json");
    expect(plan.code, `${plan.stdout}${plan.stderr}`).toBe(0);
    expect(await scan([
      ["validate", file], ["validate", file, "--json"],
      ["plan", "-f", file, "--offline"], ["plan", "-f", file, "--offline", "--json"],
      ["plan", "-f", file, "--offline", "-t", "all", "--json"],
      ["check", file], ["check", file, "--json"],
    ])).toEqual([]);
  });

  it("sdx import compose.yaml: the written sdx.yaml, --json and the text output", async () => {
    const file = join(dir, "compose/compose.yaml");
    const out = join(dir, "compose/imported.sdx.yaml");
    const text = await run("import", file, "-o", out);
    expect(text.code, text.stderr).toBe(0);
    const leaks = await scan([["import", file, "--json"], ["import", file, "-o", join(dir, "compose/imported-2.sdx.yaml"), "--json"]]);
    for (const [stream, t] of [["stdout", text.stdout], ["stderr", text.stderr]] as const) if (leaksIn(t).length) leaks.push(`import: ${stream}: ${leaksIn(t).join(", ")}`);
    for (const f of written(dir, inputs)) {
      const l = leaksIn(readFileSync(f, "utf8"));
      if (l.length) leaks.push(`${f.replace(dir, "<dir>")}: ${l.join(", ")}`);
    }
    expect(leaks).toEqual([]);
    // The written file is a working app once the variables it references are exported
    // (sdx.yaml does not read the Compose project's .env or env files).
    const validated = await runWith({ ...env, DOTENV_SECRET: PLANTED.dotEnv, API_TOKEN: PLANTED.envFile }, "validate", out);
    expect(validated.code, validated.stderr).toBe(0);
  });

  it("sdx import score.yaml: a credential-looking literal is not written out", async () => {
    const file = join(dir, "score/score.yaml");
    const out = join(dir, "score/imported.sdx.yaml");
    const text = await run("import", file, "-o", out);
    expect(text.code, text.stderr).toBe(0);
    const leaks = await scan([["import", file, "--json"], ["validate", file, "--json"], ["plan", "-f", file, "--offline", "--json"]]);
    const l = leaksIn(readFileSync(out, "utf8"));
    if (l.length) leaks.push(`${out.replace(dir, "<dir>")}: ${l.join(", ")}`);
    expect(leaks).toEqual([]);
  });
});
