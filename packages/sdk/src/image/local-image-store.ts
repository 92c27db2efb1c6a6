import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { BuiltImage } from "../build/build-node-image.js";
import { cacheBlobDir } from "../build/layer-cache.js";
import { SdxError, throwIfAborted } from "../errors/sdx-error.js";
import { parseImageRef } from "../model/image-ref.js";
import type { ImageSource, ImageSourceLayer, ImageStore, OpenImageOptions } from "./image-source.js";
import { formatPlatform, pullImage, type TargetPlatform } from "./pull-image.js";
import type { PushableBlob, RegistryClient, RegistryLocation } from "./registry-client.js";

/** Options for {@link createLocalImageStore}. */
export interface LocalImageStoreOptions {
  /** Images built in this run, found by their manifest digest in a ref. @default [] */
  readonly built?: readonly BuiltImage[];
  /** Fetches base layers of built images and every other image, with this machine's credentials. */
  readonly client: RegistryClient;
  /**
   * The build cache: fetched blobs are kept in its blob directory by digest
   * (shared with the build's layers), so each is downloaded once for every host.
   */
  readonly cacheDir: string;
}

const HEX64 = /^sha256:[0-9a-f]{64}$/;

/**
 * The {@link ImageStore} of one deploy: a ref whose digest is an image built in
 * this run is served from the build (its own layers from memory or the cache,
 * its base layers fetched once from the base's registry into the cache); any
 * other ref is pulled through `client` (manifest and config, then each layer
 * into the cache). Blobs in the cache are hashed again before first use.
 */
export function createLocalImageStore(options: LocalImageStoreOptions): ImageStore {
  const built = new Map((options.built ?? []).map((b) => [b.digest, b]));
  const blobDir = join(cacheBlobDir(options.cacheDir), "sha256");
  const cached = new Map<string, Promise<string>>();

  /** The cache file of `digest`, downloaded from `from` unless already there and intact. */
  const fetchBlob = (from: RegistryLocation, digest: string, size: number, signal: AbortSignal | undefined): Promise<string> => {
    if (!HEX64.test(digest)) {
      return Promise.reject(new SdxError("SDX_REGISTRY_ERROR", `layer digest ${digest} is not a sha256 digest`, { fault: "backend", hint: "Only sha256 blobs can be streamed to hosts.", details: { digest } }));
    }
    let p = cached.get(digest);
    if (p === undefined) {
      p = ensureCached(options.client, from, digest, size, join(blobDir, digest.slice("sha256:".length)), signal);
      cached.set(digest, p);
      // A failed or aborted download is tried again by the next open.
      p.catch(() => cached.delete(digest));
    }
    return p;
  };

  const layerFrom = (blob: PushableBlob, source: RegistryLocation | undefined): ImageSourceLayer => {
    const { mediaType, digest, size } = blob.descriptor;
    const own = blob.bytes !== undefined ? blob.bytes : undefined;
    return {
      mediaType, digest, size,
      open: (signal?: AbortSignal): AsyncIterable<Uint8Array> => {
        if (own !== undefined) return oneChunk(own);
        if (blob.open !== undefined) return blob.open();
        if (source === undefined) throw new SdxError("SDX_INTERNAL", `layer ${digest} has no bytes and its image names no registry to fetch it from`, { fault: "internal" });
        return fromFile(() => fetchBlob(source, digest, size, signal));
      },
    };
  };

  return {
    async open(ref: string, platform: TargetPlatform, opts: OpenImageOptions = {}): Promise<ImageSource> {
      throwIfAborted(opts.signal);
      const parsed = parseImageRef(ref);
      if (parsed === undefined) {
        throw new SdxError("SDX_VALIDATION", `"${ref}" is not an image reference`, { fault: "internal", hint: "This is a bug in the backend that asked for it." });
      }
      const mine = parsed.digest === undefined ? undefined : built.get(parsed.digest);
      if (mine !== undefined) {
        if (mine.platform.os !== platform.os || mine.platform.architecture !== platform.architecture) {
          throw new SdxError("SDX_IMAGE_PLATFORM", `${ref} was built for ${formatPlatform(mine.platform)}, not ${formatPlatform(platform)}`, {
            fault: "user", hint: `Set the service's placement.arch to ${platform.architecture}, or run it on ${mine.platform.architecture} hosts.`,
            details: { ref, built: formatPlatform(mine.platform), wanted: formatPlatform(platform) },
          });
        }
        return {
          ref, manifestDigest: mine.digest, platform: mine.platform,
          config: { digest: mine.config.descriptor.digest, bytes: configBytes(mine) },
          layers: mine.layers.map((l) => layerFrom(l, mine.source)),
        };
      }
      const pulled = await pullImage(options.client, parsed, { platform, ...(opts.signal ? { signal: opts.signal } : {}) });
      return {
        ref, manifestDigest: pulled.manifestDigest, platform: pulled.platform,
        config: { digest: pulled.manifest.config.digest, bytes: pulled.configBytes },
        layers: pulled.manifest.layers.map((d) => layerFrom({ descriptor: d }, pulled.location)),
      };
    },
  };
}

function configBytes(image: BuiltImage): Uint8Array {
  if (image.config.bytes === undefined) throw new SdxError("SDX_INTERNAL", `built image ${image.digest} has no config bytes`, { fault: "internal" });
  return image.config.bytes;
}

function oneChunk(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  return { async *[Symbol.asyncIterator]() { yield bytes; } };
}

/** Waits for the cache file, then streams it. */
function fromFile(file: () => Promise<string>): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      for await (const c of createReadStream(await file(), { highWaterMark: 1024 * 1024 })) yield c as Uint8Array;
    },
  };
}

async function sha256File(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const c of createReadStream(file, { highWaterMark: 1024 * 1024 })) h.update(c as Buffer);
  return `sha256:${h.digest("hex")}`;
}

/** `file` holding the blob: kept when it has the size and digest, else downloaded to a temporary name and renamed. */
async function ensureCached(client: RegistryClient, from: RegistryLocation, digest: string, size: number, file: string, signal: AbortSignal | undefined): Promise<string> {
  const ok = await stat(file).then((s) => s.size === size, () => false);
  if (ok && (await sha256File(file)) === digest) return file;
  await mkdir(join(file, ".."), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
  const fh = await open(tmp, "w", 0o644);
  let written = 0;
  try {
    // openBlob rejects at the end when the bytes do not match the digest.
    for await (const c of client.openBlob(from, digest, signal ? { signal } : {})) {
      await fh.write(c);
      written += c.length;
    }
    await fh.close();
    if (written !== size) {
      throw new SdxError("SDX_REGISTRY_ERROR", `registry ${from.registry} sent ${written} bytes for blob ${digest}, whose manifest says ${size}`, { fault: "backend", details: { registry: from.registry, repository: from.repository, digest } });
    }
    await rename(tmp, file);
    return file;
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}
