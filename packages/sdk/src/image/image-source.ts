import type { TargetPlatform } from "./pull-image.js";

/**
 * One layer of an {@link ImageSource}: its descriptor as the image manifest
 * lists it, and its blob (compressed as the manifest says) on demand.
 */
export interface ImageSourceLayer {
  /** e.g. `application/vnd.oci.image.layer.v1.tar+gzip`. */
  readonly mediaType: string;
  /** `sha256:` of the blob as stored (the compressed bytes). */
  readonly digest: string;
  /** Bytes of the blob: `open()` yields exactly this many. */
  readonly size: number;
  /** Streams the blob; each call starts from its first byte. Rejects (during iteration) when the bytes do not match the digest. */
  open(signal?: AbortSignal): AsyncIterable<Uint8Array>;
}

/**
 * One platform image, readable piece by piece from this machine, for a
 * backend that delivers images itself (see `Backend.deliversImages`). Layers
 * are opened one at a time, so a whole image never has to be in memory.
 */
export interface ImageSource {
  /** The reference it was opened as. */
  readonly ref: string;
  /** The platform manifest's digest (for a multi-platform reference, the one for the platform asked). */
  readonly manifestDigest: string;
  readonly platform: { readonly os: string; readonly architecture: string; readonly variant?: string };
  /** The config blob as stored: its digest is the image ID Docker gives the loaded image. */
  readonly config: { readonly digest: string; readonly bytes: Uint8Array };
  /** In manifest order (the order of the config's `rootfs.diff_ids`). */
  readonly layers: readonly ImageSourceLayer[];
}

/** Options for {@link ImageStore.open}. */
export interface OpenImageOptions {
  readonly signal?: AbortSignal;
}

/**
 * Serves images from this machine to a backend that delivers them itself:
 * images sdx built in this run from the build's own layers, and any other
 * reference through this machine's registry access.
 */
export interface ImageStore {
  /**
   * The image `ref` (a service's `image.ref`: `repo@sha256:…` as deployed, or a
   * tag) for `platform`. Rejects with `SDX_IMAGE_NOT_FOUND`, `SDX_IMAGE_PLATFORM`
   * or the registry client's errors.
   */
  open(ref: string, platform: TargetPlatform, options?: OpenImageOptions): Promise<ImageSource>;
}
