import { parseImageRef, SdxError, type ImageSource, type ImageStore } from "@sdx/sdk";
import type { DockerHost } from "../client/docker-host.js";
import { dockerArchive, type DockerArchiveProgress } from "./docker-archive.js";

/** Options for {@link ensureImage}. */
export interface EnsureImageOptions {
  readonly signal?: AbortSignal;
  /**
   * `repo:tag` the loaded image gets on the host, so that `docker image prune`
   * (without `-a`) keeps it for a rollback once no container uses it.
   * @default `<repository of source.ref>:sdx-<first 12 hex of the config digest>`, none when the ref has no repository
   */
  readonly tag?: string;
  /** Layer by layer while the image is sent. @default none */
  readonly onProgress?: (e: DockerArchiveProgress) => void;
}

/** Result of {@link ensureImage}. */
export interface EnsureImageResult {
  /** `sha256:<config digest>`: the image ID containers are started from. */
  readonly imageId: string;
  /** `present`: the host had it, nothing was sent; `loaded`: sent over SSH into `docker load`. */
  readonly outcome: "present" | "loaded";
}

/** The default tag of a streamed image: the ref's repository and the config digest. */
export function streamedImageTag(source: ImageSource): string | undefined {
  const repository = parseImageRef(source.ref)?.repository;
  return repository === undefined ? undefined : `${repository}:sdx-${source.config.digest.replace(/^sha256:/, "").slice(0, 12)}`;
}

/**
 * Makes the image present on one host without any registry: when Docker has
 * no image with ID `sha256:<config digest>` the image is sent as a
 * docker-archive over the host's SSH connection into `docker load`, layer after
 * layer (never whole in memory); a host that has it costs one inspect. The ID
 * Docker reports for what it loaded must be the config digest, else
 * `SDX_BACKEND_IMAGE_MISMATCH` (an engine that rewrote the config, or one
 * that keys images differently).
 */
export async function ensureImage(host: DockerHost, source: ImageSource, options: EnsureImageOptions = {}): Promise<EnsureImageResult> {
  const imageId = source.config.digest;
  if (await host.hasImage(imageId, options.signal)) return { imageId, outcome: "present" };
  const tag = options.tag ?? streamedImageTag(source);
  const archive = dockerArchive(source, {
    ...(tag === undefined ? {} : { repoTags: [tag] }),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  let ids: string[];
  try {
    ids = await host.load(archive, options.signal);
  } finally {
    // A load that failed early leaves the archive unread: stop reading layers for it.
    archive.destroy();
  }
  // A tagged load reports the tag, not the ID, on some engines: the host is asked then.
  const loaded = ids.length > 0 ? ids.includes(imageId) : await host.hasImage(imageId, options.signal);
  if (!loaded) {
    throw new SdxError("SDX_BACKEND_IMAGE_MISMATCH", `host ${host.host.name} loaded ${source.ref} as ${ids.join(", ") || "nothing"}, not as ${imageId}`, {
      fault: "backend",
      hint: "The host's Docker keys images differently (the containerd image store?); use images: pull with a registry for this host.",
      details: { host: host.host.name, ref: source.ref, expected: imageId, loaded: ids },
    });
  }
  return { imageId, outcome: "loaded" };
}

/**
 * How the hosts backend delivers an image in `images: "stream"` mode: opens
 * `ref` from the deploy's image store for the host's architecture and
 * ensures it there; returns what containers run (the image ID).
 */
export function streamImages(store: ImageStore, options: { readonly onProgress?: (host: string, ref: string, e: DockerArchiveProgress) => void } = {}): (host: DockerHost, ref: string, signal?: AbortSignal) => Promise<string> {
  return async (host, ref, signal) => {
    const info = await host.info(signal);
    if (info.arch !== "amd64" && info.arch !== "arm64") {
      throw new SdxError("SDX_BACKEND_UNSUPPORTED", `host ${host.host.name} is ${info.arch}; sdx streams amd64 and arm64 images only`, { fault: "user", hint: "Use amd64 or arm64 hosts.", details: { host: host.host.name, arch: info.arch } });
    }
    const source = await store.open(ref, { os: "linux", architecture: info.arch }, signal ? { signal } : {});
    const onProgress = options.onProgress;
    const r = await ensureImage(host, source, { ...(signal ? { signal } : {}), ...(onProgress ? { onProgress: (e: DockerArchiveProgress) => onProgress(host.host.name, ref, e) } : {}) });
    return r.imageId;
  };
}
