import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { SdxError, tarHeaderBlocks, throwIfAborted, type ImageSource, type ImageSourceLayer } from "@sdx/sdk";

/**
 * Layer media types a docker-archive may carry as they are: Docker's `load`
 * (moby image/tarexport/load.go) untars the archive, then reads each layer file
 * through `archive.DecompressStream`, which sniffs gzip (and zstd where the
 * engine knows it) itself, so registry blobs need no recompression.
 */
const LAYER_FILE_SUFFIX: Readonly<Record<string, string>> = {
  "application/vnd.oci.image.layer.v1.tar": "tar",
  "application/vnd.oci.image.layer.v1.tar+gzip": "tar.gz",
  "application/vnd.oci.image.layer.v1.tar+zstd": "tar.zst",
  "application/vnd.docker.image.rootfs.diff.tar": "tar",
  "application/vnd.docker.image.rootfs.diff.tar.gzip": "tar.gz",
  // Docker's own foreign layers are tar+gzip too; `docker load` does not fetch them from elsewhere.
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip": "tar.gz",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": "tar.gz",
};

const BLOCK = 512;
const HEX64 = /^sha256:([0-9a-f]{64})$/;

/** Progress of one archive, layer by layer. */
export interface DockerArchiveProgress {
  /** 1-based index of the layer just sent. */
  readonly layer: number;
  readonly layers: number;
  readonly digest: string;
  /** Bytes of this layer's blob. */
  readonly size: number;
  /** Bytes of the archive written so far. */
  readonly bytes: number;
}

/** Options for {@link dockerArchive}. */
export interface DockerArchiveOptions {
  /** `repo:tag` names the loaded image gets on the host. @default [] (known by its ID only) */
  readonly repoTags?: readonly string[];
  readonly signal?: AbortSignal;
  /** Called after each layer is written. @default none */
  readonly onProgress?: (e: DockerArchiveProgress) => void;
}

function unsupported(source: ImageSource, why: string): SdxError {
  return new SdxError("SDX_IMAGE_UNSUPPORTED", `${source.ref} cannot be sent to a Docker host: ${why}`, {
    fault: "user", hint: "Use an OCI or Docker image with tar or tar+gzip layers, or let the hosts pull it (images: pull).", details: { ref: source.ref },
  });
}

const sha256 = (b: Uint8Array): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** The archive's file name of a layer: its digest, with the suffix of its compression. */
function layerFile(source: ImageSource, l: ImageSourceLayer): string {
  const hex = HEX64.exec(l.digest)?.[1];
  if (hex === undefined) throw unsupported(source, `layer digest ${l.digest} is not sha256`);
  const suffix = LAYER_FILE_SUFFIX[l.mediaType];
  if (suffix === undefined) throw unsupported(source, `layer ${l.digest.slice(0, 19)} has media type ${l.mediaType || "(none)"}, which is not a layer tar`);
  if (!Number.isSafeInteger(l.size) || l.size < 0) throw unsupported(source, `layer ${l.digest.slice(0, 19)} has no valid size`);
  return `${hex}.${suffix}`;
}

/** The names and order of what the archive holds, checked before a byte is written. */
function layout(source: ImageSource, repoTags: readonly string[]): { config: string; manifest: Uint8Array; files: { name: string; layer: ImageSourceLayer }[] } {
  const configHex = HEX64.exec(source.config.digest)?.[1];
  if (configHex === undefined) throw unsupported(source, `config digest ${source.config.digest} is not sha256`);
  if (sha256(source.config.bytes) !== source.config.digest) {
    throw new SdxError("SDX_INTERNAL", `the config bytes of ${source.ref} do not match their digest ${source.config.digest}`, { fault: "internal", details: { ref: source.ref } });
  }
  const names = source.layers.map((l) => layerFile(source, l));
  const files: { name: string; layer: ImageSourceLayer }[] = [];
  const seen = new Set<string>();
  source.layers.forEach((layer, i) => {
    // An image may list one blob twice (an empty layer, say): the manifest names its file twice, the archive holds it once.
    if (!seen.has(names[i]!)) files.push({ name: names[i]!, layer });
    seen.add(names[i]!);
  });
  const config = `${configHex}.json`;
  const manifest = new TextEncoder().encode(JSON.stringify([{ Config: config, RepoTags: [...repoTags], Layers: names }]));
  return { config, manifest, files };
}

const fileHeader = (path: string, size: number): Uint8Array => tarHeaderBlocks({ kind: "file", path, source: "", size }, 0);
const padding = (size: number): Uint8Array => new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);

/**
 * The docker-archive (`docker save` format, what `docker load` of Docker 20.10
 * reads) of one image, chunk by chunk: the config as `<hex>.json`, each layer
 * blob as it is stored (`<hex>.tar.gz`, …) streamed from `source` one after
 * another, and `manifest.json` last (`[{Config, RepoTags, Layers}]`), so a cut
 * stream never names files it lacks. Each layer must yield exactly its size
 * and digest, else the iteration rejects (`SDX_IMAGE_CORRUPT`) and the
 * receiving `docker load` fails on the truncated archive.
 */
export async function* dockerArchiveChunks(source: ImageSource, options: DockerArchiveOptions = {}): AsyncGenerator<Uint8Array> {
  const { config, manifest, files } = layout(source, options.repoTags ?? []);
  let bytes = 0;
  const out = (c: Uint8Array): Uint8Array => {
    bytes += c.length;
    return c;
  };
  yield out(fileHeader(config, source.config.bytes.length));
  yield out(source.config.bytes);
  yield out(padding(source.config.bytes.length));
  for (const [i, { name, layer }] of files.entries()) {
    throwIfAborted(options.signal);
    yield out(fileHeader(name, layer.size));
    const hash = createHash("sha256");
    let n = 0;
    for await (const chunk of layer.open(options.signal)) {
      if (n + chunk.length > layer.size) throw corrupt(source, layer, `more than the ${layer.size} bytes its manifest says`);
      hash.update(chunk);
      n += chunk.length;
      yield out(chunk);
    }
    if (n !== layer.size) throw corrupt(source, layer, `${n} bytes, not the ${layer.size} its manifest says`);
    if (`sha256:${hash.digest("hex")}` !== layer.digest) throw corrupt(source, layer, "bytes that do not match its digest");
    yield out(padding(layer.size));
    options.onProgress?.({ layer: i + 1, layers: files.length, digest: layer.digest, size: layer.size, bytes });
  }
  yield out(fileHeader("manifest.json", manifest.length));
  yield out(manifest);
  yield out(padding(manifest.length));
  yield out(new Uint8Array(2 * BLOCK));
}

function corrupt(source: ImageSource, layer: ImageSourceLayer, what: string): SdxError {
  return new SdxError("SDX_IMAGE_CORRUPT", `layer ${layer.digest.slice(0, 19)} of ${source.ref} came with ${what}`, {
    fault: "backend", hint: "Deploy again; if it persists, clear sdx's build cache (~/.cache/sdx/build) or check the registry.", details: { ref: source.ref, digest: layer.digest },
  });
}

/**
 * {@link dockerArchiveChunks} as a byte stream for `DockerHost.load`. Names and
 * media types are checked at once (throwing `SDX_IMAGE_UNSUPPORTED`), not
 * when the stream is first read.
 */
export function dockerArchive(source: ImageSource, options: DockerArchiveOptions = {}): Readable {
  layout(source, options.repoTags ?? []);
  return Readable.from(dockerArchiveChunks(source, options), { objectMode: false });
}
