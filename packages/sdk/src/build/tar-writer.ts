import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { open } from "node:fs/promises";
import { SdxError } from "../errors/sdx-error.js";

/**
 * One thing to put in a tar archive. Paths are relative, `/`-separated, without a
 * leading `/` or `./`, and without `.`/`..` segments (e.g. `app/server.js`).
 */
export type TarEntry = TarFileEntry | TarDirEntry | TarSymlinkEntry;

/** A regular file, from memory (`bytes`) or from disk (`source`, read when the archive is written). */
export type TarFileEntry = TarBytesFileEntry | TarSourceFileEntry;

/**
 * Metadata kept as given instead of normalised, for root filesystems (a base
 * image's `/tmp` must stay 1777, a home directory its owner's). App layers leave
 * these unset.
 */
export interface TarEntryMetadata {
  /** Permission bits including setuid/setgid/sticky (at most 0o7777). @default normalised per kind */
  readonly mode?: number;
  /** @default 0 */
  readonly uid?: number;
  /** @default 0 */
  readonly gid?: number;
}

/** A regular file whose content is in memory. */
export interface TarBytesFileEntry extends TarEntryMetadata {
  readonly kind: "file";
  readonly path: string;
  readonly bytes: Uint8Array;
  /** Mode 0755 instead of 0644. @default false */
  readonly executable?: boolean;
}

/** A regular file read from disk while the archive is written. */
export interface TarSourceFileEntry extends TarEntryMetadata {
  readonly kind: "file";
  readonly path: string;
  /** Absolute path on the host; opened without following a symlink there. */
  readonly source: string;
  /**
   * Size seen when the file was collected. The archive header is written before the
   * content, so a file that changed size since is refused (`SDX_BUILD_CONTEXT_CHANGED`)
   * rather than archived torn.
   */
  readonly size: number;
  /** Mode 0755 instead of 0644. @default false */
  readonly executable?: boolean;
}

/** A directory (mode 0755). */
export interface TarDirEntry extends TarEntryMetadata {
  readonly kind: "dir";
  readonly path: string;
}

/** A symbolic link (mode 0777); `target` is stored as given. */
export interface TarSymlinkEntry extends TarEntryMetadata {
  readonly kind: "symlink";
  readonly path: string;
  readonly target: string;
}

/** Options for {@link writeTar} and {@link tarChunks}. */
export interface WriteTarOptions {
  /** Modification time of every entry, in seconds since 1970. @default 0 */
  readonly epoch?: number;
}

const BLOCK = 512;
/** Largest size and mtime a ustar header holds: 11 octal digits. */
const USTAR_MAX_NUMBER = 0o77777777777;
const CHUNK = 1024 * 1024;
const encoder = new TextEncoder();

const utf8 = (s: string): Uint8Array => encoder.encode(s);

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function invalidPath(path: string, why: string): SdxError {
  return new SdxError("SDX_BUILD_INVALID_PATH", `Archive path ${JSON.stringify(path)} ${why}`, {
    fault: "internal", hint: "Archive paths are relative, '/'-separated, with no '.' or '..' segments; this is a bug in the caller of writeTar.", details: { path },
  });
}

/** Octal fields of 8 bytes hold 7 digits. */
const MAX_ID = 0o7777777;

function checkMetadata(e: TarEntry): void {
  const bad = (what: string, v: number, max: number) => !Number.isSafeInteger(v) || v < 0 || v > max
    ? new SdxError("SDX_BUILD_INVALID_PATH", `Archive entry ${JSON.stringify(e.path)} has ${what} ${v}, outside 0..${max.toString(8)} (octal)`, { fault: "internal", hint: "This is a bug in the caller of writeTar.", details: { path: e.path } })
    : undefined;
  const err = (e.mode !== undefined ? bad("mode", e.mode, 0o7777) : undefined) ?? (e.uid !== undefined ? bad("uid", e.uid, MAX_ID) : undefined) ?? (e.gid !== undefined ? bad("gid", e.gid, MAX_ID) : undefined);
  if (err) throw err;
}

/** Checks that `path` is a clean relative archive path and returns it without a trailing `/`. */
export function checkTarPath(path: string): string {
  const p = path.endsWith("/") ? path.slice(0, -1) : path;
  if (p === "") throw invalidPath(path, "is empty");
  if (p.includes("\0")) throw invalidPath(path, "contains a NUL byte");
  if (p.startsWith("/")) throw invalidPath(path, "is absolute");
  for (const seg of p.split("/")) {
    if (seg === "" || seg === "." || seg === "..") throw invalidPath(path, `has a ${seg === "" ? "empty" : JSON.stringify(seg)} segment`);
  }
  return p;
}

/**
 * The entries as they are archived: paths checked, every missing parent directory
 * added, duplicates refused (a directory named twice is kept once), sorted by the
 * UTF-8 bytes of the path so the order never depends on how the caller listed them.
 */
export function normalizeTarEntries(entries: readonly TarEntry[]): TarEntry[] {
  const byPath = new Map<string, TarEntry>();
  for (const e of entries) {
    const path = checkTarPath(e.path);
    checkMetadata(e);
    const prev = byPath.get(path);
    if (prev !== undefined) {
      if (prev.kind === "dir" && e.kind === "dir") continue;
      throw new SdxError("SDX_BUILD_DUPLICATE_PATH", `Archive path ${JSON.stringify(path)} is listed twice (${prev.kind} and ${e.kind})`, {
        fault: "internal", hint: "Each path may appear once in a layer; this is a bug in the caller of writeTar.", details: { path },
      });
    }
    byPath.set(path, { ...e, path } as TarEntry);
  }
  for (const path of [...byPath.keys()]) {
    let i = path.lastIndexOf("/");
    while (i > 0) {
      const parent = path.slice(0, i);
      const existing = byPath.get(parent);
      if (existing !== undefined && existing.kind !== "dir") {
        throw new SdxError("SDX_BUILD_DUPLICATE_PATH", `Archive path ${JSON.stringify(parent)} is a ${existing.kind} but ${JSON.stringify(path)} is inside it`, {
          fault: "internal", hint: "A file or symlink cannot also be a directory; this is a bug in the caller of writeTar.", details: { path: parent },
        });
      }
      if (existing !== undefined) break;
      byPath.set(parent, { kind: "dir", path: parent });
      i = parent.lastIndexOf("/");
    }
  }
  const keyed = [...byPath.values()].map((e) => ({ e, k: utf8(e.path) }));
  keyed.sort((a, b) => compareBytes(a.k, b.k));
  return keyed.map((x) => x.e);
}

/** Writes `value` as zero-padded octal filling `width - 1` digits and a NUL. */
function octal(buf: Uint8Array, offset: number, width: number, value: number): void {
  const s = value.toString(8).padStart(width - 1, "0");
  buf.set(utf8(s), offset);
  buf[offset + width - 1] = 0;
}

const isAscii = (s: string): boolean => /^[\x20-\x7e]*$/.test(s);

/**
 * Splits a name into ustar's prefix (155 bytes) and name (100 bytes) at a `/`,
 * or returns undefined when it does not fit (or is not printable ASCII, which
 * tar readers decode inconsistently without a PAX `path` record).
 */
function ustarName(name: string): { name: string; prefix: string } | undefined {
  if (!isAscii(name)) return undefined;
  if (name.length <= 100) return { name, prefix: "" };
  // Rightmost split that fits; the name part must not be empty.
  // A directory's trailing `/` stays with the name part.
  for (let i = name.lastIndexOf("/", name.length - 2); i > 0; i = name.lastIndexOf("/", i - 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (prefix.length <= 155 && rest.length <= 100 && rest.length > 0) return { name: rest, prefix };
    if (prefix.length <= 155) return undefined;
  }
  return undefined;
}

/** One PAX record, `"<len> key=value\n"`, whose length counts its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLen = utf8(body).length;
  let digits = 1;
  while (String(bodyLen + digits).length !== digits) digits++;
  return `${bodyLen + digits}${body}`;
}

interface HeaderFields {
  readonly name: string;
  readonly prefix: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: number;
  readonly typeflag: string;
  readonly linkname: string;
}

function header(f: HeaderFields): Uint8Array {
  const h = new Uint8Array(BLOCK);
  h.set(utf8(f.name), 0);
  octal(h, 100, 8, f.mode);
  octal(h, 108, 8, f.uid);
  octal(h, 116, 8, f.gid);
  octal(h, 124, 12, f.size);
  octal(h, 136, 12, f.mtime);
  h.set(utf8(f.typeflag), 156);
  h.set(utf8(f.linkname), 157);
  h.set(utf8("ustar\0"), 257);
  h.set(utf8("00"), 263);
  // uname (265) and gname (297) stay empty: ids alone, so no user database matters.
  octal(h, 329, 8, 0); // devmajor
  octal(h, 337, 8, 0); // devminor
  h.set(utf8(f.prefix), 345);
  // Checksum: byte sum with the field itself counted as eight spaces.
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.set(utf8(sum.toString(8).padStart(6, "0")), 148);
  h[154] = 0;
  h[155] = 0x20;
  return h;
}

function modeOf(e: TarEntry): number {
  if (e.mode !== undefined) return e.mode;
  if (e.kind === "dir") return 0o755;
  if (e.kind === "symlink") return 0o777;
  return e.executable === true ? 0o755 : 0o644;
}

function sizeOf(e: TarEntry): number {
  if (e.kind !== "file") return 0;
  return "bytes" in e ? e.bytes.length : e.size;
}

function checkEpoch(epoch: number): number {
  if (!Number.isSafeInteger(epoch) || epoch < 0 || epoch > USTAR_MAX_NUMBER) {
    throw new SdxError("SDX_BUILD_INVALID_EPOCH", `Archive timestamp ${epoch} is not a whole number of seconds between 0 and ${USTAR_MAX_NUMBER}`, {
      fault: "user", hint: "Set SOURCE_DATE_EPOCH (or the epoch option) to a Unix time in whole seconds, e.g. the last commit's: git log -1 --format=%ct.", details: { epoch },
    });
  }
  return epoch;
}

/**
 * The header block(s) of one entry: a ustar header, preceded by a PAX extended
 * header only when ustar cannot hold the path, link target or size.
 */
export function tarHeaderBlocks(e: TarEntry, epoch: number): Uint8Array {
  const archived = e.kind === "dir" ? `${e.path}/` : e.path;
  const size = sizeOf(e);
  const linkname = e.kind === "symlink" ? e.target : "";
  const records: string[] = [];
  let names = ustarName(archived);
  if (names === undefined) {
    records.push(paxRecord("path", archived));
    // A fallback name for readers that ignore PAX: printable and short.
    names = { name: archived.replace(/[^\x20-\x7e]/g, "_").slice(-100), prefix: "" };
  }
  let link = linkname;
  if (linkname.length > 0 && (!isAscii(linkname) || linkname.length > 100)) {
    records.push(paxRecord("linkpath", linkname));
    link = linkname.replace(/[^\x20-\x7e]/g, "_").slice(0, 100);
  }
  let ustarSize = size;
  if (size > USTAR_MAX_NUMBER) {
    records.push(paxRecord("size", String(size)));
    ustarSize = 0;
  }
  const main = header({ ...names, mode: modeOf(e), uid: e.uid ?? 0, gid: e.gid ?? 0, size: ustarSize, mtime: epoch, typeflag: e.kind === "dir" ? "5" : e.kind === "symlink" ? "2" : "0", linkname: link });
  if (records.length === 0) return main;
  const body = utf8(records.join(""));
  const pax = header({ name: "PaxHeader", prefix: "", mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: epoch, typeflag: "x", linkname: "" });
  const out = new Uint8Array(BLOCK + padded(body.length) + BLOCK);
  out.set(pax, 0);
  out.set(body, BLOCK);
  out.set(main, BLOCK + padded(body.length));
  return out;
}

const padded = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;

// O_NOFOLLOW: a collected file replaced by a symlink since must not be followed out of the context.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

function changed(e: TarSourceFileEntry, now: number | string): SdxError {
  return new SdxError("SDX_BUILD_CONTEXT_CHANGED", `${e.source} changed while the image was being built (${typeof now === "number" ? `${e.size} bytes when listed, ${now} now` : now})`, {
    fault: "user", hint: "Stop whatever writes to the build context (a watcher, a running build) and build again.", details: { path: e.source },
  });
}

function unreadableSource(e: TarSourceFileEntry, cause: unknown): SdxError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ELOOP" || code === "ENOENT") return changed(e, code === "ELOOP" ? "it is now a symlink" : "it no longer exists");
  return new SdxError("SDX_FILE_UNREADABLE", `${e.source} cannot be read (${code ?? "error"})`, {
    fault: "user", cause, hint: "Make the file readable by the user running sdx, or exclude it from the build context.", details: { path: e.source },
  });
}

/** Reads a source file whole, checking that it still is the regular file of the listed size. */
function readSourceSync(e: TarSourceFileEntry): Uint8Array {
  let fd: number;
  try {
    fd = openSync(e.source, OPEN_FLAGS);
  } catch (err) {
    throw unreadableSource(e, err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw changed(e, "it is no longer a regular file");
    if (st.size !== e.size) throw changed(e, st.size);
    const out = new Uint8Array(e.size);
    let off = 0;
    while (off < e.size) {
      const n = readSync(fd, out, off, e.size - off, null);
      if (n === 0) throw changed(e, off);
      off += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/**
 * A deterministic POSIX (ustar + PAX) tar archive of `entries`, in memory.
 * Entries are sorted by path bytes and every parent directory is present; owner
 * 0:0 with empty user and group names; modes 0755 (directories, executables),
 * 0644 (other files), 0777 (symlinks) unless an entry sets its own metadata
 * ({@link TarEntryMetadata}); one mtime (`epoch`) for everything; PAX
 * headers only where ustar cannot hold a path, link target or size; two zero
 * blocks at the end. The same entries and epoch always give the same bytes.
 * For large archives prefer {@link tarChunks}.
 */
export function writeTar(entries: readonly TarEntry[], options: WriteTarOptions = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const p of tarParts(entries, options)) parts.push(p instanceof Uint8Array ? p : readSourceSync(p));
  return concat(parts);
}

/** The archive {@link writeTar} makes, as chunks, reading files from disk as it goes. */
export async function* tarChunks(entries: readonly TarEntry[], options: WriteTarOptions = {}): AsyncGenerator<Uint8Array> {
  for (const p of tarParts(entries, options)) {
    if (p instanceof Uint8Array) {
      yield p;
      continue;
    }
    yield* readSourceChunks(p);
  }
}

async function* readSourceChunks(e: TarSourceFileEntry): AsyncGenerator<Uint8Array> {
  let fh;
  try {
    fh = await open(e.source, OPEN_FLAGS);
  } catch (err) {
    throw unreadableSource(e, err);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw changed(e, "it is no longer a regular file");
    if (st.size !== e.size) throw changed(e, st.size);
    let off = 0;
    while (off < e.size) {
      const buf = new Uint8Array(Math.min(CHUNK, e.size - off));
      const { bytesRead } = await fh.read(buf, 0, buf.length, off);
      if (bytesRead === 0) throw changed(e, off);
      off += bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** Headers, in-memory content and padding as bytes; file content from disk as the entry to read. */
function* tarParts(entries: readonly TarEntry[], options: WriteTarOptions): Generator<Uint8Array | TarSourceFileEntry> {
  const epoch = checkEpoch(options.epoch ?? 0);
  for (const e of normalizeTarEntries(entries)) {
    yield tarHeaderBlocks(e, epoch);
    if (e.kind !== "file") continue;
    const size = sizeOf(e);
    if ("bytes" in e) yield e.bytes;
    else yield e;
    if (size % BLOCK !== 0) yield new Uint8Array(BLOCK - (size % BLOCK));
  }
  yield new Uint8Array(2 * BLOCK);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
