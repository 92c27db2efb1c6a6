import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { join, posix } from "node:path";
import { SdxError, throwIfAborted } from "../errors/sdx-error.js";
import type { Descriptor, Platform, PulledImage } from "../image/pull-image.js";
import type { PushableBlob, PushableImage } from "../image/push-image.js";
import { collectBuildContext, type BuildContextLimits } from "./collect-build-context.js";
import { createLayer, type BuiltLayer, type LayerRole } from "./layer.js";
import { cacheBlobDir } from "./layer-cache.js";
import { nodeArchOf } from "./node-arch.js";
import { NODE_LABEL, NODE_RUNTIME_PATH, nodeInBase, nodeRuntimeLayer } from "./node-runtime-layer.js";
import { baseDiffIds, carriedLayer, createImageConfig, createImageManifest, DEFAULT_PATH, envGet, type AddedLayer } from "./oci-image.js";
import type { NpmCommand } from "./run-npm.js";
import { stageNodeDependencies, type DependenciesMode } from "./stage-node-dependencies.js";

/**
 * The fixed timestamp of every file and of the image when neither the `epoch`
 * option nor `SOURCE_DATE_EPOCH` sets one: 1980-01-01T00:00:00Z, the earliest
 * time ZIP (and so jar/wheel tooling) can store, as ko and Bazel do.
 */
export const DEFAULT_BUILD_EPOCH = 315532800;

/**
 * Node version of the runtime layer when the base has none and the service names
 * none. A constant, not the Node running sdx: the digest must not depend on which
 * patch release the machine that builds happens to have. Raised on purpose (it
 * rolls every such service), with the project's pinned Node (scripts/use-node.sh).
 */
export const DEFAULT_BUILD_NODE = "24.21.0";

/** The image's user when the build names none: 65532, the `nonroot` user of distroless images. */
export const DEFAULT_BUILD_USER = "65532:65532";

/** Where the app files go and the program starts. */
export const DEFAULT_WORKDIR = "/app";

/** What to build: a Node (or compiled TypeScript) app directory. */
export interface NodeBuildSpec {
  /** Absolute directory holding the source (the caller checked it is inside the app's directory). */
  readonly context: string;
  /** The program the image runs, relative to `context`, e.g. `server.js` or `dist/main.js`. */
  readonly entry: string;
  /** Glob patterns of files to ship (see `compileGlob`); empty means all. @default [] */
  readonly include?: readonly string[];
  /** Glob patterns left out, besides `DEFAULT_BUILD_EXCLUDES`. @default [] */
  readonly exclude?: readonly string[];
  /** @default "npm-ci" */
  readonly dependencies?: DependenciesMode;
  /** Exact Node version of the runtime layer added when the base has no Node. @default DEFAULT_BUILD_NODE */
  readonly node?: string;
  /**
   * Environment baked into the image config. Anyone who can pull the image can
   * read it: never put secrets here (use the service's `secrets`). @default {}
   */
  readonly env?: Readonly<Record<string, string>>;
  /** @default DEFAULT_BUILD_USER ("65532:65532") */
  readonly user?: string;
  /** Absolute directory in the image holding the app files. @default DEFAULT_WORKDIR ("/app") */
  readonly workdir?: string;
  /** The image's `org.opencontainers.image.revision` label, e.g. a git commit. @default the source revision */
  readonly revision?: string;
}

/** Something the build is doing; `message` is one human-readable line. */
export interface BuildProgress {
  readonly step: "context" | "runtime" | "dependencies" | "app" | "image";
  readonly message: string;
  /** The step's layer came from the cache. */
  readonly cached?: boolean;
}

/** Options for {@link buildNodeImage}. */
export interface BuildImageOptions {
  /**
   * Seconds since 1970 for every file and the image's `created`.
   * @default SOURCE_DATE_EPOCH from `env`, else DEFAULT_BUILD_EPOCH (1980-01-01)
   */
  readonly epoch?: number;
  /** Where dependency and runtime layers are cached. @default defaultBuildCacheDir(env) */
  readonly cacheDir?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (e: BuildProgress) => void;
  /** How npm is started. @default "npm" */
  readonly npmCommand?: NpmCommand;
  /** Environment for SOURCE_DATE_EPOCH, XDG_CACHE_HOME and npm. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where `entry` was written, for errors. @default "build.entry" */
  readonly entryPath?: string;
  /** Where the build spec was written, for other errors. @default `entryPath` without `.entry` */
  readonly buildPath?: string;
  /** Caps on the app files and node_modules. @default LIMITS.buildFileBytes, buildContextBytes, buildContextFiles */
  readonly limits?: BuildContextLimits;
}

/** One layer of a built image. Base layers carry no bytes: the pusher mounts or copies them from the base's repository. */
export interface BuiltImageLayer extends PushableBlob {
  readonly role: LayerRole;
  readonly diffId: string;
}

/** Compressed sizes in bytes. */
export interface BuiltImageSizes {
  readonly base: number;
  readonly runtime: number;
  readonly dependencies: number;
  readonly app: number;
  readonly config: number;
  /** Every layer and the config. */
  readonly total: number;
  /** What sdx added: runtime, dependencies, app and config. */
  readonly added: number;
}

/** An image ready to push (a `PushableImage`) with what the build learned. */
export interface BuiltImage extends PushableImage {
  /** The manifest digest: `repository@digest` is what runs. */
  readonly digest: string;
  readonly platform: Platform;
  /**
   * `sha256:` of `"<app layer diffId>\n<dependencies layer diffId or empty>\n"`:
   * identifies the shipped files and dependencies whatever the base or runtime.
   * It depends on the epoch and workdir too (they are in the tar bytes).
   */
  readonly sourceRevision: string;
  /** The parsed config (what `config.bytes` encodes). */
  readonly configJson: Readonly<Record<string, unknown>>;
  readonly layers: readonly BuiltImageLayer[];
  readonly sizes: BuiltImageSizes;
  readonly warnings: readonly string[];
}

/** `${XDG_CACHE_HOME:-~/.cache}/sdx/build`. */
export function defaultBuildCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const xdg = env["XDG_CACHE_HOME"];
  return join(xdg !== undefined && xdg.startsWith("/") ? xdg : join(homedir(), ".cache"), "sdx", "build");
}

/** The epoch a build uses: `epoch`, else SOURCE_DATE_EPOCH, else {@link DEFAULT_BUILD_EPOCH}. */
export function buildEpoch(epoch: number | undefined, env: Readonly<Record<string, string | undefined>>): number {
  if (epoch !== undefined) return epoch;
  const v = env["SOURCE_DATE_EPOCH"];
  if (v === undefined || v === "") return DEFAULT_BUILD_EPOCH;
  if (!/^\d{1,11}$/.test(v)) {
    throw new SdxError("SDX_BUILD_INVALID_EPOCH", `SOURCE_DATE_EPOCH must be whole seconds since 1970, got ${JSON.stringify(v)}`, {
      fault: "user", hint: "Unset it, or set it like SOURCE_DATE_EPOCH=$(git log -1 --format=%ct).", details: { value: v },
    });
  }
  return Number(v);
}

function checkWorkdir(workdir: string, buildPath: string | undefined): string {
  const norm = posix.normalize(workdir).replace(/\/+$/, "");
  if (!workdir.startsWith("/") || norm === "" || norm === "/" || workdir.split("/").includes("..")) {
    throw new SdxError("SDX_BUILD_INVALID_WORKDIR", `workdir ${JSON.stringify(workdir)} must be an absolute directory other than /`, {
      fault: "user", ...(buildPath === undefined ? {} : { path: `${buildPath}.workdir` }), hint: "Use e.g. `/app`.", details: { workdir },
    });
  }
  return norm;
}

/** Keeps big app layers out of memory. */
const APP_LAYER_IN_MEMORY_BYTES = 64 * 1024 * 1024;

/**
 * Builds a Node app into an OCI image on top of a pulled base, without Docker.
 * Layers, in this order: the base's; a Node runtime when the base has none
 * (`usr/local/bin/node` from npm's `node-linux-<arch>`); the production
 * dependencies (`<workdir>/node_modules`, see `stageNodeDependencies`); the app
 * files (`<workdir>/…`, see `collectBuildContext`). The config runs
 * `node <workdir>/<entry>` as `user` in `workdir` with `NODE_ENV=production` and
 * `SDX_SOURCE_REVISION`. Every timestamp is the epoch and every owner root, so
 * the same source, base and epoch give the same digest on any machine (with the
 * same Node major, whose zlib compresses).
 */
export async function buildNodeImage(spec: NodeBuildSpec, base: PulledImage, options: BuildImageOptions = {}): Promise<BuiltImage> {
  const env = options.env ?? process.env;
  const epoch = buildEpoch(options.epoch, env);
  const cacheDir = options.cacheDir ?? defaultBuildCacheDir(env);
  const entryPath = options.entryPath ?? "build.entry";
  const buildPath = options.buildPath ?? (entryPath.endsWith(".entry") ? entryPath.slice(0, -".entry".length) : undefined);
  const workdir = checkWorkdir(spec.workdir ?? DEFAULT_WORKDIR, buildPath);
  const progress = (step: BuildProgress["step"], message: string, cached?: boolean): void => options.onProgress?.({ step, message, ...(cached === undefined ? {} : { cached }) });
  const signal = options.signal ? { signal: options.signal } : {};
  const npm = { ...(options.npmCommand === undefined ? {} : { npmCommand: options.npmCommand }), env };
  const arch = nodeArchOf(base.platform, buildPath === undefined ? undefined : `${buildPath}.base`);
  const warnings: string[] = [];

  const context = await collectBuildContext({
    context: spec.context, entry: spec.entry, prefix: workdir.slice(1), entryPath,
    ...(spec.include ? { include: spec.include } : {}), ...(spec.exclude ? { exclude: spec.exclude } : {}),
    ...(buildPath === undefined ? {} : { buildPath }), ...(options.limits ? { limits: options.limits } : {}), ...signal,
  });
  warnings.push(...context.warnings);
  progress("context", `app files: ${context.files.length} files, ${context.bytes} bytes`);

  const added: { layer: BuiltLayer; createdBy: string }[] = [];
  const inBase = nodeInBase(base.config);
  let nodeCommand: string;
  let nodeVersion: string;
  const env0: [string, string][] = [];
  const basePath = envGet(Array.isArray((base.config.config as { Env?: unknown } | undefined)?.Env) ? ((base.config.config as { Env: string[] }).Env) : [], "PATH");
  if (inBase.kind === "absent") {
    throwIfAborted(options.signal);
    nodeVersion = spec.node ?? DEFAULT_BUILD_NODE;
    const rt = await nodeRuntimeLayer({
      version: nodeVersion, arch, epoch, cacheDir, ...npm, ...signal,
      ...(buildPath === undefined ? {} : { versionPath: `${buildPath}.node` }),
      onProgress: (m) => progress("runtime", m),
    });
    progress("runtime", `runtime: Node ${rt.version} layer ${rt.layer.descriptor.digest.slice(0, 19)}${rt.cached ? " (cached)" : ""}`, rt.cached);
    added.push({ layer: rt.layer, createdBy: `sdx: Node ${rt.version} (${rt.source}) at ${NODE_RUNTIME_PATH}` });
    nodeCommand = NODE_RUNTIME_PATH;
    const dirs = (basePath ?? DEFAULT_PATH).split(":");
    env0.push(["PATH", dirs.includes("/usr/local/bin") ? (basePath ?? DEFAULT_PATH) : ["/usr/local/bin", ...dirs].join(":")], ["NODE_VERSION", rt.version]);
  } else {
    nodeCommand = inBase.command;
    nodeVersion = inBase.version ?? spec.node ?? DEFAULT_BUILD_NODE;
    if (spec.node !== undefined && inBase.version !== undefined && inBase.version.replace(/^v/, "") !== spec.node) {
      warnings.push(`node: ${spec.node} is ignored: the base image ${base.ref} has Node ${inBase.version}; pick a base with that version (or one without Node) to get it`);
    }
    if (basePath === undefined) env0.push(["PATH", DEFAULT_PATH]);
  }

  throwIfAborted(options.signal);
  const deps = await stageNodeDependencies({
    context: context.root, arch, nodeVersion, workdir, epoch, cacheDir, ...npm, ...signal,
    ...(spec.dependencies ? { mode: spec.dependencies } : {}), ...(options.limits ? { limits: options.limits } : {}),
    ...(buildPath === undefined ? {} : { buildPath }),
    onProgress: (m) => progress("dependencies", m),
  });
  warnings.push(...deps.warnings);
  if (deps.layer !== undefined) {
    progress("dependencies", `dependencies: layer ${deps.layer.descriptor.digest.slice(0, 19)}${deps.cached ? " (cached)" : ""}`, deps.cached);
    const how = spec.dependencies === "copy" ? "node_modules copied from the build context" : `npm ci --omit=dev for linux/${arch}`;
    added.push({ layer: deps.layer, createdBy: `sdx: dependencies (${how})` });
  } else {
    progress("dependencies", `dependencies: none (${deps.skipped ?? "none"})`);
  }

  throwIfAborted(options.signal);
  const app = await createLayer(context.entries, {
    epoch, role: "app", ...signal, ...(context.bytes > APP_LAYER_IN_MEMORY_BYTES ? { blobDir: cacheBlobDir(cacheDir) } : {}),
  });
  progress("app", `app: layer ${app.descriptor.digest.slice(0, 19)} (${app.descriptor.size} bytes)`);
  added.push({ layer: app, createdBy: `sdx: app files (${context.files.length} files) at ${workdir}` });

  const sourceRevision = `sha256:${createHash("sha256").update(`${app.diffId}\n${deps.layer?.diffId ?? ""}\n`).digest("hex")}`;
  const userEnv = Object.entries(spec.env ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const imageEnv: [string, string][] = [...env0, ["NODE_ENV", "production"], ...userEnv, ["SDX_SOURCE_REVISION", sourceRevision]];
  const baseLayers = base.manifest.layers.map(carriedLayer);
  const baseIds = baseDiffIds(base.config, baseLayers.length);
  const labels: Record<string, string> = {
    "org.opencontainers.image.revision": spec.revision ?? sourceRevision,
    "org.opencontainers.image.base.name": base.ref,
    "org.opencontainers.image.base.digest": base.indexDigest ?? base.manifestDigest,
    "dev.sdx.source-revision": sourceRevision,
    ...(inBase.kind === "absent" ? { [NODE_LABEL]: NODE_RUNTIME_PATH } : {}),
  };
  const addedLayers: AddedLayer[] = added.map((a) => ({ descriptor: a.layer.descriptor, diffId: a.layer.diffId, createdBy: a.createdBy }));
  const config = createImageConfig({
    baseConfig: base.config, baseLayers, platform: base.platform, layers: addedLayers, epoch, env: imageEnv,
    entrypoint: [nodeCommand, `${workdir}/${context.entry}`], cmd: [], workingDir: workdir, user: spec.user ?? DEFAULT_BUILD_USER, labels,
  });
  const manifest = createImageManifest(config.descriptor, [...baseLayers, ...added.map((a) => a.layer.descriptor)]);
  progress("image", `image: ${manifest.descriptor.digest}`);

  const layers: BuiltImageLayer[] = [
    ...baseLayers.map((d: Descriptor, i: number) => ({ role: "base" as const, diffId: baseIds[i]!, descriptor: d })),
    ...added.map((a) => a.layer),
  ];
  const sum = (role: LayerRole): number => layers.filter((l) => l.role === role).reduce((n, l) => n + l.descriptor.size, 0);
  const sizes: BuiltImageSizes = {
    base: sum("base"), runtime: sum("runtime"), dependencies: sum("dependencies"), app: sum("app"), config: config.descriptor.size,
    total: layers.reduce((n, l) => n + l.descriptor.size, 0) + config.descriptor.size,
    added: sum("runtime") + sum("dependencies") + sum("app") + config.descriptor.size,
  };
  return {
    manifest: { mediaType: manifest.descriptor.mediaType, bytes: manifest.bytes, digest: manifest.descriptor.digest },
    config: { descriptor: config.descriptor, bytes: config.bytes },
    configJson: config.json,
    layers,
    source: base.location,
    digest: manifest.descriptor.digest,
    platform: base.platform,
    sourceRevision,
    sizes,
    warnings,
  };
}
