import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync, type Stats } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { SdxError } from "../errors/sdx-error.js";
import { LIMITS } from "../model/limits.js";

/** Largest file or secret sdx reads for an app (`files[].fromFile`, `secrets.*.fromFile`, Compose `env_file`, ...): 1 MiB. Backends may allow less. */
export const MAX_FILE_BYTES: number = LIMITS.fileBytes;

/** Largest app file (sdx.yaml, sdx.json, a Compose or Score file) sdx reads: 4 MiB. */
export const MAX_APP_FILE_BYTES: number = LIMITS.appFileBytes;

/** Where user-named files may come from. */
export interface FileAccess {
  /** The app file's directory: relative paths resolve against it, and every file must resolve (symlinks followed) inside it. */
  readonly baseDir: string;
  /**
   * More directories files may come from (the `--allow-outside` opt-out), absolute or
   * relative to `baseDir`. Each is resolved with symlinks followed. /proc, /sys and
   * /dev are never allowed.
   * @default []
   */
  readonly allowOutside?: readonly string[];
}

/** Options for {@link readContainedText}, {@link readContainedBytes} and {@link statContainedFile}. */
export interface ReadContainedFileOptions extends FileAccess {
  /** Largest size accepted, in bytes; never more than this plus one byte is read. @default MAX_FILE_BYTES */
  readonly maxBytes?: number;
  /** What the file is, for messages, e.g. "secret file". @default "file" */
  readonly what?: string;
}

/** A file that passed the checks, not yet read. */
export interface ContainedFileInfo {
  /** The path with every symlink resolved. */
  readonly resolved: string;
  readonly bytes: number;
}

// Pseudo-filesystems: their "regular" files lie about their size and can hold the
// process's environment (/proc/self/environ), so they are never read, allowed or not.
const PSEUDO_ROOTS = ["/proc", "/sys", "/dev"] as const;
const isPseudo = (p: string): boolean => process.platform !== "win32" && PSEUDO_ROOTS.some((r) => p === r || p.startsWith(`${r}/`));

const isInside = (dir: string, p: string): boolean => {
  const rel = relative(dir, p);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
};

// O_NONBLOCK: opening a FIFO must not wait for a writer. O_NOFOLLOW: the path was
// already resolved, so a symlink there now was swapped in after the check.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0) | (constants.O_NOFOLLOW ?? 0);

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

function realOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** Formats a byte count the way limits are documented: "1 MiB", "500 KiB", "4096 bytes". */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB (${n} bytes)`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB (${n} bytes)`;
  return `${n} bytes`;
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO (named pipe)";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

const where = (written: string, resolved: string): string => (resolved === written ? `"${written}"` : `"${written}" (resolved to ${resolved})`);

function unreadable(what: string, written: string, resolved: string, e: unknown, code = "SDX_FILE_UNREADABLE"): SdxError {
  const c = errno(e);
  const why = c === "ENOENT" || c === "ENOTDIR" ? "does not exist" : c === "EACCES" || c === "EPERM" ? "is not readable (permission denied)" : c === "ELOOP" ? "is a symlink loop, or was replaced by a symlink while being read" : `cannot be read (${c ?? "error"})`;
  return new SdxError(code, `${what} ${where(written, resolved)} ${why}`, {
    fault: "user", cause: e, hint: "Paths are relative to the app file's directory; check that the file exists and is readable.", details: { path: written, resolved },
  });
}

function notRegular(what: string, written: string, resolved: string, kind: string): SdxError {
  return new SdxError("SDX_FILE_NOT_REGULAR", `${what} ${where(written, resolved)} is ${kind}; sdx reads only regular files`, {
    fault: "user", hint: "Point it at a regular file inside the app's directory (not a FIFO, device, socket, directory, or anything under /proc, /sys or /dev).", details: { path: written, resolved },
  });
}

function tooLarge(what: string, written: string, resolved: string, max: number, code: string): SdxError {
  return new SdxError(code, `${what} ${where(written, resolved)} is larger than ${formatBytes(max)}, the most sdx reads`, {
    fault: "user", hint: "Make it smaller; large content belongs in the image or a volume, not in a config file or secret.", details: { path: written, resolved, limitBytes: max },
  });
}

/** The directories a file may be in: the app directory and each allowed one, symlinks resolved. */
function rootsOf(access: FileAccess): { appDir: string; roots: string[] } {
  const appDir = realOrSelf(resolve(access.baseDir));
  const roots = [appDir];
  for (const d of access.allowOutside ?? []) {
    const real = realOrSelf(resolve(appDir, d));
    if (!isPseudo(real)) roots.push(real);
  }
  return { appDir, roots };
}

/**
 * Resolves a user-named path against the app directory with every symlink
 * followed and checks that it stays inside (or inside an allowed directory).
 * Throws `SDX_PATH_OUTSIDE_APP`, `SDX_FILE_NOT_REGULAR` (under /proc, /sys,
 * /dev) or `SDX_FILE_UNREADABLE`. For paths that are not read by sdx itself
 * (bind mounts), the same rule without opening anything.
 */
export function resolveContainedPath(path: string, access: FileAccess, what = "file"): string {
  if (path.includes("\0")) {
    throw new SdxError("SDX_INVALID_ENCODING", `${what} path ${JSON.stringify(path)} contains a NUL byte`, { fault: "user", hint: "Remove the NUL byte from the path.", details: { path } });
  }
  const { appDir, roots } = rootsOf(access);
  const lexical = resolve(appDir, path);
  let real: string;
  try {
    real = realpathSync(lexical);
  } catch (e) {
    // A missing file is judged by where it would be, so a path outside says so
    // whether or not it exists (no probing the host for files).
    if (isPseudo(lexical)) throw notRegular(what, path, lexical, "under a pseudo-filesystem");
    if (!roots.some((r) => isInside(r, lexical))) throw outside(what, path, lexical, appDir);
    throw unreadable(what, path, lexical, e);
  }
  if (isPseudo(real)) throw notRegular(what, path, real, `under ${PSEUDO_ROOTS.find((r) => real === r || real.startsWith(`${r}/`))}, a pseudo-filesystem`);
  if (!roots.some((r) => isInside(r, real))) throw outside(what, path, real, appDir);
  return real;
}

function outside(what: string, written: string, resolved: string, appDir: string): SdxError {
  const dir = resolve(resolved, "..");
  return new SdxError("SDX_PATH_OUTSIDE_APP", `${what} ${where(written, resolved)} is outside the app directory ${appDir}`, {
    fault: "user",
    hint: `Move the file into ${appDir} and use a relative path, or, if reading ${dir} is intended, opt out with --allow-outside ${dir} (API: allowOutside: [${JSON.stringify(dir)}]).`,
    details: { path: written, resolved, appDir },
  });
}

interface Opened {
  readonly fd: number;
  readonly size: number;
}

/** Opens a resolved path for reading after checking, on the open descriptor, that it is a regular file of at most `max` bytes. */
function openRegular(written: string, real: string, what: string, max: number, tooLargeCode: string, unreadableCode?: string): Opened {
  if (isPseudo(real)) throw notRegular(what, written, real, "under a pseudo-filesystem");
  let before: Stats;
  try {
    before = statSync(real);
  } catch (e) {
    throw unreadable(what, written, real, e, unreadableCode);
  }
  // Refused before opening: opening a device can have side effects.
  if (!before.isFile()) throw notRegular(what, written, real, kindOf(before));
  let fd: number;
  try {
    fd = openSync(real, OPEN_FLAGS);
  } catch (e) {
    throw unreadable(what, written, real, e, unreadableCode);
  }
  try {
    // Checked again on the descriptor: the path may have been swapped since.
    const st = fstatSync(fd);
    if (!st.isFile()) throw notRegular(what, written, real, kindOf(st));
    if (st.dev !== before.dev || st.ino !== before.ino) throw unreadable(what, written, real, Object.assign(new Error("changed while being read"), { code: "ELOOP" }), unreadableCode);
    if (st.size > max) throw tooLarge(what, written, real, max, tooLargeCode);
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** Reads at most `max + 1` bytes: a file that grows past its stat size, or lies about it, still stops there. */
function readCapped(o: Opened, written: string, real: string, what: string, max: number, tooLargeCode: string): Buffer {
  try {
    const buf = Buffer.allocUnsafe(Math.min(max + 1, Math.max(o.size + 1, 64 * 1024)));
    let chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const n = readSync(o.fd, buf, 0, Math.min(buf.length, max + 1 - total), null);
      if (n === 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
      total += n;
      if (total > max) throw tooLarge(what, written, real, max, tooLargeCode);
    }
    const out = Buffer.concat(chunks, total);
    chunks = [];
    return out;
  } catch (e) {
    if (e instanceof SdxError) throw e;
    // EAGAIN: a non-blocking descriptor that is not a plain file after all.
    throw unreadable(what, written, real, e);
  } finally {
    closeSync(o.fd);
  }
}

/** Decodes UTF-8 strictly: NUL bytes and invalid sequences are refused with `SDX_INVALID_ENCODING`. */
export function decodeUtf8Strict(bytes: Uint8Array, what: string, written: string, resolved = written): string {
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    throw new SdxError("SDX_INVALID_ENCODING", `${what} ${where(written, resolved)} contains a NUL byte (at byte ${nul}); sdx reads it as UTF-8 text`, {
      fault: "user", hint: "Save it as UTF-8 text. Binary content belongs in a secret (fromFile) or the image.", details: { path: written, resolved, offset: nul },
    });
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (e) {
    throw new SdxError("SDX_INVALID_ENCODING", `${what} ${where(written, resolved)} is not valid UTF-8`, {
      fault: "user", cause: e, hint: "Save it as UTF-8 text (e.g. iconv -f latin1 -t utf-8).", details: { path: written, resolved },
    });
  }
}

/**
 * Checks a user-named file without reading it: inside the app directory (or an
 * allowed one), a regular file, at most `maxBytes`. Returns where it resolved
 * and its size. Throws the same `SdxError`s as {@link readContainedBytes}.
 */
export function statContainedFile(path: string, options: ReadContainedFileOptions): ContainedFileInfo {
  const what = options.what ?? "file";
  const max = options.maxBytes ?? MAX_FILE_BYTES;
  const real = resolveContainedPath(path, options, what);
  const o = openRegular(path, real, what, max, "SDX_FILE_TOO_LARGE");
  closeSync(o.fd);
  return { resolved: real, bytes: o.size };
}

/**
 * The one way sdx reads a file named in an app (binary form, e.g. a secret):
 * resolved against the app directory with symlinks followed, refused when it
 * leaves that directory (`SDX_PATH_OUTSIDE_APP`) unless an allowed directory
 * holds it, refused unless it is a regular file (`SDX_FILE_NOT_REGULAR`; FIFOs
 * never block), and read only up to `maxBytes` (`SDX_FILE_TOO_LARGE`).
 */
export function readContainedBytes(path: string, options: ReadContainedFileOptions): Buffer {
  return readContained(path, options).bytes;
}

function readContained(path: string, options: ReadContainedFileOptions): { bytes: Buffer; real: string; what: string } {
  const what = options.what ?? "file";
  const max = options.maxBytes ?? MAX_FILE_BYTES;
  const real = resolveContainedPath(path, options, what);
  return { bytes: readCapped(openRegular(path, real, what, max, "SDX_FILE_TOO_LARGE"), path, real, what, max, "SDX_FILE_TOO_LARGE"), real, what };
}

/** {@link readContainedBytes} for text: strict UTF-8 without NUL bytes (`SDX_INVALID_ENCODING`). */
export function readContainedText(path: string, options: ReadContainedFileOptions): string {
  const r = readContained(path, options);
  return decodeUtf8Strict(r.bytes, r.what, path, r.real);
}

/** A `readFile` callback for {@link validateApp} and the importers: text files, contained in `access`. */
export function containedTextReader(access: FileAccess, what = "file"): (path: string) => string {
  return (p) => readContainedText(p, { ...access, what });
}

/** Options for {@link readRegularFile}. */
export interface ReadRegularFileOptions {
  /** @default MAX_APP_FILE_BYTES */
  readonly maxBytes?: number;
  /** @default "app file" */
  readonly what?: string;
  /** Code when the file is over `maxBytes`. @default "SDX_LIMIT_EXCEEDED" */
  readonly tooLargeCode?: string;
  /** Code when the file is missing or unreadable. @default "SDX_LOAD" */
  readonly unreadableCode?: string;
}

/**
 * Reads the app file itself (which defines the app directory, so it is not
 * contained): a regular file only, at most `maxBytes`, strict UTF-8. A FIFO or
 * `/dev/zero` is refused at once instead of hanging.
 */
export function readRegularFile(file: string, options: ReadRegularFileOptions = {}): string {
  const what = options.what ?? "app file";
  const max = options.maxBytes ?? MAX_APP_FILE_BYTES;
  const tooLargeCode = options.tooLargeCode ?? "SDX_LIMIT_EXCEEDED";
  const unreadableCode = options.unreadableCode ?? "SDX_LOAD";
  const abs = resolve(file);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch (e) {
    throw unreadable(what, file, abs, e, unreadableCode);
  }
  const o = openRegular(file, real, what, max, tooLargeCode, unreadableCode);
  return decodeUtf8Strict(readCapped(o, file, real, what, max, tooLargeCode), what, file, real);
}
