import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isSdxError } from "../errors/sdx-error.js";
import {
  MAX_APP_FILE_BYTES, MAX_FILE_BYTES, readContainedBytes, readContainedText, readRegularFile, resolveContainedPath, statContainedFile,
} from "./read-contained-file.js";

/** A temp tree: <root>/app (the app directory, with a.txt) and <root>/outside (with secret.txt). */
function tree() {
  const root = realpathSync(mkdtempSync(join(tmpdir(), "sdx-contained-")));
  const app = join(root, "app");
  const outside = join(root, "outside");
  mkdirSync(app);
  mkdirSync(outside);
  writeFileSync(join(app, "a.txt"), "inside\n");
  writeFileSync(join(outside, "secret.txt"), "HOST-SECRET-CONTENT");
  return { root, app, outside };
}

/** The SdxError `fn` throws (fails the test when it throws something else or nothing). */
function thrown(fn: () => unknown): { code: string; message: string; hint?: string | undefined; details?: Readonly<Record<string, unknown>> | undefined } {
  try {
    fn();
  } catch (e) {
    if (isSdxError(e)) return e;
    throw e;
  }
  throw new Error("expected an SdxError, nothing was thrown");
}

describe("readContainedText", () => {
  it("reads a file inside the app directory, by relative or absolute path", () => {
    const { app } = tree();
    expect(readContainedText("a.txt", { baseDir: app })).toBe("inside\n");
    expect(readContainedText("./sub/../a.txt", { baseDir: app })).toBe("inside\n");
    expect(readContainedText(join(app, "a.txt"), { baseDir: app })).toBe("inside\n");
  });

  it("refuses ../ traversal out of the app directory, naming the path, where it resolved and the fix", () => {
    const { app, outside } = tree();
    const e = thrown(() => readContainedText("../outside/secret.txt", { baseDir: app }));
    expect(e.code).toBe("SDX_PATH_OUTSIDE_APP");
    expect(e.message).toContain('"../outside/secret.txt"');
    expect(e.message).toContain(join(outside, "secret.txt"));
    expect(e.message).toContain(app);
    expect(e.hint).toContain(`--allow-outside ${outside}`);
    expect(e.message).not.toContain("HOST-SECRET-CONTENT");
    expect(thrown(() => readContainedText("../../../../../../../../etc/passwd", { baseDir: app })).code).toBe("SDX_PATH_OUTSIDE_APP");
  });

  it("refuses an absolute path outside, and a missing file outside the same way (no probing for host files)", () => {
    const { app, outside } = tree();
    expect(thrown(() => readContainedText(join(outside, "secret.txt"), { baseDir: app })).code).toBe("SDX_PATH_OUTSIDE_APP");
    expect(thrown(() => readContainedText("/etc/hostname-that-does-not-exist", { baseDir: app })).code).toBe("SDX_PATH_OUTSIDE_APP");
    expect(thrown(() => readContainedText("missing.txt", { baseDir: app }))).toMatchObject({ code: "SDX_FILE_UNREADABLE", message: expect.stringContaining("does not exist") });
  });

  it("refuses /proc/self/environ even when /proc is allowed", () => {
    const { app } = tree();
    for (const allowOutside of [[], ["/proc"], ["/"]]) {
      const e = thrown(() => readContainedText("/proc/self/environ", { baseDir: app, allowOutside }));
      expect(e.code).toBe("SDX_FILE_NOT_REGULAR");
      expect(e.message).toContain("/proc");
    }
  });

  it("follows symlinks: a link to an outside file or an outside directory is refused, a link inside is fine", () => {
    const { app, outside } = tree();
    symlinkSync(join(outside, "secret.txt"), join(app, "link.txt"));
    symlinkSync(outside, join(app, "linkdir"));
    symlinkSync("a.txt", join(app, "ok-link.txt"));
    symlinkSync("/proc/self/environ", join(app, "env-link"));
    expect(thrown(() => readContainedText("link.txt", { baseDir: app }))).toMatchObject({ code: "SDX_PATH_OUTSIDE_APP", details: { resolved: join(outside, "secret.txt") } });
    expect(thrown(() => readContainedText("linkdir/secret.txt", { baseDir: app })).code).toBe("SDX_PATH_OUTSIDE_APP");
    expect(thrown(() => readContainedText("env-link", { baseDir: app })).code).toBe("SDX_FILE_NOT_REGULAR");
    expect(readContainedText("ok-link.txt", { baseDir: app })).toBe("inside\n");
  });

  it("resolves the app directory itself through symlinks", () => {
    const { root, app } = tree();
    symlinkSync(app, join(root, "app-link"));
    expect(readContainedText("a.txt", { baseDir: join(root, "app-link") })).toBe("inside\n");
    expect(readContainedText(join(app, "a.txt"), { baseDir: join(root, "app-link") })).toBe("inside\n");
    expect(thrown(() => readContainedText("../outside/secret.txt", { baseDir: join(root, "app-link") })).code).toBe("SDX_PATH_OUTSIDE_APP");
  });

  it("reads from an explicitly allowed directory (absolute or app-relative), and only from it", () => {
    const { root, app, outside } = tree();
    mkdirSync(join(root, "other"));
    writeFileSync(join(root, "other", "x.txt"), "other");
    expect(readContainedText("../outside/secret.txt", { baseDir: app, allowOutside: [outside] })).toBe("HOST-SECRET-CONTENT");
    expect(readContainedText(join(outside, "secret.txt"), { baseDir: app, allowOutside: ["../outside"] })).toBe("HOST-SECRET-CONTENT");
    expect(thrown(() => readContainedText("../other/x.txt", { baseDir: app, allowOutside: [outside] })).code).toBe("SDX_PATH_OUTSIDE_APP");
    // A sibling whose name merely starts with the allowed one is not inside it.
    mkdirSync(join(root, "outside2"));
    writeFileSync(join(root, "outside2", "y.txt"), "y");
    expect(thrown(() => readContainedText("../outside2/y.txt", { baseDir: app, allowOutside: [outside] })).code).toBe("SDX_PATH_OUTSIDE_APP");
  });

  it("refuses a FIFO at once instead of waiting for a writer", { timeout: 5000 }, () => {
    const { app } = tree();
    execFileSync("mkfifo", [join(app, "pipe")]);
    const started = Date.now();
    const e = thrown(() => readContainedText("pipe", { baseDir: app }));
    expect(e.code).toBe("SDX_FILE_NOT_REGULAR");
    expect(e.message).toContain("FIFO");
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("refuses devices and directories", { timeout: 5000 }, () => {
    const { app } = tree();
    mkdirSync(join(app, "dir"));
    expect(thrown(() => readContainedText("dir", { baseDir: app }))).toMatchObject({ code: "SDX_FILE_NOT_REGULAR", message: expect.stringContaining("directory") });
    expect(thrown(() => readContainedText("/dev/zero", { baseDir: app, allowOutside: ["/dev"] })).code).toBe("SDX_FILE_NOT_REGULAR");
    symlinkSync("/dev/zero", join(app, "zero"));
    expect(thrown(() => readContainedBytes("zero", { baseDir: app })).code).toBe("SDX_FILE_NOT_REGULAR");
  });

  it("caps the size: exactly the limit is read, one byte more is refused with the limit named", () => {
    const { app } = tree();
    writeFileSync(join(app, "max.txt"), "x".repeat(100));
    writeFileSync(join(app, "over.txt"), "x".repeat(101));
    expect(readContainedText("max.txt", { baseDir: app, maxBytes: 100 })).toHaveLength(100);
    expect(thrown(() => readContainedText("over.txt", { baseDir: app, maxBytes: 100 }))).toMatchObject({ code: "SDX_FILE_TOO_LARGE", message: expect.stringContaining("100 bytes") });
    // The default cap is 1 MiB; a sparse 2 MiB file is refused without being read.
    writeFileSync(join(app, "big.txt"), "");
    truncateSync(join(app, "big.txt"), MAX_FILE_BYTES + 1);
    expect(thrown(() => readContainedText("big.txt", { baseDir: app }))).toMatchObject({ code: "SDX_FILE_TOO_LARGE", message: expect.stringContaining("1 MiB") });
  });

  it("refuses NUL bytes and invalid UTF-8 as text; reads them as bytes", () => {
    const { app } = tree();
    writeFileSync(join(app, "nul.txt"), Buffer.from([0x61, 0x00, 0x62]));
    writeFileSync(join(app, "latin1.txt"), Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    expect(thrown(() => readContainedText("nul.txt", { baseDir: app }))).toMatchObject({ code: "SDX_INVALID_ENCODING", message: expect.stringContaining("NUL byte (at byte 1)") });
    expect(thrown(() => readContainedText("latin1.txt", { baseDir: app }))).toMatchObject({ code: "SDX_INVALID_ENCODING", message: expect.stringContaining("not valid UTF-8") });
    expect([...readContainedBytes("nul.txt", { baseDir: app })]).toEqual([0x61, 0x00, 0x62]);
    expect(thrown(() => readContainedText("bad\0name", { baseDir: app })).code).toBe("SDX_INVALID_ENCODING");
  });

  it("statContainedFile checks without reading and gives the size", () => {
    const { app } = tree();
    expect(statContainedFile("a.txt", { baseDir: app })).toEqual({ resolved: join(app, "a.txt"), bytes: 7 });
    expect(thrown(() => statContainedFile("../outside/secret.txt", { baseDir: app })).code).toBe("SDX_PATH_OUTSIDE_APP");
    expect(resolveContainedPath("a.txt", { baseDir: app })).toBe(join(app, "a.txt"));
  });
});

describe("readRegularFile (the app file)", () => {
  it("refuses a FIFO, /dev/zero and a directory without hanging", { timeout: 5000 }, () => {
    const { app } = tree();
    execFileSync("mkfifo", [join(app, "sdx.yaml")]);
    expect(thrown(() => readRegularFile(join(app, "sdx.yaml"))).code).toBe("SDX_FILE_NOT_REGULAR");
    expect(thrown(() => readRegularFile("/dev/zero")).code).toBe("SDX_FILE_NOT_REGULAR");
    expect(thrown(() => readRegularFile(app)).code).toBe("SDX_FILE_NOT_REGULAR");
  });

  it("caps the app file at 4 MiB with SDX_LIMIT_EXCEEDED and reports a missing one as SDX_LOAD", () => {
    const { app } = tree();
    writeFileSync(join(app, "big.yaml"), "");
    truncateSync(join(app, "big.yaml"), MAX_APP_FILE_BYTES + 1);
    expect(thrown(() => readRegularFile(join(app, "big.yaml")))).toMatchObject({ code: "SDX_LIMIT_EXCEEDED", message: expect.stringContaining("4 MiB") });
    expect(thrown(() => readRegularFile(join(app, "nope.yaml")))).toMatchObject({ code: "SDX_LOAD", message: expect.stringContaining("does not exist") });
    expect(readRegularFile(join(app, "a.txt"))).toBe("inside\n");
  });
});
