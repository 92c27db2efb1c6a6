// The example's backend and price source from the sdx CLI: app.yaml names
// ./sdx-plugin.mjs under `plugins:`, and nothing else registers them.
import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { runCli } from "../../packages/sdk/src/cli/run-cli.ts";

const APP = fileURLToPath(new URL("./app.yaml", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "packages/sdk/bin/sdx.js");

/** Where the directory backend writes: a fresh directory, so the example's own out/ is never touched. */
const outDir = (): string => join(mkdtempSync(join(tmpdir(), "sdx-embed-cli-")), "out");

async function sdx(argv: string[], env: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, interactive: false, confirm: async () => false, env: { SDX_RESOLVE_IMAGES: "0", ...env } });
  return { code, stdout, stderr };
}

describe("examples/embed from the sdx CLI, through its plugin", () => {
  it("plans with its own price source, deploys, reports status and destroys", async () => {
    const env = { EMBED_OUT_DIR: outDir() };
    const plan = await sdx(["plan", APP, "--json"], env);
    expect(plan.code, plan.stderr).toBe(0);
    const j = JSON.parse(plan.stdout) as { target: string; backend: string; chosen: string; estimates: { target: string; hourlyUsd: number; lines: { provenance: { source: string } }[] }[]; plan: { summary: { create: number } } };
    expect(j).toMatchObject({ target: "out", backend: "directory", chosen: "out", plan: { summary: { create: 2 } } });
    const out = j.estimates.find((e) => e.target === "out")!;
    expect(out.hourlyUsd).toBeCloseTo(0.021, 6);
    expect(out.lines.map((l) => l.provenance.source)).toContain("acme-rate-card");
    const text = await sdx(["plan", APP], env);
    expect(text.stdout).toMatch(/→ {2}out +Directory of manifests +us-east-1 +1× acme\.small \(on-demand\) +\$0\.0210 +\$15\.33 +2026-11-01/);

    const deploy = await sdx(["deploy", APP, "--yes"], env);
    expect(deploy.code, deploy.stderr).toBe(0);
    expect(deploy.stdout).toBe("Deployed to out.\n");
    expect(readdirSync(env.EMBED_OUT_DIR).sort()).toEqual(["embedded-jobs.json", "embedded-web.json"]);
    expect((await sdx(["plan", APP, "--expect-no-changes"], env)).code).toBe(0);

    const status = await sdx(["status", APP, "-t", "out"], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/web\s+2\s+2\s+2\s+healthy/);

    const destroy = await sdx(["destroy", APP, "-t", "out", "--yes"], env);
    expect(destroy).toMatchObject({ code: 0, stdout: "Removed 2 objects of embedded from out.\n" });
    expect(readdirSync(env.EMBED_OUT_DIR)).toEqual([]);
  });

  it("knows the plugin's kind in validate, targets and schema", async () => {
    expect((await sdx(["validate", APP])).code).toBe(0);
    const targets = JSON.parse((await sdx(["targets", APP, "--json"])).stdout) as { targets: { name: string; kind: string }[] };
    expect(targets.targets.map((t) => `${t.name}:${t.kind}`)).toEqual(["out:directory", "k8s:kubernetes"]);
    const plugin = fileURLToPath(new URL("./sdx-plugin.mjs", import.meta.url));
    const schema = await sdx(["schema", "--plugin", plugin]);
    expect(schema.code).toBe(0);
    expect(schema.stdout).toContain('"const": "directory"');
  });

  it("runs as the installed binary does: node packages/sdk/bin/sdx.js (dist, built by npm run build)", async () => {
    expect(existsSync(join(ROOT, "packages/sdk/dist/cli/run-cli.js")), "packages/sdk/dist is missing: run `npm run build` first").toBe(true);
    const env = { ...process.env, EMBED_OUT_DIR: outDir(), SDX_RESOLVE_IMAGES: "0" };
    const run = (...argv: string[]) => promisify(execFile)(process.execPath, [BIN, ...argv], { cwd: ROOT, env });
    const plan = JSON.parse((await run("plan", "examples/embed/app.yaml", "--json")).stdout) as { target: string; estimates: { lines: { provenance: { source: string } }[] }[] };
    expect(plan.target).toBe("out");
    expect(plan.estimates[0]!.lines[0]!.provenance.source).toBe("acme-rate-card");
    expect((await run("deploy", "examples/embed/app.yaml", "--yes")).stdout).toBe("Deployed to out.\n");
    expect((await run("status", "examples/embed/app.yaml", "-t", "out")).stdout).toMatch(/jobs\s+1\s+1\s+1\s+healthy/);
    expect((await run("destroy", "examples/embed/app.yaml", "-t", "out", "--yes")).stdout).toBe("Removed 2 objects of embedded from out.\n");
    expect(readdirSync(env.EMBED_OUT_DIR)).toEqual([]);
  }, 60_000);

  it("reports a plugin that cannot be found, loaded or used with SDX_PLUGIN, where it was resolved from, and exit 2", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sdx-plugin-bad-"));
    const app = join(dir, "sdx.yaml");
    writeFileSync(app, "name: x\nservices: { a: { image: 'x:1@sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752' } }\ntargets: { out: { kind: directory, path: ./out } }\nplugins: [./nope.mjs]\n");
    const missing = await sdx(["plan", app, "--offline"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`sdx: SDX_PLUGIN: plugin "./nope.mjs" (from the app file's plugins, resolved from ${dir}): no such file`);
    expect(missing.stderr).toContain("hint:");

    writeFileSync(join(dir, "empty.mjs"), "export const answer = 42;\n");
    writeFileSync(app, "name: x\nservices: { a: { image: 'x:1' } }\ntargets: { out: { kind: directory, path: ./out } }\nplugins: [./empty.mjs]\n");
    const empty = await sdx(["validate", app, "--json"]);
    expect(empty.code).toBe(2);
    expect(JSON.parse(empty.stdout)).toMatchObject({ error: { code: "SDX_PLUGIN", fault: "user", details: { specifier: "./empty.mjs", origin: "app", resolvedFrom: dir } } });

    // From the command line and the environment too, whatever the app file names.
    writeFileSync(app, "name: x\nservices: { a: { image: 'x:1' } }\ntargets: { local: { kind: swarm } }\n");
    writeFileSync(join(dir, "broken.mjs"), "export default {;\n");
    const broken = await sdx(["validate", app, "--plugin", join(dir, "broken.mjs")]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/SDX_PLUGIN: plugin ".*broken\.mjs" \(from --plugin, resolved from .*\): .*broken\.mjs failed to load: /);

    const pkg = await sdx(["validate", app], { SDX_PLUGINS: "@acme/sdx-nomad" });
    expect(pkg.code).toBe(2);
    expect(pkg.stderr).toContain(`plugin "@acme/sdx-nomad" (from SDX_PLUGINS, resolved from ${dir}): no such package`);
    expect(pkg.stderr).toContain("npm install @acme/sdx-nomad");
  });

  it("keeps a plugin path named in the app file inside the app's directory unless --allow-outside", async () => {
    const root = mkdtempSync(join(tmpdir(), "sdx-plugin-outside-"));
    mkdirSync(join(root, "app"));
    writeFileSync(join(root, "evil.mjs"), "export default { backends: [] };\n");
    const app = join(root, "app", "sdx.yaml");
    writeFileSync(app, "name: x\nservices: { a: { image: 'x:1' } }\ntargets: { local: { kind: swarm } }\nplugins: [../evil.mjs]\n");
    const r = await sdx(["validate", app]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("SDX_PATH_OUTSIDE_APP");
    // Allowed, it loads, and its empty export is refused for what it is.
    const allowed = await sdx(["validate", app, "--allow-outside", root]);
    expect(allowed.code).toBe(2);
    expect(allowed.stderr).toContain("exports a plugin with no backends and no price sources");
  });

  it("refuses a plugin kind that is already registered", async () => {
    const dup = join(mkdtempSync(join(tmpdir(), "sdx-plugin-dup-")), "dup.mjs");
    writeFileSync(dup, 'export const sdxPlugin = { backends: [{ kind: "directory", load: () => { throw new Error("never loaded"); } }] };\n');
    const r = await sdx(["validate", APP], { SDX_PLUGINS: dup });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('SDX_DUPLICATE_BACKEND: two backends are registered for target kind "directory"');
  });
});
