import { createHash, randomBytes } from "node:crypto";
import { lstat, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SdxError, throwIfAborted } from "../errors/sdx-error.js";
import { readContainedBytes } from "../load/read-contained-file.js";
import { LIMITS } from "../model/limits.js";
import { walkTree, type BuildContextLimits } from "./collect-build-context.js";
import { createLayer, type BuiltLayer } from "./layer.js";
import { cacheBlobDir, readCachedLayer, writeCachedLayer } from "./layer-cache.js";
import type { NodeArch } from "./node-arch.js";
import { runNpm, type NpmCommand } from "./run-npm.js";

/**
 * Where an image's `node_modules` comes from. `npm-ci`: a clean production
 * install from package.json and its lockfile, for the image's platform;
 * `copy`: the context's own `node_modules` as it is (workspaces, private
 * packages, a prepared tree); `none`: no dependency layer.
 */
export type DependenciesMode = "npm-ci" | "copy" | "none";

/** Options for {@link stageNodeDependencies}. */
export interface StageNodeDependenciesOptions {
  /** Absolute build context (holding package.json). */
  readonly context: string;
  /** @default "npm-ci" */
  readonly mode?: DependenciesMode;
  /** The image's architecture (npm's `--cpu`). */
  readonly arch: NodeArch;
  /** Node version the image runs; its major is part of the cache key (the ABI of native addons follows it). */
  readonly nodeVersion: string;
  /** The image's working directory; `node_modules` goes inside it. */
  readonly workdir: string;
  /** Modification time of every entry, in seconds since 1970. */
  readonly epoch: number;
  /** Where staging directories and finished layers are kept. */
  readonly cacheDir: string;
  /** @default "npm" */
  readonly npmCommand?: NpmCommand;
  /** npm's environment (registry settings, proxies). @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly limits?: BuildContextLimits;
  /** Where the build spec was written, for errors (e.g. `services.web.build`). */
  readonly buildPath?: string;
  readonly signal?: AbortSignal;
  /** Told what is happening (installing, cached). */
  readonly onProgress?: (message: string) => void;
}

/** The dependency layer, or why there is none. */
export interface StagedDependencies {
  readonly layer?: BuiltLayer;
  /** The layer came from the cache: no npm run, no compression. */
  readonly cached: boolean;
  /** Why there is no layer, when there is none. */
  readonly skipped?: string;
  readonly warnings: readonly string[];
}

/** Bumped when the layout of dependency layers changes, so old cache entries are not reused. */
const CACHE_FORMAT = "sdx-deps-v1";

interface PackageJson {
  readonly dependencies?: unknown;
  readonly optionalDependencies?: unknown;
}

const nonEmptyObject = (v: unknown): boolean => typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length > 0;

const sha256Hex = (b: Uint8Array | string): string => createHash("sha256").update(b).digest("hex");

const archiveDir = (workdir: string): string => workdir.replace(/^\/+|\/+$/g, "");

function withPath(buildPath: string | undefined, key: string): { path?: string } {
  return buildPath === undefined ? {} : { path: `${buildPath}.${key}` };
}

/** Reads a file of the context if it is there (contained: a symlink out of the context is refused). */
function readOptional(context: string, name: string, maxBytes: number): Buffer | undefined {
  try {
    return readContainedBytes(name, { baseDir: context, maxBytes, what: name });
  } catch (e) {
    if (e instanceof SdxError && e.code === "SDX_FILE_UNREADABLE" && (e.cause as NodeJS.ErrnoException | undefined)?.code === "ENOENT") return undefined;
    throw e;
  }
}

/**
 * Builds the dependency layer (`<workdir>/node_modules`). With `npm-ci`: nothing
 * when package.json declares no `dependencies` (or `optionalDependencies`);
 * otherwise package.json and its lockfile (`npm-shrinkwrap.json` or
 * `package-lock.json`, else `SDX_BUILD_NO_LOCKFILE`) are copied to a staging
 * directory (with the context's `.npmrc`, if any) and
 * `npm ci --omit=dev --ignore-scripts --os=linux --cpu=<arch>` runs
 * there (`SDX_BUILD_DEPENDENCIES` with npm's stderr on failure). Install scripts
 * do not run, so native addons must ship prebuilt binaries. The finished layer
 * is cached under a key of package.json, lockfile, architecture, Node major,
 * epoch and workdir: a rebuild with the same lockfile runs neither npm nor gzip.
 */
export async function stageNodeDependencies(options: StageNodeDependenciesOptions): Promise<StagedDependencies> {
  const mode = options.mode ?? "npm-ci";
  if (mode === "none") return { cached: false, skipped: "dependencies: none", warnings: [] };
  if (mode === "copy") return copyNodeModules(options);
  const pkgBytes = readOptional(options.context, "package.json", LIMITS.appFileBytes);
  if (pkgBytes === undefined) return { cached: false, skipped: "no package.json in the build context", warnings: [] };
  let pkg: PackageJson;
  try {
    pkg = JSON.parse(pkgBytes.toString("utf8")) as PackageJson;
  } catch (e) {
    throw new SdxError("SDX_BUILD_BAD_PACKAGE_JSON", `package.json in ${options.context} is not valid JSON`, {
      fault: "user", cause: e, ...withPath(options.buildPath, "context"), hint: "Fix package.json (npm pkg get name shows the parse error).", details: { file: join(options.context, "package.json") },
    });
  }
  if (typeof pkg !== "object" || pkg === null || (!nonEmptyObject(pkg.dependencies) && !nonEmptyObject(pkg.optionalDependencies))) {
    return { cached: false, skipped: "package.json declares no dependencies", warnings: [] };
  }
  // npm's own precedence: a shrinkwrap wins over package-lock.json.
  let lockName = "npm-shrinkwrap.json";
  let lockBytes = readOptional(options.context, lockName, LIMITS.buildFileBytes);
  if (lockBytes === undefined) {
    lockName = "package-lock.json";
    lockBytes = readOptional(options.context, lockName, LIMITS.buildFileBytes);
  }
  if (lockBytes === undefined) {
    throw new SdxError("SDX_BUILD_NO_LOCKFILE", `package.json in ${options.context} has dependencies but no package-lock.json or npm-shrinkwrap.json next to it`, {
      fault: "user", ...withPath(options.buildPath, "dependencies"),
      hint: `Create the lockfile with \`npm install --package-lock-only\` in ${options.context} and commit it (the image installs exactly what it pins), or set \`dependencies: copy\` to ship node_modules as it is.`,
      details: { context: options.context },
    });
  }
  const major = options.nodeVersion.split(".")[0] ?? options.nodeVersion;
  const key = sha256Hex([CACHE_FORMAT, options.arch, major, String(options.epoch), options.workdir, lockName, sha256Hex(pkgBytes), sha256Hex(lockBytes)].join("\0"));
  const cached = await readCachedLayer(options.cacheDir, `deps-${key}`, "dependencies");
  if (cached !== undefined) {
    options.onProgress?.(`dependencies: cached layer ${cached.descriptor.digest.slice(0, 19)}`);
    return { layer: cached, cached: true, warnings: [] };
  }
  throwIfAborted(options.signal);
  // A build killed during npm ci (SIGKILL, OOM) leaves its staging folder, with the project's .npmrc: remove those of dead processes first.
  await sweepDeadStaging(join(options.cacheDir, "staging"));
  const stage = join(options.cacheDir, "staging", `${key.slice(0, 16)}-${process.pid}-${randomBytes(4).toString("hex")}`);
  await mkdir(stage, { recursive: true });
  try {
    await writeFile(join(stage, "package.json"), pkgBytes);
    await writeFile(join(stage, lockName), lockBytes);
    // The project's .npmrc (private registries, scopes) applies to the install; it
    // never reaches the image (the app layer leaves it out by default).
    const npmrc = readOptional(options.context, ".npmrc", LIMITS.appFileBytes);
    if (npmrc !== undefined) await writeFile(join(stage, ".npmrc"), npmrc, { mode: 0o600 });
    options.onProgress?.(`dependencies: npm ci (linux/${options.arch})`);
    await runNpm({
      ...(options.npmCommand === undefined ? {} : { command: options.npmCommand }),
      args: ["ci", "--prefix", stage, "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--os=linux", `--cpu=${options.arch}`, "--json"],
      cwd: stage,
      ...(options.env ? { env: options.env } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      code: "SDX_BUILD_DEPENDENCIES",
      what: "npm ci",
      hint: `Check that ${lockName} matches package.json (\`npm install --package-lock-only\`) and that the registry is reachable; \`dependencies: copy\` ships node_modules as it is instead.`,
    });
    const modules = join(stage, "node_modules");
    const st = await lstat(modules).catch(() => undefined);
    if (st?.isDirectory() !== true) return { cached: false, skipped: "npm ci installed nothing", warnings: [] };
    const tree = await walkTree({
      root: modules, prefix: `${archiveDir(options.workdir)}/node_modules`, defaultExcludes: [], what: "installed node_modules",
      ...(options.limits ? { limits: options.limits } : {}), ...(options.buildPath === undefined ? {} : { buildPath: options.buildPath }), ...(options.signal ? { signal: options.signal } : {}),
    });
    options.onProgress?.(`dependencies: layer of ${tree.files.length} files (${tree.bytes} bytes)`);
    const layer = await createLayer(tree.entries, { epoch: options.epoch, role: "dependencies", blobDir: cacheBlobDir(options.cacheDir), ...(options.signal ? { signal: options.signal } : {}) });
    await writeCachedLayer(options.cacheDir, `deps-${key}`, layer);
    return { layer, cached: false, warnings: tree.warnings };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/** `dependencies: copy`: the context's node_modules as it is; symlinks may point anywhere inside the context (workspaces). */
async function copyNodeModules(options: StageNodeDependenciesOptions): Promise<StagedDependencies> {
  const modules = join(options.context, "node_modules");
  const st = await lstat(modules).catch(() => undefined);
  if (st?.isDirectory() !== true) {
    throw new SdxError("SDX_BUILD_NO_NODE_MODULES", `dependencies: copy, but ${modules} is ${st?.isSymbolicLink() === true ? "a symlink" : "not a directory"}`, {
      fault: "user", ...withPath(options.buildPath, "dependencies"), hint: "Run `npm ci --omit=dev` in the build context first, or use `dependencies: npm-ci`.", details: { path: modules },
    });
  }
  const tree = await walkTree({
    root: modules, containRoot: options.context, prefix: `${archiveDir(options.workdir)}/node_modules`, defaultExcludes: [], what: "node_modules",
    ...(options.limits ? { limits: options.limits } : {}), ...(options.buildPath === undefined ? {} : { buildPath: options.buildPath }), ...(options.signal ? { signal: options.signal } : {}),
  });
  const warnings = [...tree.warnings];
  const addons = tree.files.filter((f) => f.endsWith(".node"));
  if (addons.length > 0) {
    warnings.push(`dependencies: copy ships native addons as built on this machine (${process.platform}/${process.arch}); they must be built for linux/${options.arch} and the image's libc: ${addons.slice(0, 3).join(", ")}${addons.length > 3 ? ` and ${addons.length - 3} more` : ""}`);
  }
  options.onProgress?.(`dependencies: copying node_modules (${tree.files.length} files, ${tree.bytes} bytes)`);
  const layer = await createLayer(tree.entries, { epoch: options.epoch, role: "dependencies", blobDir: cacheBlobDir(options.cacheDir), ...(options.signal ? { signal: options.signal } : {}) });
  return { layer, cached: false, warnings };
}

/** Removes staging folders (`<key>-<pid>-<random>`) whose process is gone. */
export async function sweepDeadStaging(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.map(async (name) => {
    const pid = Number(/^[0-9a-f]+-(\d+)-[0-9a-f]+$/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || processAlive(pid)) return;
    await rm(join(dir, name), { recursive: true, force: true }).catch(() => undefined);
  }));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but is someone else's.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
