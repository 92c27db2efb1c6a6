import { describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stageNodeDependencies, sweepDeadStaging, type StageNodeDependenciesOptions } from "./stage-node-dependencies.js";
import { FAKE_NPM, copyFixture, layerBytes, layerEntries, rejection, tempDir } from "../../test/fixtures/build/build-fixtures.js";

/** Options with a fake npm that logs its calls to `log`. */
function opts(context: string, cacheDir: string, log: string, extra: Partial<StageNodeDependenciesOptions> & { mode?: StageNodeDependenciesOptions["mode"]; fake?: string } = {}): StageNodeDependenciesOptions {
  const { fake, ...rest } = extra;
  return {
    context, cacheDir, arch: "x64", nodeVersion: "24.1.0", workdir: "/app", epoch: 315532800, npmCommand: FAKE_NPM,
    env: { ...process.env, FAKE_NPM_LOG: log, FAKE_NPM_MODE: fake ?? "install" }, ...rest,
  };
}

const calls = (log: string): string[][] => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as string[]) : []);

function withDeps(): string {
  const dir = copyFixture("hello");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "x", version: "1.0.0", dependencies: { "fake-dep": "1.0.0" }, devDependencies: { vitest: "5" } }));
  writeFileSync(join(dir, "package-lock.json"), JSON.stringify({ name: "x", lockfileVersion: 3, packages: { "": { dependencies: { "fake-dep": "1.0.0" } } } }));
  return dir;
}

describe("stageNodeDependencies: the node_modules layer", () => {
  it("makes no layer and needs no lockfile when package.json has no dependencies (npm never runs)", async () => {
    const dir = copyFixture("hello");
    const log = join(tempDir(), "npm.log");
    const r = await stageNodeDependencies(opts(dir, tempDir(), log));
    expect(r.layer).toBeUndefined();
    expect(r.skipped).toContain("no dependencies");
    expect(calls(log)).toEqual([]);
    expect((await stageNodeDependencies(opts(dir, tempDir(), log, { mode: "none" }))).layer).toBeUndefined();
  });

  it("refuses dependencies without a lockfile, saying how to make one", async () => {
    const dir = withDeps();
    rmSync(join(dir, "package-lock.json"));
    const e = await rejection(stageNodeDependencies(opts(dir, tempDir(), join(tempDir(), "npm.log"), { buildPath: "services.web.build" })));
    expect({ code: e.code, fault: e.fault, path: e.path }).toEqual({ code: "SDX_BUILD_NO_LOCKFILE", fault: "user", path: "services.web.build.dependencies" });
    expect(e.hint).toContain("npm install --package-lock-only");
  });

  it("runs npm ci --omit=dev for the image's platform in a staging dir, puts node_modules under the workdir, and caches the layer", async () => {
    const dir = withDeps();
    const cache = tempDir();
    const log = join(tempDir(), "npm.log");
    writeFileSync(join(dir, ".npmrc"), "@acme:registry=https://npm.acme.example/\n");
    const seen = join(tempDir(), "seen-npmrc");
    const o = opts(dir, cache, log, { arch: "arm64" });
    const first = await stageNodeDependencies({ ...o, env: { ...o.env, FAKE_NPM_SEEN_NPMRC: seen } });
    expect(readFileSync(seen, "utf8"), "the project's .npmrc applies to the install").toContain("@acme:registry");
    expect(first.cached).toBe(false);
    const [args] = calls(log);
    expect(args).toEqual(expect.arrayContaining(["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--os=linux", "--cpu=arm64"]));
    expect(args![args!.indexOf("--prefix") + 1]).toContain(join(cache, "staging"));
    const entries = layerEntries(layerBytes(first.layer!));
    expect(entries.map((e) => e.path)).toEqual([
      "app/", "app/node_modules/", "app/node_modules/.bin/", "app/node_modules/.bin/fake-dep", "app/node_modules/fake-dep/", "app/node_modules/fake-dep/bin/",
      "app/node_modules/fake-dep/bin/cli.js", "app/node_modules/fake-dep/index.js", "app/node_modules/fake-dep/package.json",
    ]);
    expect(entries.find((e) => e.path === "app/node_modules/.bin/fake-dep")).toMatchObject({ type: "2", linkname: "../fake-dep/bin/cli.js" });
    expect(entries.find((e) => e.path === "app/node_modules/fake-dep/bin/cli.js")!.mode).toBe(0o755);
    expect(readdirSync(join(cache, "staging")), "staging removed").toEqual([]);

    // Same package.json and lockfile: from the cache, no npm, same layer.
    const again = await stageNodeDependencies(opts(copyDeps(dir), cache, log, { arch: "arm64" }));
    expect(again.cached).toBe(true);
    expect(again.layer!.descriptor).toEqual(first.layer!.descriptor);
    expect(calls(log)).toHaveLength(1);
    // Another architecture, or a changed lockfile: npm again.
    await stageNodeDependencies(opts(dir, cache, log, { arch: "x64" }));
    expect(calls(log)).toHaveLength(2);
    writeFileSync(join(dir, "package-lock.json"), JSON.stringify({ name: "x", lockfileVersion: 3, packages: { "": { dependencies: { "fake-dep": "1.0.1" } } } }));
    expect((await stageNodeDependencies(opts(dir, cache, log, { arch: "x64" }))).cached).toBe(false);
    expect(calls(log)).toHaveLength(3);
  });

  it("surfaces an npm failure as SDX_BUILD_DEPENDENCIES with npm's stderr, tokens masked", async () => {
    const e = await rejection(stageNodeDependencies(opts(withDeps(), tempDir(), join(tempDir(), "npm.log"), { fake: "fail" })));
    expect({ code: e.code, fault: e.fault }).toEqual({ code: "SDX_BUILD_DEPENDENCIES", fault: "user" });
    expect(e.message).toContain("404 Not Found - GET https://registry.example/nope");
    expect(e.message).toContain("E404");
    expect(e.details).toMatchObject({ exitCode: 1, npmCode: "E404" });
    expect(String(e.details!["stderr"])).toContain("npm error code E404");
    expect(JSON.stringify(e)).not.toContain("SECRET-TOKEN-123");
    expect(e.message).not.toContain("SECRET-TOKEN-123");
    expect(e.hint).toContain("package-lock.json");
    // A network failure is the registry's, not the user's.
    const net = await rejection(stageNodeDependencies(opts(withDeps(), tempDir(), join(tempDir(), "npm.log"), { fake: "fail", env: { ...process.env, FAKE_NPM_MODE: "fail", FAKE_NPM_CODE: "ECONNREFUSED" } })));
    expect({ code: net.code, fault: net.fault }).toEqual({ code: "SDX_BUILD_DEPENDENCIES", fault: "backend" });
  });

  it("kills npm and rejects with SDX_ABORTED when aborted", async () => {
    const ac = new AbortController();
    const p = stageNodeDependencies({ ...opts(withDeps(), tempDir(), join(tempDir(), "npm.log"), { fake: "sleep" }), signal: ac.signal });
    setTimeout(() => ac.abort(), 300);
    const t0 = Date.now();
    await expect(p).rejects.toMatchObject({ code: "SDX_ABORTED" });
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it("copy: ships the context's node_modules as is, workspace links inside the context kept, native addons warned about", async () => {
    const dir = copyFixture("hello");
    mkdirSync(join(dir, "packages", "shared"), { recursive: true });
    writeFileSync(join(dir, "packages", "shared", "index.js"), "");
    mkdirSync(join(dir, "node_modules", "@acme"), { recursive: true });
    symlinkSync("../../packages/shared", join(dir, "node_modules", "@acme", "shared"));
    mkdirSync(join(dir, "node_modules", "addon", "build"), { recursive: true });
    writeFileSync(join(dir, "node_modules", "addon", "build", "addon.node"), "ELF");
    const log = join(tempDir(), "npm.log");
    const r = await stageNodeDependencies(opts(dir, tempDir(), log, { mode: "copy" }));
    const entries = layerEntries(layerBytes(r.layer!));
    expect(entries.find((e) => e.path === "app/node_modules/@acme/shared")).toMatchObject({ type: "2", linkname: "../../packages/shared" });
    expect(entries.map((e) => e.path)).toContain("app/node_modules/addon/build/addon.node");
    expect(r.warnings.join("\n")).toContain("addon.node");
    expect(calls(log)).toEqual([]);
    const none = await rejection(stageNodeDependencies(opts(copyFixture("hello"), tempDir(), log, { mode: "copy" })));
    expect(none.code).toBe("SDX_BUILD_NO_NODE_MODULES");
  });
});

/** A copy of a context in another directory (same files). */
function copyDeps(dir: string): string {
  const other = join(tempDir(), "again");
  mkdirSync(other);
  for (const f of ["package.json", "package-lock.json"]) writeFileSync(join(other, f), readFileSync(join(dir, f)));
  return other;
}

describe("stageNodeDependencies with the real npm and registry", () => {
  it("installs ms@2.1.3 from the committed lockfile, and a second build hits the cache without running npm", { timeout: 120_000 }, async () => {
    const cache = tempDir();
    const log = join(tempDir(), "npm.log");
    // The fake npm in `exec` mode counts calls and runs the real npm.
    const o = (context: string) => ({ ...opts(context, cache, log), env: { ...process.env, FAKE_NPM_LOG: log, FAKE_NPM_MODE: "exec" } });
    const first = await stageNodeDependencies(o(copyFixture("with-ms")));
    const entries = layerEntries(layerBytes(first.layer!));
    const index = entries.find((e) => e.path === "app/node_modules/ms/index.js");
    expect(index, entries.map((e) => e.path).join("\n")).toBeDefined();
    expect(new TextDecoder().decode(index!.content)).toContain("module.exports");
    expect(JSON.parse(new TextDecoder().decode(entries.find((e) => e.path === "app/node_modules/ms/package.json")!.content))).toMatchObject({ name: "ms", version: "2.1.3" });
    expect(calls(log)).toHaveLength(1);
    const second = await stageNodeDependencies(o(copyFixture("with-ms", { mtime: 1_000_000, umask: 0o077 })));
    expect(second.cached).toBe(true);
    expect(second.layer!.descriptor.digest).toBe(first.layer!.descriptor.digest);
    expect(calls(log)).toHaveLength(1);
  });
});

describe("staging folders of builds that were killed", () => {
  it("are removed, .npmrc and all, by the next build; a live process's folder is kept", async () => {
    const { spawnSync } = await import("node:child_process");
    const dir = tempDir("sdx-staging-sweep-");
    // A pid that surely exited: a child that has been reaped.
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid!;
    const gone = join(dir, `0123456789abcdef-${dead}-0a0b0c0d`);
    const mine = join(dir, `0123456789abcdef-${process.pid}-01020304`);
    for (const d of [gone, mine]) {
      mkdirSync(d);
      writeFileSync(join(d, ".npmrc"), "//registry.npmjs.org/:_authToken=secret\n");
    }
    await sweepDeadStaging(dir);
    expect(existsSync(gone)).toBe(false);
    expect(existsSync(mine)).toBe(true);
  });
});
