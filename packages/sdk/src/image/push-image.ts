/**
 * Pushes a built image (or a multi-platform index) to a registry: blobs first,
 * each skipped when present, mounted when it is on the same registry, else
 * uploaded (or streamed over from the base's registry); manifests last, so an
 * interrupted push leaves nothing a later one trips over.
 */
import { SdxError, throwIfAborted } from "../errors/sdx-error.js";
import { sha256Digest, type Descriptor, type PushableBlob, type RegistryClient, type RegistryLocation } from "./registry-client.js";

export type { PushableBlob } from "./registry-client.js";

/** A manifest (or index) as it will be stored: exact bytes and their digest. */
export interface PushableManifest {
  readonly mediaType: string;
  readonly bytes: Uint8Array;
  readonly digest: string;
}

/** One image to push: its manifest and every blob it references. */
export interface PushableImage {
  readonly manifest: PushableManifest;
  readonly config: PushableBlob;
  readonly layers: readonly PushableBlob[];
  /** Where base layers can be copied or mounted from when a blob has no bytes. */
  readonly source?: RegistryLocation;
}

/** A multi-platform image: the index and the images it lists. */
export interface PushableIndex {
  readonly manifest: PushableManifest;
  readonly images: readonly PushableImage[];
}

/** What a push did. */
export interface PushResult {
  /** The digest the registry stored the (top) manifest under. */
  readonly digest: string;
  /** `registry/repository@sha256:…`, what to deploy. */
  readonly reference: string;
  /** Blobs sent. */
  readonly uploaded: number;
  /** Blobs the registry already had. */
  readonly present: number;
  /** Blobs mounted from another repository of the registry. */
  readonly mounted: number;
  /** Bytes of the blobs sent. */
  readonly bytesUploaded: number;
}

/** Progress of a push, per blob and for each manifest. */
export type PushProgress =
  | { readonly kind: "blob"; readonly digest: string; readonly size: number; readonly state: "present" | "mounted" | "uploading" | "uploaded" }
  | { readonly kind: "manifest"; readonly digest: string; readonly reference: string };

/** Options for {@link pushImage} and {@link pushIndex}. */
export interface PushImageOptions {
  /** Also put the manifest under this tag (after it is stored by digest). */
  readonly tag?: string;
  /** More repositories to mount or copy blobs without bytes from (besides `image.source`). */
  readonly mountFrom?: readonly RegistryLocation[];
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: PushProgress) => void;
  /** Blobs pushed at once. @default 3 */
  readonly concurrency?: number;
}

interface Counts {
  uploaded: number;
  present: number;
  mounted: number;
  bytesUploaded: number;
}

/**
 * Pushes one image to `target`. Returns the digest the registry reports, after
 * checking it equals the manifest's own. Rejects with the client's errors
 * (`SDX_REGISTRY_*`, `SDX_ABORTED`); nothing refers to a half-pushed blob because
 * the manifest goes last.
 */
export async function pushImage(client: RegistryClient, target: RegistryLocation, image: PushableImage, options: PushImageOptions = {}): Promise<PushResult> {
  const counts: Counts = { uploaded: 0, present: 0, mounted: 0, bytesUploaded: 0 };
  await pushBlobs(client, target, image, options, counts);
  const digest = await putManifest(client, target, image.manifest, options);
  return result(target, digest, counts);
}

/**
 * Pushes a multi-platform image: every platform's blobs and manifest (by
 * digest), then the index by digest and, with `tag`, by tag.
 */
export async function pushIndex(client: RegistryClient, target: RegistryLocation, index: PushableIndex, options: PushImageOptions = {}): Promise<PushResult> {
  const counts: Counts = { uploaded: 0, present: 0, mounted: 0, bytesUploaded: 0 };
  const { tag: _tag, ...untagged } = options;
  for (const image of index.images) {
    await pushBlobs(client, target, image, untagged, counts);
    await putManifest(client, target, image.manifest, untagged);
  }
  const digest = await putManifest(client, target, index.manifest, options);
  return result(target, digest, counts);
}

async function pushBlobs(client: RegistryClient, target: RegistryLocation, image: PushableImage, options: PushImageOptions, counts: Counts): Promise<void> {
  const seen = new Set<string>();
  const blobs = [image.config, ...image.layers].filter((b) => {
    if (seen.has(b.descriptor.digest)) return false;
    seen.add(b.descriptor.digest);
    return true;
  });
  const sources = [...(image.source === undefined ? [] : [image.source]), ...(options.mountFrom ?? [])];
  const sameRegistry = sources.filter((s) => s.registry === target.registry && s.repository !== target.repository);
  const report = options.onProgress ?? (() => undefined);
  const pushOne = async (blob: PushableBlob): Promise<void> => {
    throwIfAborted(options.signal);
    const { digest, size } = blob.descriptor;
    const sendable = withSource(client, blob, sources, target);
    const outcome = await client.pushBlob(target, sendable, {
      mountFrom: sameRegistry,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onUploading: () => report({ kind: "blob", digest, size, state: "uploading" }),
    });
    if (outcome === "uploaded") {
      counts.uploaded++;
      counts.bytesUploaded += size;
    } else {
      counts[outcome]++;
    }
    report({ kind: "blob", digest, size, state: outcome });
  };
  await inParallel(blobs, options.concurrency ?? 3, pushOne);
}

/** A blob without bytes reads them from the first source that is not the target itself. */
function withSource(client: RegistryClient, blob: PushableBlob, sources: readonly RegistryLocation[], target: RegistryLocation): PushableBlob {
  if (blob.bytes !== undefined || blob.open !== undefined) return blob;
  const from = sources.find((s) => s.registry !== target.registry || s.repository !== target.repository);
  if (from === undefined) {
    throw new SdxError("SDX_INTERNAL", `blob ${blob.descriptor.digest} has no bytes and the image names no source to copy it from`, {
      fault: "internal",
      hint: "Give PushableImage.source (the base image's location) or the blob's bytes.",
      details: { registry: target.registry, repository: target.repository, digest: blob.descriptor.digest },
    });
  }
  // Streamed from the base's registry when no mount works, so a base on another registry still goes up.
  return { descriptor: blob.descriptor, open: () => client.openBlob(from, blob.descriptor.digest) };
}

async function putManifest(client: RegistryClient, target: RegistryLocation, manifest: PushableManifest, options: PushImageOptions): Promise<string> {
  throwIfAborted(options.signal);
  const ours = sha256Digest(manifest.bytes);
  if (manifest.digest !== ours) {
    throw new SdxError("SDX_INTERNAL", `the manifest's digest ${manifest.digest} is not the digest of its bytes (${ours})`, {
      fault: "internal",
      details: { registry: target.registry, repository: target.repository, expected: manifest.digest, actual: ours },
    });
  }
  const call = options.signal === undefined ? {} : { signal: options.signal };
  const stored = await client.putManifest(target, manifest.digest, manifest, call);
  const reference = `${target.registry}/${target.repository}@${stored}`;
  options.onProgress?.({ kind: "manifest", digest: stored, reference });
  if (options.tag !== undefined) {
    // The client checks the digest the registry reports for the tag against the bytes.
    await client.putManifest(target, options.tag, manifest, call);
    options.onProgress?.({ kind: "manifest", digest: stored, reference: `${target.registry}/${target.repository}:${options.tag}` });
  }
  return stored;
}

function result(target: RegistryLocation, digest: string, counts: Counts): PushResult {
  return { digest, reference: `${target.registry}/${target.repository}@${digest}`, ...counts };
}

/** Runs `fn` over `items`, at most `limit` at once; the first failure wins once the others settle. */
async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failed ??= { error: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== undefined) throw failed.error;
}

/** The descriptor a {@link PushableBlob} for `bytes` needs. */
export function blobOf(bytes: Uint8Array, mediaType: string): PushableBlob & { readonly descriptor: Descriptor } {
  return { descriptor: { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength }, bytes };
}

/** A {@link PushableManifest} for a manifest or index object (serialised once, so digest and bytes agree). */
export function manifestOf(manifest: Readonly<Record<string, unknown>> & { readonly mediaType: string }): PushableManifest {
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  return { mediaType: manifest.mediaType, bytes, digest: sha256Digest(bytes) };
}
