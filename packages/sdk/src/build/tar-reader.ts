import { open } from "node:fs/promises";
import { SdxError } from "../errors/sdx-error.js";

/** One entry of a tar archive as {@link readTar} reads it back. */
export interface TarReadEntry {
  /** The path, from a PAX `path` record when there is one, else ustar prefix + name. */
  readonly path: string;
  /** The raw typeflag, e.g. "0" (file), "5" (directory), "2" (symlink). */
  readonly type: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly uname: string;
  readonly gname: string;
  readonly mtime: number;
  readonly size: number;
  readonly linkname: string;
  /** The PAX records that applied to this entry (empty when ustar held everything). */
  readonly pax: Readonly<Record<string, string>>;
  readonly content: Uint8Array;
}

const BLOCK = 512;
const decoder = new TextDecoder();

function str(h: Uint8Array, off: number, len: number): string {
  const field = h.subarray(off, off + len);
  const nul = field.indexOf(0);
  return decoder.decode(nul === -1 ? field : field.subarray(0, nul));
}

function num(h: Uint8Array, off: number, len: number): number {
  const s = str(h, off, len).trim();
  return s === "" ? 0 : Number.parseInt(s, 8);
}

function malformed(why: string): SdxError {
  return new SdxError("SDX_BUILD_BAD_TAR", `Malformed tar archive: ${why}`, { fault: "backend", hint: "The archive is truncated or not a tar file; download it again." });
}

function checksumOk(h: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum === num(h, 148, 8);
}

function parsePax(body: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  while (off < body.length) {
    const sp = body.indexOf(0x20, off);
    if (sp === -1) throw malformed("bad PAX record");
    const len = Number.parseInt(decoder.decode(body.subarray(off, sp)), 10);
    if (!Number.isSafeInteger(len) || len <= 0 || off + len > body.length) throw malformed("bad PAX record length");
    const rec = decoder.decode(body.subarray(sp + 1, off + len - 1));
    const eq = rec.indexOf("=");
    if (eq === -1) throw malformed("bad PAX record");
    out[rec.slice(0, eq)] = rec.slice(eq + 1);
    off += len;
  }
  return out;
}

/** What one ustar header block says: an entry's fields before PAX records and long names apply. */
type Header = Omit<TarReadEntry, "path" | "pax" | "content"> & { readonly name: string };

function parseHeader(h: Uint8Array): Header {
  if (!checksumOk(h)) throw malformed("header checksum mismatch");
  const prefix = str(h, 345, 155);
  const name = str(h, 0, 100);
  return {
    name: prefix === "" ? name : `${prefix}/${name}`,
    type: str(h, 156, 1) || "0",
    mode: num(h, 100, 8),
    uid: num(h, 108, 8),
    gid: num(h, 116, 8),
    uname: str(h, 265, 32),
    gname: str(h, 297, 32),
    mtime: num(h, 136, 12),
    size: num(h, 124, 12),
    linkname: str(h, 157, 100),
  };
}

const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

/**
 * Parses a whole tar archive in memory (ustar, PAX `x`/`g` and GNU `L`/`K` long
 * names). Used to check archives sdx writes and to read small ones it downloads.
 */
export function readTar(bytes: Uint8Array): TarReadEntry[] {
  const out: TarReadEntry[] = [];
  let off = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  while (off + BLOCK <= bytes.length) {
    const block = bytes.subarray(off, off + BLOCK);
    if (isZero(block)) break;
    const h = parseHeader(block);
    const size = h.type === "x" || h.type === "L" || h.type === "K" ? h.size : Number(pax.size ?? h.size);
    const content = bytes.subarray(off + BLOCK, off + BLOCK + size);
    if (content.length !== size) throw malformed("truncated entry");
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (h.type === "x") {
      pax = { ...pax, ...parsePax(content) };
      continue;
    }
    if (h.type === "g") continue;
    if (h.type === "L" || h.type === "K") {
      const v = str(content, 0, content.length);
      if (h.type === "L") longName = v;
      else longLink = v;
      continue;
    }
    out.push({
      ...h,
      path: pax.path ?? longName ?? h.name,
      linkname: pax.linkpath ?? longLink ?? h.linkname,
      size,
      pax,
      content: content.slice(),
    });
    pax = {};
    longName = undefined;
    longLink = undefined;
  }
  return out;
}

/** Pulls exact byte counts out of a chunk stream. */
class ByteReader {
  private buf: Uint8Array = new Uint8Array(0);
  private readonly it: AsyncIterator<Uint8Array>;
  constructor(chunks: AsyncIterable<Uint8Array>) {
    this.it = chunks[Symbol.asyncIterator]();
  }

  /** Up to `n` buffered-or-next bytes; empty at the end of the stream. */
  async some(n: number): Promise<Uint8Array> {
    if (this.buf.length === 0) {
      const r = await this.it.next();
      if (r.done === true) return new Uint8Array(0);
      this.buf = r.value;
    }
    const take = this.buf.subarray(0, Math.min(n, this.buf.length));
    this.buf = this.buf.subarray(take.length);
    return take;
  }

  async exact(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const c = await this.some(n - off);
      if (c.length === 0) throw malformed("unexpected end of archive");
      out.set(c, off);
      off += c.length;
    }
    return out;
  }

  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      const c = await this.some(left);
      if (c.length === 0) throw malformed("unexpected end of archive");
      left -= c.length;
    }
  }

  async return(): Promise<void> {
    await this.it.return?.();
  }
}

/** What {@link extractTarFile} found. */
export interface ExtractedTarFile {
  readonly size: number;
  readonly mode: number;
}

/**
 * Streams a tar archive and writes the one regular file at `path` to `dest`
 * (created with mode 0o700), without holding the archive in memory. Returns
 * undefined when the archive has no such regular file. Files larger than
 * `maxBytes` are refused.
 */
export async function extractTarFile(chunks: AsyncIterable<Uint8Array>, path: string, dest: string, maxBytes: number): Promise<ExtractedTarFile | undefined> {
  const r = new ByteReader(chunks);
  try {
    let pax: Record<string, string> = {};
    let longName: string | undefined;
    for (;;) {
      const first = await r.some(BLOCK);
      if (first.length === 0) return undefined;
      const block = first.length === BLOCK ? first : concat2(first, await r.exact(BLOCK - first.length));
      if (isZero(block)) return undefined;
      const h = parseHeader(block);
      const meta = h.type === "x" || h.type === "L" || h.type === "g";
      const size = meta ? h.size : Number(pax.size ?? h.size);
      const pad = Math.ceil(size / BLOCK) * BLOCK - size;
      if (meta) {
        if (size > 1024 * 1024) throw malformed("oversized extended header");
        const body = await r.exact(size);
        await r.skip(pad);
        if (h.type === "x") pax = { ...pax, ...parsePax(body) };
        if (h.type === "L") longName = str(body, 0, body.length);
        continue;
      }
      const name = pax.path ?? longName ?? h.name;
      pax = {};
      longName = undefined;
      if (name !== path || (h.type !== "0" && h.type !== "7")) {
        await r.skip(size + pad);
        continue;
      }
      if (size > maxBytes) throw malformed(`${path} is ${size} bytes, more than the ${maxBytes} accepted`);
      const fh = await open(dest, "w", 0o700);
      try {
        let left = size;
        while (left > 0) {
          const c = await r.some(Math.min(left, 1024 * 1024));
          if (c.length === 0) throw malformed("unexpected end of archive");
          await fh.write(c);
          left -= c.length;
        }
      } finally {
        await fh.close();
      }
      return { size, mode: h.mode };
    }
  } finally {
    await r.return();
  }
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
