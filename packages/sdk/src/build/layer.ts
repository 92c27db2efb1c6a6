import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createDeflateRaw, crc32 } from "node:zlib";
import { throwIfAborted } from "../errors/sdx-error.js";
import type { Descriptor } from "../image/pull-image.js";
import type { PushableBlob } from "../image/push-image.js";
import { tarChunks, type TarEntry } from "./tar-writer.js";

/** OCI media type of a gzip-compressed tar layer (image-spec `media-types.md`). */
export const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";

/** Which part of the image a layer holds; base layers come from the pulled base. */
export type LayerRole = "base" | "runtime" | "dependencies" | "app";

/**
 * Compression level of every layer sdx writes. Fixed because the level is part of
 * the bytes: a different level is a different digest for the same files.
 */
export const LAYER_GZIP_LEVEL = 6;

/** A layer ready to push: a {@link PushableBlob} with the digest of its uncompressed tar. */
export interface BuiltLayer extends PushableBlob {
  readonly role: LayerRole;
  /** `sha256:` of the uncompressed tar: what `rootfs.diff_ids` lists. */
  readonly diffId: string;
  readonly descriptor: Descriptor;
  /** The gzip bytes, when kept in memory. */
  readonly bytes?: Uint8Array;
  /** The gzip file, when written to disk (then {@link BuiltLayer.open} streams it). */
  readonly file?: string;
}

/** Options for {@link createLayer}. */
export interface CreateLayerOptions {
  /** Modification time of every entry, in seconds since 1970. */
  readonly epoch: number;
  readonly role: LayerRole;
  /**
   * Write the gzip to `<blobDir>/sha256/<hex>` instead of keeping it in memory
   * (dependency and runtime layers run to tens of MB). @default undefined (memory)
   */
  readonly blobDir?: string;
  readonly signal?: AbortSignal;
}

/**
 * The fixed gzip header (RFC 1952): no file name, mtime 0, XFL 0 and OS 255
 * ("unknown"). zlib's own header records the build platform's OS code, which would
 * make the same layer hash differently when built on macOS and on Linux.
 */
const GZIP_HEADER = Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

/** What {@link gzipDeterministic} reports about its input. */
interface RawTotals {
  /** sha256 hex of the uncompressed input. */
  readonly sha256: string;
  readonly size: number;
}

/**
 * gzip of a chunk stream with a fixed header and level, handed chunk by chunk
 * to `sink` (awaited: backpressure). zlib's deflate output does not depend on
 * how the input is chunked, so streamed and in-memory compression agree.
 */
async function gzipDeterministic(input: AsyncIterable<Uint8Array>, sink: (chunk: Uint8Array) => Promise<void> | void, signal?: AbortSignal): Promise<RawTotals> {
  const rawHash = createHash("sha256");
  let crc = 0;
  let size = 0;
  await sink(GZIP_HEADER);
  try {
    await pipeline(
      input,
      async function* (src: AsyncIterable<Uint8Array>) {
        for await (const c of src) {
          rawHash.update(c);
          crc = crc32(c, crc);
          size += c.length;
          yield c;
        }
      },
      createDeflateRaw({ level: LAYER_GZIP_LEVEL }),
      async (src: AsyncIterable<Uint8Array>) => {
        for await (const c of src) await sink(c);
      },
      signal ? { signal } : {},
    );
  } catch (e) {
    throwIfAborted(signal);
    throw e;
  }
  const trailer = new Uint8Array(8);
  const view = new DataView(trailer.buffer);
  view.setUint32(0, crc >>> 0, true);
  view.setUint32(4, size % 0x1_0000_0000, true);
  await sink(trailer);
  return { sha256: rawHash.digest("hex"), size };
}

/** Gathers chunks into blocks of at least `min` bytes: thousands of small tar parts would each cost a stream round trip. */
async function* batched(chunks: AsyncIterable<Uint8Array>, min = 256 * 1024): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of chunks) {
    parts.push(c);
    n += c.length;
    if (n >= min) {
      yield Buffer.concat(parts, n);
      parts = [];
      n = 0;
    }
  }
  if (n > 0) yield Buffer.concat(parts, n);
}

/** An `open()` for a blob on disk. */
export function fileOpener(file: string): () => AsyncIterable<Uint8Array> {
  return () => createReadStream(file, { highWaterMark: 1024 * 1024 });
}

/**
 * A reproducible layer: the tar of `entries` (see {@link writeTar}) gzipped at
 * {@link LAYER_GZIP_LEVEL} with a fixed header. `diffId` is the sha256 of the tar,
 * `descriptor.digest` that of the gzip. The same entries, file contents and
 * epoch give the same bytes on every machine running the same zlib (Node's
 * bundled one); `diffId` does not depend on zlib at all.
 */
export async function createLayer(entries: readonly TarEntry[], options: CreateLayerOptions): Promise<BuiltLayer> {
  throwIfAborted(options.signal);
  const tar = batched(tarChunks(entries, { epoch: options.epoch }));
  const zHash = createHash("sha256");
  let size = 0;
  if (options.blobDir === undefined) {
    const parts: Uint8Array[] = [];
    const raw = await gzipDeterministic(tar, (c) => {
      zHash.update(c);
      size += c.length;
      parts.push(c);
    }, options.signal);
    const bytes = new Uint8Array(Buffer.concat(parts, size));
    return { role: options.role, diffId: `sha256:${raw.sha256}`, descriptor: { mediaType: OCI_LAYER_GZIP, digest: `sha256:${zHash.digest("hex")}`, size }, bytes };
  }
  const dir = join(options.blobDir, "sha256");
  await mkdir(dir, { recursive: true });
  // Written under a unique name and renamed: concurrent builds of the same layer
  // each produce the same bytes, and a reader never sees a half-written blob.
  const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
  const fh = await open(tmp, "w", 0o644);
  let raw: RawTotals;
  try {
    raw = await gzipDeterministic(tar, async (c) => {
      zHash.update(c);
      size += c.length;
      await fh.write(c);
    }, options.signal);
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
  const hex = zHash.digest("hex");
  const file = join(dir, hex);
  await rename(tmp, file);
  return { role: options.role, diffId: `sha256:${raw.sha256}`, descriptor: { mediaType: OCI_LAYER_GZIP, digest: `sha256:${hex}`, size }, file, open: fileOpener(file) };
}
