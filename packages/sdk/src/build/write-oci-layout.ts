import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SdxError, throwIfAborted } from "../errors/sdx-error.js";
import type { Descriptor, Platform } from "../image/pull-image.js";
import type { PushableBlob, PushableImage } from "../image/push-image.js";
import { canonicalJson } from "../revision/canonical-json.js";
import { OCI_INDEX } from "./oci-image.js";

/** Fetches a blob the image does not carry (base layers), e.g. from the base's registry. */
export type FetchBlob = (d: Descriptor) => Promise<Uint8Array | AsyncIterable<Uint8Array>>;

/** Options for {@link writeOciLayout}. */
export interface WriteOciLayoutOptions {
  /** The `org.opencontainers.image.ref.name` annotation of the manifest in index.json. @default "latest" */
  readonly refName?: string;
  /** Recorded on the manifest's descriptor in index.json. @default the image's `platform`, if it has one */
  readonly platform?: Platform;
  readonly signal?: AbortSignal;
}

/** What {@link writeOciLayout} wrote. */
export interface WrittenOciLayout {
  readonly dir: string;
  /** Blobs written now. */
  readonly written: number;
  /** Blobs already in the layout (a file of that digest and size), left as they were. */
  readonly present: number;
  readonly bytes: number;
}

const DIGEST_RE = /^sha256:([0-9a-f]{64})$/;

function hexOf(digest: string): string {
  const m = DIGEST_RE.exec(digest);
  if (m === null) {
    throw new SdxError("SDX_BUILD_BAD_DIGEST", `Digest ${JSON.stringify(digest)} is not sha256:<64 hex>`, { fault: "internal", hint: "Only sha256 digests are written to OCI layouts.", details: { digest } });
  }
  return m[1]!;
}

async function* chunksOf(content: Uint8Array | AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (content instanceof Uint8Array) yield content;
  else yield* content;
}

/**
 * Writes one blob as `blobs/sha256/<hex>`, hashing as it goes: a blob whose
 * content does not match its descriptor is refused (`SDX_BUILD_BLOB_MISMATCH`)
 * and never lands under its name.
 */
async function writeBlob(dir: string, d: Descriptor, content: Uint8Array | AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<number> {
  const file = join(dir, hexOf(d.digest));
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  const h = createHash("sha256");
  let size = 0;
  const fh = await open(tmp, "w", 0o644);
  try {
    for await (const c of chunksOf(content)) {
      throwIfAborted(signal);
      h.update(c);
      size += c.length;
      if (size > d.size) break;
      await fh.write(c);
    }
    await fh.close();
    const got = `sha256:${h.digest("hex")}`;
    if (size !== d.size || got !== d.digest) {
      throw new SdxError("SDX_BUILD_BLOB_MISMATCH", `blob ${d.digest} arrived as ${size > d.size ? `more than ${d.size} bytes` : `${size} bytes with digest ${got}`}, not ${d.size} bytes`, {
        fault: "backend", hint: "The source of the blob is damaged or changed; pull the base again.", details: { digest: d.digest, size: d.size, got: size > d.size ? undefined : got },
      });
    }
    await rename(tmp, file);
    return size;
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}

async function present(dir: string, d: Descriptor): Promise<boolean> {
  const st = await stat(join(dir, hexOf(d.digest))).catch(() => undefined);
  return st?.isFile() === true && st.size === d.size;
}

function contentOf(blob: PushableBlob): Uint8Array | AsyncIterable<Uint8Array> | undefined {
  if (blob.bytes !== undefined) return blob.bytes;
  if (blob.open !== undefined) return blob.open();
  return undefined;
}

/**
 * Writes an image as an OCI image layout (image-spec `image-layout.md`):
 * `oci-layout`, `index.json` naming the manifest (with `refName` as
 * `org.opencontainers.image.ref.name`) and `blobs/sha256/<hex>` for the
 * manifest, config and every layer. Layers without bytes (base layers) come from
 * `fetchBlob`. Every blob is checked against its digest and size while written;
 * blobs already in the layout are kept, and index.json names only this image.
 */
export async function writeOciLayout(dir: string, image: PushableImage & { readonly platform?: Platform }, fetchBlob: FetchBlob, options: WriteOciLayoutOptions = {}): Promise<WrittenOciLayout> {
  const blobs = join(dir, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  let written = 0;
  let kept = 0;
  let bytes = 0;
  const manifestDesc: Descriptor = { mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.bytes.length };
  const all: { d: Descriptor; blob?: PushableBlob; bytes?: Uint8Array }[] = [
    ...image.layers.map((l) => ({ d: l.descriptor, blob: l })),
    { d: image.config.descriptor, blob: image.config },
    { d: manifestDesc, bytes: image.manifest.bytes },
  ];
  for (const b of all) {
    throwIfAborted(options.signal);
    if (await present(blobs, b.d)) {
      kept++;
      continue;
    }
    const content = b.bytes ?? (b.blob ? contentOf(b.blob) : undefined) ?? (await fetchBlob(b.d));
    bytes += await writeBlob(blobs, b.d, content, options.signal);
    written++;
  }
  const platform = options.platform ?? image.platform;
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [{ ...manifestDesc, ...(platform ? { platform } : {}), annotations: { "org.opencontainers.image.ref.name": options.refName ?? "latest" } }],
  };
  // index.json last: a layout whose index exists is complete.
  await writeFile(join(dir, "oci-layout"), `${canonicalJson({ imageLayoutVersion: "1.0.0" })}\n`);
  const tmp = join(dir, `.index.json.tmp-${process.pid}`);
  await writeFile(tmp, `${canonicalJson(index)}\n`);
  await rename(tmp, join(dir, "index.json"));
  return { dir, written, present: kept, bytes };
}
