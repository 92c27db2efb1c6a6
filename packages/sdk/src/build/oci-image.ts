import { createHash } from "node:crypto";
import { SdxError } from "../errors/sdx-error.js";
import type { Descriptor, Platform, PulledImage } from "../image/pull-image.js";
import { canonicalJson } from "../revision/canonical-json.js";
import { OCI_LAYER_GZIP } from "./layer.js";

/** OCI image manifest media type. */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** OCI image config media type. */
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
/** OCI image index media type. */
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

/**
 * Docker's media type for a gzip layer: byte-for-byte the OCI one, so base layers
 * carried into an OCI manifest are relabelled (same digest, same blob).
 */
const DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/** The PATH of images whose base declares none (Debian's default). */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Keys of the base's `config` carried into the image besides the ones sdx sets.
 * Others (`OnBuild`, Docker's legacy `Image`, `ArgsEscaped`, ...) would act on
 * or describe the base, not this image.
 */
const CARRIED_CONFIG_KEYS = ["ExposedPorts", "Volumes", "StopSignal", "Healthcheck"] as const;

/** A layer sdx added, as the config and manifest list it. */
export interface AddedLayer {
  readonly descriptor: Descriptor;
  readonly diffId: string;
  /** The history entry's `created_by`, e.g. "sdx: app files (12 files)". */
  readonly createdBy: string;
}

/** What {@link createImageConfig} needs. */
export interface ImageConfigSpec {
  /** The config of the base image, as pulled. */
  readonly baseConfig: Readonly<Record<string, unknown>>;
  /** The base's layers as its manifest lists them (their count must match its diff_ids). */
  readonly baseLayers: readonly Descriptor[];
  readonly platform: Platform;
  /** Layers on top of the base, in order. */
  readonly layers: readonly AddedLayer[];
  /** Seconds since 1970: `created` and every history entry. */
  readonly epoch: number;
  /** Variables set after the base's, in this order; a name the base has is replaced in place. */
  readonly env: readonly (readonly [string, string])[];
  readonly entrypoint: readonly string[];
  /** @default [] */
  readonly cmd?: readonly string[];
  readonly workingDir: string;
  readonly user: string;
  /** Labels set on top of the base's. */
  readonly labels: Readonly<Record<string, string>>;
}

/** A JSON blob as pushed: its bytes and descriptor. */
export interface JsonBlob {
  readonly json: Readonly<Record<string, unknown>>;
  readonly bytes: Uint8Array;
  readonly descriptor: Descriptor;
}

const encoder = new TextEncoder();

/** Canonical JSON bytes (keys sorted, no whitespace) and their descriptor: the same data is always the same digest. */
export function jsonBlob(json: Readonly<Record<string, unknown>>, mediaType: string): JsonBlob {
  const bytes = encoder.encode(canonicalJson(json));
  return { json, bytes, descriptor: { mediaType, digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`, size: bytes.length } };
}

/** RFC 3339 in UTC without fractional seconds, as Go tools write it. */
export const rfc3339 = (epoch: number): string => new Date(epoch * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");

/**
 * `env` applied over `base` (`NAME=value` strings): a name already there keeps
 * its place with the new value, new names are appended in the order given.
 */
export function mergeEnv(base: readonly string[], set: readonly (readonly [string, string])[]): string[] {
  const out = base.filter((e) => typeof e === "string");
  for (const [k, v] of set) {
    const i = out.findIndex((e) => e === k || e.startsWith(`${k}=`));
    if (i === -1) out.push(`${k}=${v}`);
    else out[i] = `${k}=${v}`;
  }
  return out;
}

/** The value of `name` in `NAME=value` strings. */
export function envGet(env: readonly string[], name: string): string | undefined {
  for (const e of env) if (e.startsWith(`${name}=`)) return e.slice(name.length + 1);
  return undefined;
}

function badBase(why: string): SdxError {
  return new SdxError("SDX_BUILD_BAD_BASE", `The base image's config ${why}`, { fault: "backend", hint: "Use a base image built by a standard tool (docker, buildkit, ko, sdx)." });
}

/** The base's `rootfs.diff_ids`, checked against its layer count. */
export function baseDiffIds(config: Readonly<Record<string, unknown>>, layerCount: number): string[] {
  const rootfs = config.rootfs as { type?: unknown; diff_ids?: unknown } | undefined;
  const ids = rootfs?.diff_ids ?? [];
  if (!Array.isArray(ids) || ids.some((d) => typeof d !== "string")) throw badBase("has no rootfs.diff_ids list");
  if (ids.length !== layerCount) throw badBase(`lists ${ids.length} diff_ids for ${layerCount} layers`);
  return ids as string[];
}

/**
 * The image config (OCI image-spec `config.md`): the base's, with the base's
 * diff_ids and history followed by the added layers', `created` at the epoch, and
 * Env, Entrypoint, Cmd, WorkingDir, User and Labels set. Keys are sorted, so the
 * same inputs are the same bytes and digest.
 */
export function createImageConfig(spec: ImageConfigSpec): JsonBlob {
  const base = spec.baseConfig;
  const baseCfg = (typeof base.config === "object" && base.config !== null ? base.config : {}) as Record<string, unknown>;
  const diffIds = [...baseDiffIds(base, spec.baseLayers.length), ...spec.layers.map((l) => l.diffId)];
  const created = rfc3339(spec.epoch);
  const history = [...(Array.isArray(base.history) ? (base.history as unknown[]) : []), ...spec.layers.map((l) => ({ created, created_by: l.createdBy }))];
  const baseLabels = (typeof baseCfg.Labels === "object" && baseCfg.Labels !== null ? baseCfg.Labels : {}) as Record<string, string>;
  const config: Record<string, unknown> = {};
  for (const k of CARRIED_CONFIG_KEYS) if (baseCfg[k] !== undefined && baseCfg[k] !== null) config[k] = baseCfg[k];
  Object.assign(config, {
    Env: mergeEnv(Array.isArray(baseCfg.Env) ? (baseCfg.Env as string[]) : [], spec.env),
    Entrypoint: [...spec.entrypoint],
    Cmd: [...(spec.cmd ?? [])],
    WorkingDir: spec.workingDir,
    User: spec.user,
    Labels: { ...baseLabels, ...spec.labels },
  });
  const json: Record<string, unknown> = {
    created,
    architecture: spec.platform.architecture,
    os: spec.platform.os,
    ...(spec.platform.variant ? { variant: spec.platform.variant } : {}),
    ...(typeof base["os.version"] === "string" ? { "os.version": base["os.version"] } : {}),
    ...(Array.isArray(base["os.features"]) ? { "os.features": base["os.features"] } : {}),
    config,
    rootfs: { type: "layers", diff_ids: diffIds },
    history,
  };
  return jsonBlob(json, OCI_CONFIG);
}

/** A base layer's descriptor as the new manifest lists it: Docker's gzip type relabelled, no platform. */
export function carriedLayer(d: Descriptor): Descriptor {
  const { platform: _platform, ...rest } = d;
  return d.mediaType === DOCKER_LAYER_GZIP ? { ...rest, mediaType: OCI_LAYER_GZIP } : rest;
}

/** The image manifest (OCI image-spec `manifest.md`), canonical JSON. */
export function createImageManifest(config: Descriptor, layers: readonly Descriptor[], annotations?: Readonly<Record<string, string>>): JsonBlob {
  const json: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ ...l })),
    ...(annotations && Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {}),
  };
  return jsonBlob(json, OCI_MANIFEST);
}

/** An image index (OCI image-spec `image-index.md`) of platform manifests, canonical JSON. */
export function createImageIndex(manifests: readonly Descriptor[], annotations?: Readonly<Record<string, string>>): JsonBlob {
  const json: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: manifests.map((m) => ({ ...m })),
    ...(annotations && Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {}),
  };
  return jsonBlob(json, OCI_INDEX);
}
