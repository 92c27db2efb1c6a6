import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { collectBuildContext, walkTree } from "./collect-build-context.js";
import { copyFixture, rejection, tempDir } from "../../test/fixtures/build/build-fixtures.js";

/** The hello fixture plus what must stay out of images by default. */
function helloWithJunk(): string {
  const dir = copyFixture("hello");
  writeFileSync(join(dir, ".env"), "API_TOKEN=do-not-ship\n");
  writeFileSync(join(dir, ".env.production"), "API_TOKEN=prod\n");
  mkdirSync(join(dir, "config"));
  writeFileSync(join(dir, "config", ".env.local"), "X=1\n");
  writeFileSync(join(dir, "debug.log"), "log\n");
  writeFileSync(join(dir, ".npmrc"), "//registry.npmjs.org/:_authToken=do-not-ship\n");
  mkdirSync(join(dir, ".git", "objects"), { recursive: true });
  writeFileSync(join(dir, ".git", "HEAD"), "ref: refs/heads/main\n");
  mkdirSync(join(dir, "node_modules", "dep"), { recursive: true });
  writeFileSync(join(dir, "node_modules", "dep", "index.js"), "");
  mkdirSync(join(dir, ".sdx"));
  writeFileSync(join(dir, ".sdx", "state.json"), "{}");
  return dir;
}

const paths = (c: { entries: readonly { path: string; kind: string }[] }) => c.entries.map((e) => (e.kind === "dir" ? `${e.path}/` : e.path)).sort();

describe("collectBuildContext: what goes into the app layer", () => {
  it("takes everything but .git/, node_modules/, .sdx/, .env files, .npmrc and logs, under the workdir prefix", async () => {
    const dir = helloWithJunk();
    const c = await collectBuildContext({ context: dir, entry: "./server.js" });
    expect(c.entry).toBe("server.js");
    expect(paths(c)).toEqual(["app/README.md", "app/bin/", "app/bin/start.sh", "app/config/", "app/lib/", "app/lib/greet.js", "app/package.json", "app/server.js"]);
    expect(c.entries.find((e) => e.path === "app/bin/start.sh")).toMatchObject({ kind: "file", executable: true });
    expect(c.entries.find((e) => e.path === "app/server.js")).toMatchObject({ kind: "file", executable: false });
  });

  it("takes an .env file that an include pattern names, but not for a catch-all", async () => {
    const dir = helloWithJunk();
    const named = await collectBuildContext({ context: dir, entry: "server.js", include: ["**", ".env.production"] });
    expect(paths(named)).toContain("app/.env.production");
    expect(paths(named)).not.toContain("app/.env");
    const all = await collectBuildContext({ context: dir, entry: "server.js", include: ["**"] });
    expect(paths(all).some((p) => p.includes(".env"))).toBe(false);
    // Wildcard patterns that happen to match dot files never lift the defaults.
    for (const include of [["*.*"], ["**/*.*"], [".*", "**"], ["**", ".env.*"]]) {
      const c = await collectBuildContext({ context: dir, entry: "server.js", include });
      expect(paths(c).filter((p) => p.includes(".env") || p.includes(".npmrc") || p.includes(".git/")), include.join(",")).toEqual([]);
    }
  });

  it("narrows to include patterns, and exclude wins over include", async () => {
    const dir = helloWithJunk();
    const c = await collectBuildContext({ context: dir, entry: "server.js", include: ["server.js", "lib/", "package.json"], exclude: ["lib/greet.js"] });
    expect(paths(c)).toEqual(["app/lib/", "app/package.json", "app/server.js"]);
    const d = await collectBuildContext({ context: dir, entry: "server.js", exclude: ["*.md", "bin/"], prefix: "srv/app" });
    expect(paths(d)).toEqual(["srv/app/config/", "srv/app/lib/", "srv/app/lib/greet.js", "srv/app/package.json", "srv/app/server.js"]);
  });

  it("keeps symlinks that stay inside (absolute ones made relative) and refuses ones leaving the context", async () => {
    const root = tempDir();
    const dir = join(root, "ctx");
    mkdirSync(join(dir, "lib"), { recursive: true });
    writeFileSync(join(dir, "server.js"), "");
    writeFileSync(join(dir, "lib", "a.js"), "");
    writeFileSync(join(root, "outside.txt"), "host secret");
    symlinkSync("lib/a.js", join(dir, "rel-link"));
    symlinkSync(join(dir, "lib", "a.js"), join(dir, "lib", "abs-link"));
    symlinkSync("missing.js", join(dir, "dangling"));
    const c = await collectBuildContext({ context: dir, entry: "server.js" });
    expect(c.entries.find((e) => e.path === "app/rel-link")).toEqual({ kind: "symlink", path: "app/rel-link", target: "lib/a.js" });
    expect(c.entries.find((e) => e.path === "app/lib/abs-link")).toEqual({ kind: "symlink", path: "app/lib/abs-link", target: "a.js" });
    expect(c.warnings.join("\n")).toContain('"dangling"');

    for (const [name, target] of [["up", "../outside.txt"], ["abs", join(root, "outside.txt")], ["dir", root]] as const) {
      const d = join(root, `ctx-${name}`);
      mkdirSync(d);
      writeFileSync(join(d, "server.js"), "");
      symlinkSync(target, join(d, "leak"));
      const e = await rejection(collectBuildContext({ context: d, entry: "server.js" }));
      expect({ code: e.code, fault: e.fault, path: e.path }, name).toEqual({ code: "SDX_BUILD_SYMLINK_OUTSIDE", fault: "user", path: "leak" });
      expect(e.hint).toContain("exclude");
      expect(e.message).not.toContain("host secret");
    }
    // A chain: an inside link pointing at a link that leaves.
    const chain = join(root, "ctx-chain");
    mkdirSync(chain);
    writeFileSync(join(chain, "server.js"), "");
    symlinkSync(join(root, "outside.txt"), join(root, "hop"));
    symlinkSync("../hop", join(chain, "via"));
    expect((await rejection(collectBuildContext({ context: chain, entry: "server.js" }))).code).toBe("SDX_BUILD_SYMLINK_OUTSIDE");
    // Left out by exclude: no error.
    await expect(collectBuildContext({ context: chain, entry: "server.js", exclude: ["via"] })).resolves.toBeDefined();
  });

  it("skips sockets and FIFOs with a warning instead of reading them", async () => {
    const dir = copyFixture("hello");
    execFileSync("mkfifo", [join(dir, "pipe")]);
    const server = createServer();
    await new Promise<void>((r) => server.listen(join(dir, "sock"), r));
    try {
      const c = await collectBuildContext({ context: dir, entry: "server.js" });
      expect(paths(c)).not.toContain("app/pipe");
      expect(paths(c)).not.toContain("app/sock");
      expect(c.warnings.some((w) => w.includes('"pipe"') && w.includes("FIFO"))).toBe(true);
      expect(c.warnings.some((w) => w.includes('"sock"') && w.includes("socket"))).toBe(true);
    } finally {
      server.close();
    }
  });

  it("refuses a file over the per-file cap naming it and the cap, and a context too big or with too many files", async () => {
    const dir = copyFixture("hello");
    writeFileSync(join(dir, "big.bin"), Buffer.alloc(2048));
    const e = await rejection(collectBuildContext({ context: dir, entry: "server.js", limits: { maxFileBytes: 1024 }, buildPath: "services.web.build" }));
    expect({ code: e.code, fault: e.fault, path: e.path }).toEqual({ code: "SDX_FILE_TOO_LARGE", fault: "user", path: "services.web.build" });
    expect(e.message).toContain('"big.bin"');
    expect(e.message).toContain("1 KiB");
    expect(e.details).toMatchObject({ file: "big.bin", limitBytes: 1024 });
    const total = await rejection(collectBuildContext({ context: dir, entry: "server.js", limits: { maxTotalBytes: 1500 } }));
    expect(total.code).toBe("SDX_BUILD_CONTEXT_TOO_LARGE");
    expect(total.hint).toContain("exclude:");
    const many = await rejection(collectBuildContext({ context: dir, entry: "server.js", limits: { maxFiles: 3 } }));
    expect(many.code).toBe("SDX_BUILD_CONTEXT_TOO_LARGE");
    expect(many.details).toMatchObject({ limitFiles: 3 });
    await expect(collectBuildContext({ context: dir, entry: "server.js", exclude: ["*.bin"], limits: { maxFileBytes: 1024 } })).resolves.toBeDefined();
  });

  it("refuses a missing, excluded or escaping entry with SDX_BUILD_NO_ENTRY, the entry's path and the candidates", async () => {
    const dir = copyFixture("hello");
    writeFileSync(join(dir, "index.ts"), "");
    writeFileSync(join(dir, "notes.txt"), "");
    const entryPath = "services.web.build.entry";
    const missing = await rejection(collectBuildContext({ context: dir, entry: "main.js", entryPath }));
    expect({ code: missing.code, fault: missing.fault, path: missing.path }).toEqual({ code: "SDX_BUILD_NO_ENTRY", fault: "user", path: entryPath });
    expect(missing.message).toContain("does not exist");
    // package.json's main first, then the top-level scripts; never other files.
    expect(missing.hint).toContain("candidates at its top: server.js, index.ts");
    expect(missing.hint).not.toContain("notes.txt");
    const excluded = await rejection(collectBuildContext({ context: dir, entry: "server.js", exclude: ["server.js"], entryPath }));
    expect(excluded.code).toBe("SDX_BUILD_NO_ENTRY");
    expect(excluded.message).toContain("left out");
    for (const entry of ["../server.js", "/etc/passwd", "lib"]) {
      expect((await rejection(collectBuildContext({ context: dir, entry, entryPath }))).code, entry).toBe("SDX_BUILD_NO_ENTRY");
    }
  });
});

describe("walkTree: verbatim symlinks for a root filesystem", () => {
  it("keeps absolute links as they are and uses no default excludes when given none", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "usr", "bin"), { recursive: true });
    writeFileSync(join(dir, "usr", "bin", "busybox"), "#!", { mode: 0o755 });
    symlinkSync("/usr/bin/busybox", join(dir, "usr", "bin", "sh"));
    writeFileSync(join(dir, "app.log"), "");
    const t = await walkTree({ root: dir, symlinks: "verbatim", defaultExcludes: [] });
    expect(t.entries).toContainEqual({ kind: "symlink", path: "usr/bin/sh", target: "/usr/bin/busybox" });
    expect(t.entries.map((e) => e.path)).toContain("app.log");
    await expect(walkTree({ root: dir })).rejects.toMatchObject({ code: "SDX_BUILD_SYMLINK_OUTSIDE" });
  });

  it("keeps modes and owners as on disk when asked (metadata: preserved), normalises them otherwise", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "tmp"));
    chmodSync(join(dir, "tmp"), 0o1777);
    writeFileSync(join(dir, "secret"), "", { mode: 0o600 });
    chmodSync(join(dir, "secret"), 0o600);
    const preserved = await walkTree({ root: dir, metadata: "preserved", defaultExcludes: [] });
    const uid = process.getuid?.() ?? 0;
    expect(preserved.entries.find((e) => e.path === "tmp")).toMatchObject({ mode: 0o1777, uid });
    expect(preserved.entries.find((e) => e.path === "secret")).toMatchObject({ mode: 0o600, uid });
    const normal = await walkTree({ root: dir, defaultExcludes: [] });
    expect(normal.entries.find((e) => e.path === "tmp")).toEqual({ kind: "dir", path: "tmp" });
  });
});
