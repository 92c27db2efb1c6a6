import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tarChunks, writeTar, type TarEntry } from "./tar-writer.js";
import { readTar } from "./tar-reader.js";
import { tempDir } from "../../test/fixtures/build/build-fixtures.js";

const enc = (s: string) => new TextEncoder().encode(s);
const EPOCH = 1_700_000_000;

async function streamed(entries: readonly TarEntry[], epoch: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of tarChunks(entries, { epoch })) parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}

describe("writeTar: a deterministic POSIX tar", () => {
  const entries: TarEntry[] = [
    { kind: "file", path: "app/z.js", bytes: enc("z") },
    { kind: "symlink", path: "app/link", target: "z.js" },
    { kind: "file", path: "app/bin/run", bytes: enc("#!/bin/sh\n"), executable: true },
    { kind: "file", path: "app/a-b.js", bytes: enc("ab") },
    { kind: "dir", path: "app/empty" },
  ];

  it("sorts by path bytes, adds every parent directory, and normalises owner, names, modes and times", () => {
    const tar = writeTar(entries, { epoch: EPOCH });
    const read = readTar(tar);
    expect(read.map((e) => `${e.type} ${e.path}`)).toEqual([
      "5 app/", "0 app/a-b.js", "5 app/bin/", "0 app/bin/run", "5 app/empty/", "2 app/link", "0 app/z.js",
    ]);
    for (const e of read) {
      expect([e.uid, e.gid, e.uname, e.gname, e.mtime], e.path).toEqual([0, 0, "", "", EPOCH]);
      expect(e.pax, e.path).toEqual({});
    }
    const mode = Object.fromEntries(read.map((e) => [e.path, e.mode.toString(8)]));
    expect(mode).toEqual({ "app/": "755", "app/a-b.js": "644", "app/bin/": "755", "app/bin/run": "755", "app/empty/": "755", "app/link": "777", "app/z.js": "644" });
    expect(read.find((e) => e.path === "app/link")!.linkname).toBe("z.js");
    expect(new TextDecoder().decode(read.find((e) => e.path === "app/a-b.js")!.content)).toBe("ab");
  });

  it("gives the same bytes whatever the input order, ends with two zero blocks, and streams the same bytes", async () => {
    const a = writeTar(entries, { epoch: EPOCH });
    const b = writeTar([...entries].reverse(), { epoch: EPOCH });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(a.length % 512).toBe(0);
    expect(a.subarray(a.length - 1024).every((x) => x === 0)).toBe(true);
    expect(Buffer.from(await streamed(entries, EPOCH)).equals(Buffer.from(a))).toBe(true);
    // ustar magic and version on the first header
    expect(Buffer.from(a.subarray(257, 265)).toString("latin1")).toBe("ustar\u000000");
    expect(Buffer.from(writeTar(entries, { epoch: EPOCH + 1 })).equals(Buffer.from(a))).toBe(false);
  });

  it("is read the same by the system tar (numeric owner 0/0, modes, the epoch's date)", () => {
    const list = execFileSync("tar", ["--numeric-owner", "--utc", "-tvf", "-"], { input: writeTar(entries, { epoch: 0 }), encoding: "utf8" });
    const lines = list.trim().split("\n");
    expect(lines).toHaveLength(7);
    expect(lines[0]).toMatch(/^drwxr-xr-x 0\/0\s+0 1970-01-01 00:00 app\/$/);
    expect(lines[3]).toMatch(/^-rwxr-xr-x 0\/0\s+10 1970-01-01 00:00 app\/bin\/run$/);
    expect(lines[5]).toMatch(/^lrwxrwxrwx 0\/0\s+0 1970-01-01 00:00 app\/link -> z\.js$/);
  });

  it("uses the ustar prefix for long paths that split, and PAX records only where ustar cannot hold them", () => {
    const seg = "d".repeat(60);
    const splittable = `${seg}/${seg}/file.txt`; // 129 bytes: prefix + name
    const unsplittable = `x/${"n".repeat(120)}.txt`; // last segment over 100 bytes
    const unicode = "app/grüße.txt";
    const longTarget = "t/".repeat(60);
    const tar = writeTar([
      { kind: "file", path: splittable, bytes: enc("1") },
      { kind: "file", path: unsplittable, bytes: enc("2") },
      { kind: "file", path: unicode, bytes: enc("3") },
      { kind: "symlink", path: "l", target: longTarget },
    ], { epoch: EPOCH });
    const read = readTar(tar);
    const by = Object.fromEntries(read.map((e) => [e.path, e]));
    expect(by[splittable]!.pax).toEqual({});
    expect(by[unsplittable]!.pax).toEqual({ path: unsplittable });
    expect(by[unicode]!.pax).toEqual({ path: unicode });
    expect(by["l"]!.pax).toEqual({ linkpath: longTarget });
    expect(by["l"]!.linkname).toBe(longTarget);
    // Exactly three PAX headers (two paths, one link target): the splittable path and the parents get none.
    const raw = Buffer.from(tar);
    let typeX = 0;
    for (let off = 0; off + 512 <= raw.length; off += 512) if (raw[off + 156] === 0x78 && raw.subarray(off + 257, off + 262).toString() === "ustar") typeX++;
    expect(typeX).toBe(3);

    // GNU tar agrees on names, content and link targets.
    const dir = tempDir();
    execFileSync("tar", ["-xf", "-", "-C", dir], { input: tar });
    expect(readFileSync(join(dir, splittable), "utf8")).toBe("1");
    expect(readFileSync(join(dir, unsplittable), "utf8")).toBe("2");
    expect(readFileSync(join(dir, unicode), "utf8")).toBe("3");
    expect(lstatSync(join(dir, "l")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dir, "l"))).toBe(longTarget);
  });

  it("reads file entries from disk, and refuses one that changed size since it was listed", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "src", "a.txt"), "hello");
    const e: TarEntry = { kind: "file", path: "a.txt", source: join(dir, "src", "a.txt"), size: 5 };
    expect(new TextDecoder().decode(readTar(writeTar([e]))[0]!.content)).toBe("hello");
    writeFileSync(join(dir, "src", "a.txt"), "hello, world");
    expect(() => writeTar([e])).toThrow(expect.objectContaining({ code: "SDX_BUILD_CONTEXT_CHANGED", fault: "user" }));
    await expect(streamed([e], 0)).rejects.toMatchObject({ code: "SDX_BUILD_CONTEXT_CHANGED" });
  });

  it("keeps metadata an entry sets (a root filesystem's /tmp 1777, a home's owner) and refuses impossible values", () => {
    const read = readTar(writeTar([
      { kind: "dir", path: "tmp", mode: 0o1777 },
      { kind: "dir", path: "home/nonroot", uid: 65532, gid: 65532 },
      { kind: "file", path: "bin/su", bytes: enc("x"), mode: 0o4755 },
    ]));
    const by = Object.fromEntries(read.map((e) => [e.path, `${e.mode.toString(8)} ${e.uid}:${e.gid}`]));
    expect(by).toEqual({ "bin/": "755 0:0", "bin/su": "4755 0:0", "home/": "755 0:0", "home/nonroot/": "755 65532:65532", "tmp/": "1777 0:0" });
    expect(() => writeTar([{ kind: "dir", path: "x", mode: 0o10000 }])).toThrow(expect.objectContaining({ code: "SDX_BUILD_INVALID_PATH" }));
    expect(() => writeTar([{ kind: "dir", path: "x", uid: -1 }])).toThrow(expect.objectContaining({ code: "SDX_BUILD_INVALID_PATH" }));
  });

  it("refuses bad paths, duplicates, a file used as a directory, and a bad epoch", () => {
    for (const path of ["/abs", "a/../b", "./a", "a//b", ""]) {
      expect(() => writeTar([{ kind: "dir", path }]), path).toThrow(expect.objectContaining({ code: "SDX_BUILD_INVALID_PATH" }));
    }
    expect(() => writeTar([{ kind: "file", path: "a", bytes: enc("") }, { kind: "file", path: "a", bytes: enc("") }])).toThrow(expect.objectContaining({ code: "SDX_BUILD_DUPLICATE_PATH" }));
    expect(() => writeTar([{ kind: "file", path: "a", bytes: enc("") }, { kind: "file", path: "a/b", bytes: enc("") }])).toThrow(expect.objectContaining({ code: "SDX_BUILD_DUPLICATE_PATH" }));
    expect(writeTar([{ kind: "dir", path: "a" }, { kind: "dir", path: "a/" }]).length).toBe(512 * 3);
    expect(() => writeTar([], { epoch: -1 })).toThrow(expect.objectContaining({ code: "SDX_BUILD_INVALID_EPOCH", fault: "user" }));
    expect(() => writeTar([], { epoch: 1.5 })).toThrow(expect.objectContaining({ code: "SDX_BUILD_INVALID_EPOCH" }));
  });
});
