import { describe, expect, it } from "vitest";
import { compileGlob } from "./glob-matcher.js";

const m = (pattern: string, path: string, isDir = false) => compileGlob(pattern).test(path, isDir);

describe("compileGlob: include/exclude patterns", () => {
  it("matches a pattern without a slash at any depth, one with a slash from the top", () => {
    expect(m("*.log", "debug.log")).toBe(true);
    expect(m("*.log", "a/b/debug.log")).toBe(true);
    expect(m("*.log", "debug.log.txt")).toBe(false);
    expect(m(".env", "config/.env")).toBe(true);
    expect(m("src/*.js", "src/a.js")).toBe(true);
    expect(m("src/*.js", "lib/src/a.js")).toBe(false);
    expect(m("/server.js", "server.js")).toBe(true);
    expect(m("/server.js", "x/server.js")).toBe(false);
    expect(m("./server.js", "server.js")).toBe(true);
  });

  it("keeps * and ? inside one segment and lets ** span segments (zero included)", () => {
    expect(m("src/*", "src/a/b.js")).toBe(false);
    expect(m("src/**", "src/a/b.js")).toBe(true);
    expect(m("src/**", "src", true)).toBe(true);
    expect(m("**/test/*.js", "test/a.js")).toBe(true);
    expect(m("**/test/*.js", "a/b/test/a.js")).toBe(true);
    expect(m("a/**/b", "a/b")).toBe(true);
    expect(m("a/**/b", "a/x/y/b")).toBe(true);
    expect(m("a/**/b", "ab")).toBe(false);
    expect(m("file?.js", "file1.js")).toBe(true);
    expect(m("file?.js", "file12.js")).toBe(false);
    expect(m("*", ".hidden")).toBe(true);
    expect(m("a.b", "aXb")).toBe(false);
  });

  it("matches a trailing-slash pattern only against directories", () => {
    expect(m("node_modules/", "node_modules", true)).toBe(true);
    expect(m("node_modules/", "packages/x/node_modules", true)).toBe(true);
    expect(m("node_modules/", "node_modules", false)).toBe(false);
    expect(m("dist", "dist", false)).toBe(true);
  });

  it("calls a pattern explicit only when its last segment names something without wildcards", () => {
    expect(compileGlob(".env.production").explicit).toBe(true);
    expect(compileGlob("config/.env").explicit).toBe(true);
    for (const p of [".env.*", "*.*", ".*", "**/*.*", "*.env", "?env"]) expect(compileGlob(p).explicit, p).toBe(false);
    expect(compileGlob("**").explicit).toBe(false);
    expect(compileGlob("src/**").explicit).toBe(false);
    expect(compileGlob("src/*").explicit).toBe(false);
  });

  it("refuses empty patterns and ones leaving the context, with the path given", () => {
    expect(() => compileGlob("  ", "services.web.build.include[0]")).toThrow(expect.objectContaining({ code: "SDX_BUILD_INVALID_PATTERN", fault: "user", path: "services.web.build.include[0]" }));
    expect(() => compileGlob("../secrets/*")).toThrow(expect.objectContaining({ code: "SDX_BUILD_INVALID_PATTERN" }));
  });
});
