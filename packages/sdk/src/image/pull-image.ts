/**
 * Pulls what an image build needs from a base image: the platform's manifest
 * and its parsed config. Layers stay in the registry; callers stream or mount
 * them from `location` by digest.
 */
import { SdxError } from "../errors/sdx-error.js";
import type { ImageRef } from "../model/app.js";
import {
  DOCKER_MANIFEST_LIST_MEDIA_TYPE,
  DOCKER_MANIFEST_MEDIA_TYPE,
  OCI_INDEX_MEDIA_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
  toImageRef,
  type Descriptor,
  type Platform,
  type RegistryClient,
  type RegistryLocation,
  type RegistryRequestOptions,
} from "./registry-client.js";

export type { Descriptor, Platform } from "./registry-client.js";

/** The platforms sdx builds for. */
export interface TargetPlatform {
  readonly os: "linux";
  readonly architecture: "amd64" | "arm64";
  /** e.g. `v8`; when left out any variant of the architecture matches. */
  readonly variant?: string;
}

/** Options for {@link pullImage}. */
export interface PullImageOptions extends RegistryRequestOptions {
  /** Which image of a multi-platform index to take, and what a single image must be. */
  readonly platform: TargetPlatform;
}

/** A base image's manifest and config for one platform. */
export interface PulledImage {
  /** The reference as asked. */
  readonly ref: string;
  /** Registry, repository and scheme. */
  readonly location: RegistryLocation;
  /** The index's digest, when the reference named an index (or manifest list). */
  readonly indexDigest?: string;
  /** The platform manifest's digest. */
  readonly manifestDigest: string;
  readonly manifest: { readonly mediaType: string; readonly config: Descriptor; readonly layers: readonly Descriptor[] };
  /** The parsed image config JSON (architecture, os, config{Env,Entrypoint,Cmd,User,WorkingDir,Labels}, rootfs{diff_ids}, history). */
  readonly config: Readonly<Record<string, unknown>>;
  /** The config blob as stored (its digest is `manifest.config.digest`). */
  readonly configBytes: Uint8Array;
  /** The platform the config declares. */
  readonly platform: Platform;
}

const INDEX_TYPES = new Set([OCI_INDEX_MEDIA_TYPE, DOCKER_MANIFEST_LIST_MEDIA_TYPE]);
const MANIFEST_TYPES = new Set([OCI_MANIFEST_MEDIA_TYPE, DOCKER_MANIFEST_MEDIA_TYPE]);

/**
 * Fetches an image's manifest and config for `platform`: a tag or digest naming
 * an index is followed to the platform's manifest. Digests are verified.
 * Rejects with `SDX_BASE_PLATFORM` (listing what there is) when the image has no
 * such platform, besides the client's registry errors.
 */
export async function pullImage(client: RegistryClient, ref: string | ImageRef, options: PullImageOptions): Promise<PulledImage> {
  const image = toImageRef(ref);
  const location = client.locate(image);
  const reference = image.digest ?? image.tag ?? "latest";
  const call: RegistryRequestOptions = options.signal === undefined ? {} : { signal: options.signal };
  const wanted = options.platform;
  const first = await client.getManifest(location, reference, call);
  const firstJson = parseJson(first.bytes, location, `manifest ${image.ref}`);
  let indexDigest: string | undefined;
  let manifestDigest = first.descriptor.digest;
  let manifestJson = firstJson;
  let mediaType = mediaTypeOf(first.descriptor.mediaType, firstJson);
  if (INDEX_TYPES.has(mediaType)) {
    indexDigest = first.descriptor.digest;
    const entries = descriptors(firstJson["manifests"], location, "manifests");
    const chosen = choosePlatform(entries, wanted);
    if (chosen === undefined) throw platformError(image.ref, location, wanted, entries.map((e) => e.platform).filter((p): p is Platform => p !== undefined));
    const platformManifest = await client.getManifest(location, chosen.digest, call);
    manifestDigest = platformManifest.descriptor.digest;
    manifestJson = parseJson(platformManifest.bytes, location, `manifest ${chosen.digest}`);
    mediaType = mediaTypeOf(chosen.mediaType || platformManifest.descriptor.mediaType, manifestJson);
  }
  if (!MANIFEST_TYPES.has(mediaType)) {
    throw new SdxError("SDX_REGISTRY_ERROR", `${image.ref} is a ${mediaType === "" ? "manifest of unknown type" : mediaType}, not an image sdx can build on`, {
      fault: "user",
      hint: "Use an OCI or Docker schema 2 image as the base.",
      details: { registry: location.registry, repository: location.repository, mediaType },
    });
  }
  const [config] = descriptors([manifestJson["config"]], location, "config");
  const layers = descriptors(manifestJson["layers"], location, "layers");
  const configBytes = await client.getBlob(location, config!.digest, call);
  const configJson = parseJson(configBytes, location, `config ${config!.digest}`);
  const platform: Platform = {
    os: typeof configJson["os"] === "string" ? configJson["os"] : "",
    architecture: typeof configJson["architecture"] === "string" ? configJson["architecture"] : "",
    ...(typeof configJson["variant"] === "string" ? { variant: configJson["variant"] } : {}),
  };
  // A single-platform image (or a lying index entry) must still be what was asked for.
  if (!platformMatches(platform, wanted)) throw platformError(image.ref, location, wanted, [platform]);
  return {
    ref: image.ref,
    location,
    ...(indexDigest === undefined ? {} : { indexDigest }),
    manifestDigest,
    manifest: { mediaType, config: config!, layers },
    config: configJson,
    configBytes,
    platform,
  };
}

/** `linux/arm64/v8`. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((s) => s !== undefined && s !== "").join("/");
}

/**
 * The index entry for `wanted`: same os and architecture; when a variant is
 * asked for it must match (arm64 without one counts as `v8`), otherwise entries
 * without a variant come first.
 */
function choosePlatform(entries: readonly Descriptor[], wanted: TargetPlatform): Descriptor | undefined {
  const matching = entries.filter((e) => e.platform !== undefined && platformMatches(e.platform, wanted));
  return matching.find((e) => e.platform!.variant === undefined || e.platform!.variant === defaultVariant(wanted.architecture)) ?? matching[0];
}

function platformMatches(p: Platform, wanted: TargetPlatform): boolean {
  if (p.os !== wanted.os || p.architecture !== wanted.architecture) return false;
  if (wanted.variant === undefined) return true;
  return (p.variant ?? defaultVariant(p.architecture)) === wanted.variant;
}

function defaultVariant(architecture: string): string | undefined {
  return architecture === "arm64" ? "v8" : undefined;
}

function platformError(ref: string, location: RegistryLocation, wanted: TargetPlatform, available: readonly Platform[]): SdxError {
  // Attestation manifests carry unknown/unknown; they are not platforms anyone can run.
  const names = [...new Set(available.filter((p) => p.os !== "unknown").map(formatPlatform))];
  const has = names.length === 0 ? "no platform sdx can use" : names.join(", ");
  return new SdxError("SDX_BASE_PLATFORM", `${ref} has no ${formatPlatform(wanted)} image; it has ${has}`, {
    fault: "user",
    hint: `Choose a base image published for ${formatPlatform(wanted)}, or build for one of: ${has}.`,
    details: { registry: location.registry, repository: location.repository, wanted: formatPlatform(wanted), available: names },
  });
}

function mediaTypeOf(declared: string, json: Readonly<Record<string, unknown>>): string {
  if (typeof json["mediaType"] === "string" && json["mediaType"] !== "") return json["mediaType"];
  if (declared !== "") return declared;
  // OCI allows leaving mediaType out; the shape tells.
  if (Array.isArray(json["manifests"])) return OCI_INDEX_MEDIA_TYPE;
  if (json["config"] !== undefined) return OCI_MANIFEST_MEDIA_TYPE;
  return "";
}

function parseJson(bytes: Uint8Array, location: RegistryLocation, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new SdxError("SDX_REGISTRY_ERROR", `registry ${location.registry} sent a ${what} that is not a JSON object`, {
      fault: "backend",
      details: { registry: location.registry, repository: location.repository },
    });
  }
  return parsed as Record<string, unknown>;
}

function descriptors(value: unknown, location: RegistryLocation, field: string): Descriptor[] {
  if (!Array.isArray(value)) throw malformed(location, field);
  return value.map((v) => {
    if (typeof v !== "object" || v === null) throw malformed(location, field);
    const d = v as Record<string, unknown>;
    if (typeof d["digest"] !== "string" || typeof d["size"] !== "number") throw malformed(location, field);
    const p = d["platform"] as Record<string, unknown> | undefined;
    const platform =
      typeof p === "object" && p !== null && typeof p["os"] === "string" && typeof p["architecture"] === "string"
        ? { os: p["os"], architecture: p["architecture"], ...(typeof p["variant"] === "string" ? { variant: p["variant"] } : {}) }
        : undefined;
    const annotations = typeof d["annotations"] === "object" && d["annotations"] !== null ? (d["annotations"] as Record<string, string>) : undefined;
    return {
      mediaType: typeof d["mediaType"] === "string" ? d["mediaType"] : "",
      digest: d["digest"],
      size: d["size"],
      ...(platform === undefined ? {} : { platform }),
      ...(annotations === undefined ? {} : { annotations }),
    };
  });
}

function malformed(location: RegistryLocation, field: string): SdxError {
  return new SdxError("SDX_REGISTRY_ERROR", `registry ${location.registry} sent a manifest whose ${field} are malformed`, {
    fault: "backend",
    details: { registry: location.registry, repository: location.repository, field },
  });
}
