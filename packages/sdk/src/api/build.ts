import { statSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildEpoch, buildNodeImage, defaultBuildCacheDir, type BuiltImage } from "../build/build-node-image.js";
import { SdxError, isSdxError, throwIfAborted, toSdxError } from "../errors/sdx-error.js";
import { emit } from "../events/sdx-event.js";
import { pullImage, type PulledImage } from "../image/pull-image.js";
import { pushImage } from "../image/push-image.js";
import { createRegistryClient, type CredentialResolver, type RegistryClient } from "../image/registry-client.js";
import { defaultCredentialResolver } from "../image/registry-credentials.js";
import { registryOf, type RegistryLocation } from "../image/resolve-image-digest.js";
import { resolveContainedPath } from "../load/read-contained-file.js";
import type { BackendRegistry } from "../backend/backend-registry.js";
import type { App, BuildSpec, Service, Target } from "../model/app.js";
import { parseImageRef } from "../model/image-ref.js";
import { computeRevision } from "../revision/compute-revision.js";
import { didYouMean } from "../util/did-you-mean.js";
import type { OperationOptions } from "./plan.js";
import { findTarget, prepareApp, type AppSource, type PreparedApp } from "./prepare-app.js";
import { repositoryFor } from "./repository-for.js";
import { sdxServices } from "./sdx-services.js";

/** How sdx reaches registries: for pulling bases, pushing builds and resolving digests. */
export interface RegistryAccess {
  /** Injected for tests and proxies. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /**
   * Credentials per registry host. @default `defaultCredentialResolver`: SDX_REGISTRY_* variables,
   * `~/.docker/config.json` (auths, credHelpers, credsStore), then ECR for `*.dkr.ecr.*.amazonaws.com`
   */
  readonly credentials?: CredentialResolver;
  /** Registries spoken to over http. @default localhost, 127.0.0.1, [::1] */
  readonly insecureHosts?: readonly string[];
}

/** Options for {@link build}. */
export interface BuildOptions extends OperationOptions {
  /**
   * The target whose `registry` built images go to (`registry:` on a target wins over the app's `build.registry`).
   * @default the app's defaultTarget, else none (the app's registry or each service's repository)
   */
  readonly target?: string;
  /** Build only these services. @default every service with `build` */
  readonly services?: readonly string[];
  /** Push to the registry; `false` only builds and reports the digest (what `plan` does). Never for a target whose backend delivers images. @default true */
  readonly push?: boolean;
  readonly registry?: RegistryAccess;
  /** Where layers of dependencies and Node runtimes are cached. @default ${XDG_CACHE_HOME:-~/.cache}/sdx/build */
  readonly cacheDir?: string;
  /** Seconds since 1970 for every timestamp in the image. @default SOURCE_DATE_EPOCH, else the builder's fixed epoch */
  readonly sourceDateEpoch?: number;
}

/** One service's image as built (and pushed). */
export interface BuiltService {
  readonly service: string;
  /** `registry/path` pushed to. */
  readonly repository: string;
  /** The image manifest's digest, `sha256:…`. */
  readonly digest: string;
  /** `repository@digest`: what the service runs. */
  readonly image: string;
  /** e.g. `linux/amd64`. */
  readonly platform: string;
  /** Hash of the app files and dependencies (the image's `org.opencontainers.image.revision` unless given). */
  readonly sourceRevision: string;
  /** The image's layers in order: base ones, then the ones sdx made. */
  readonly layers: readonly { readonly role: string; readonly digest: string; readonly size: number }[];
  /** The registry already had this manifest before this run: the source is unchanged since it was pushed. `undefined` when it could not be asked. */
  readonly existed?: boolean;
  /** What the push did; absent when not pushed. */
  readonly push?: { readonly uploaded: number; readonly present: number; readonly mounted: number; readonly bytesUploaded: number };
  readonly warnings: readonly string[];
}

/** Result of {@link build}. */
export interface BuildResult {
  readonly app: string;
  /** The target whose registry was used. */
  readonly target?: string;
  readonly services: readonly BuiltService[];
}

/**
 * Builds every service that has `build` into an OCI image (no Docker daemon):
 * pulls the base for the service's `placement.arch`, adds the Node runtime (when
 * the base has none), the production dependencies and the app files as
 * reproducible layers, and pushes what the registry lacks (blob HEAD first).
 * The same source gives the same digest on any machine.
 */
export async function build(app: AppSource, options: BuildOptions = {}): Promise<BuildResult> {
  const services = sdxServices(options);
  const p = await prepareApp(app, services, {
    secretsMissing: "warning", ...(options.env ? { env: options.env } : {}), ...(options.baseDir ? { baseDir: options.baseDir } : {}),
    ...(options.allowOutside ? { allowOutside: options.allowOutside } : {}), ...(options.signal ? { signal: options.signal } : {}),
  });
  const targetName = options.target ?? p.app.defaultTarget;
  const target = targetName === undefined || targetName === "cheapest" || targetName === "all" ? undefined : findTarget(p.app, targetName);
  const buildable = p.app.services.filter((s) => s.build);
  if (options.services) {
    for (const name of options.services) {
      if (buildable.some((s) => s.name === name)) continue;
      const known = p.app.services.some((s) => s.name === name);
      const s = didYouMean(name, buildable.map((b) => b.name));
      throw new SdxError("SDX_USAGE", known ? `service "${name}" has no \`build\`: it runs the image it names` : `app "${p.app.name}" has no service "${name}"`, {
        fault: "user", hint: s.length ? `Did you mean "${s[0]}"?` : buildable.length ? `Built services: ${buildable.map((b) => b.name).join(", ")}.` : "Add `build: { entry: server.js }` to a service.",
      });
    }
  }
  const env = options.env ?? services.runtime.env;
  const delivered = target !== undefined && (await targetDeliversImages(services.registry, target));
  const built = await buildImages(p, target, {
    push: options.push !== false,
    ...(delivered ? { delivered } : {}),
    ...(options.services ? { only: options.services } : {}),
    ...(options.registry ? { registry: options.registry } : {}),
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    ...(options.sourceDateEpoch !== undefined ? { sourceDateEpoch: options.sourceDateEpoch } : {}),
    ...(options.allowOutside ? { allowOutside: options.allowOutside } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    env,
  });
  return { app: p.app.name, ...(target ? { target: target.name } : {}), services: built.map((b) => { if (b.kind === "failed") throw b.error; return b.built; }) };
}

/** Options for {@link buildImages}. */
export interface BuildImagesOptions {
  /**
   * `true` pushes as each service is built; `false` only builds (a plan); `"defer"` builds, asks the
   * registry whether it has each image, and leaves the push to the outcome's `push()` (a deploy pushes
   * after it is confirmed). @default true
   */
  readonly push?: boolean | "defer";
  /** Keep going after a service fails, reporting it (plans do; builds and deploys stop). @default false */
  readonly keepGoing?: boolean;
  /**
   * The target's backend delivers images itself (`Backend.deliversImages`): nothing is pushed or asked of
   * the image's registry, whatever `push` says, and a service needs no registry (see `repositoryFor`). @default false
   */
  readonly delivered?: boolean;
  readonly only?: readonly string[];
  readonly registry?: RegistryAccess;
  readonly cacheDir?: string;
  readonly sourceDateEpoch?: number;
  readonly allowOutside?: readonly string[];
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly onEvent?: OperationOptions["onEvent"];
  readonly signal?: AbortSignal;
  /** Deadline of one registry request. @default the registry client's (30 s) */
  readonly requestTimeoutMs?: number;
  /** Retries of a registry request that failed with 5xx or a dropped connection. @default the registry client's (3) */
  readonly retries?: number;
}

/** One service's outcome in {@link buildImages}. */
export type ServiceBuildOutcome =
  | {
      readonly kind: "built";
      readonly built: BuiltService;
      /** The image as built, with its layers: what an image store serves to a backend that delivers images. */
      readonly image: BuiltImage;
      /** With `push: "defer"`: pushes what the registry lacks (and the tag) and resolves to the service as pushed. */
      readonly push?: () => Promise<BuiltService>;
    }
  | { readonly kind: "failed"; readonly service: string; readonly repository?: string; readonly error: SdxError };

/**
 * Builds (and unless `push: false`, pushes) the app's built services for a
 * target. Throws on the first failure unless `keepGoing`.
 */
export async function buildImages(p: PreparedApp, target: Target | undefined, opts: BuildImagesOptions): Promise<readonly ServiceBuildOutcome[]> {
  const env = opts.env ?? process.env;
  const client = registryClientFor(opts.registry, env, opts);
  const bases = new Map<string, Promise<PulledImage>>();
  const out: ServiceBuildOutcome[] = [];
  for (const svc of p.app.services) {
    if (!svc.build || (opts.only && !opts.only.includes(svc.name))) continue;
    throwIfAborted(opts.signal);
    let repository: string | undefined;
    try {
      repository = repositoryFor(p.app, svc, svc.build, target, { delivered: opts.delivered === true });
      out.push(await buildOne(p, svc, svc.build, repository, client, bases, { ...opts, env }, target?.name));
    } catch (e) {
      const error = toSdxError(e, "SDX_BUILD_FAILED", "internal");
      if (!opts.keepGoing || error.code === "SDX_ABORTED") throw error;
      out.push({ kind: "failed", service: svc.name, ...(repository ? { repository } : {}), error });
    }
  }
  return out;
}

async function buildOne(
  p: PreparedApp, svc: Service, spec: BuildSpec, repository: string, client: RegistryClient,
  bases: Map<string, Promise<PulledImage>>, opts: BuildImagesOptions & { env: Readonly<Record<string, string | undefined>> }, target: string | undefined,
): Promise<Extract<ServiceBuildOutcome, { kind: "built" }>> {
  const t = target === undefined ? {} : { target };
  emit(opts.onEvent, { kind: "build-started", ...t, service: svc.name, repository });
  const context = resolveContainedPath(spec.context, { baseDir: p.baseDir, allowOutside: opts.allowOutside ?? [] }, "build context");
  if (!statSync(context).isDirectory()) {
    throw new SdxError("SDX_BUILD_CONTEXT", `build context "${spec.context}" is not a directory`, { fault: "user", path: `services.${svc.name}.build.context`, hint: "Name the directory that holds package.json and the entry file." });
  }
  const arch = svc.placement.arch;
  const key = `${spec.base} ${arch}`;
  let base = bases.get(key);
  if (!base) {
    emit(opts.onEvent, { kind: "build-progress", ...t, service: svc.name, message: `base ${spec.base} (linux/${arch})` });
    base = pullImage(client, spec.base, { platform: { os: "linux", architecture: arch } });
    bases.set(key, base);
  }
  const pulled = await base.catch((e: unknown) => {
    throw withPath(e, `services.${svc.name}.build.base`);
  });
  const epoch = buildEpoch(opts.sourceDateEpoch, opts.env);
  const cacheDir = opts.cacheDir ?? defaultBuildCacheDir({ ...process.env, ...opts.env });
  const image: BuiltImage = await buildNodeImage(
    {
      context, entry: spec.entry, include: spec.include, exclude: spec.exclude, dependencies: spec.dependencies,
      ...(spec.node ? { node: spec.node } : {}), ...(spec.user ? { user: spec.user } : {}),
    },
    pulled,
    {
      epoch,
      cacheDir,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onProgress: (e) => emit(opts.onEvent, { kind: "build-progress", ...t, service: svc.name, message: e.message }),
      // npm needs the process's PATH, HOME and proxy settings; an operation's `env` (app variables) adds to them.
      env: { ...process.env, ...opts.env },
      entryPath: `services.${svc.name}.build.entry`,
    },
  );
  const location = registryOf({ ref: repository, repository }, opts.registry?.insecureHosts ? { insecureHosts: opts.registry.insecureHosts } : {});
  const ref = `${repository}@${image.digest}`;
  // A tag for people and for registries that delete untagged manifests; deploys use the digest.
  const tag = `sdx-${image.sourceRevision.replace(/^sha256:/, "").slice(0, 12)}`;
  // Asked first: an unchanged source uploads nothing, not even a HEAD per layer. A delivered image has no registry to ask.
  const existed = opts.delivered === true ? undefined : await client.headManifest(location, image.digest).then((d) => d !== undefined, (e: unknown) => {
    if (opts.push === false) return undefined;
    throw e;
  });
  const built: BuiltService = {
    service: svc.name, repository, digest: image.digest, image: ref,
    platform: `${image.platform.os}/${image.platform.architecture}${image.platform.variant ? `/${image.platform.variant}` : ""}`,
    sourceRevision: image.sourceRevision,
    layers: image.layers.map((l) => ({ role: l.role, digest: l.descriptor.digest, size: l.descriptor.size })),
    ...(existed === undefined ? {} : { existed }),
    warnings: image.warnings,
  };
  const pushNow = async (): Promise<BuiltService> => {
    const push = await pushBuilt(client, image, location, tag, existed === true, { ...opts, cacheDir, mountFrom: pulled.location, service: svc.name, t });
    emit(opts.onEvent, { kind: "build-finished", ...t, service: svc.name, image: ref, uploaded: push.uploaded, bytesUploaded: push.bytesUploaded });
    return { ...built, push };
  };
  if (opts.delivered !== true && opts.push === "defer") return { kind: "built", built, image, push: pushNow };
  if (opts.delivered !== true && opts.push !== false) return { kind: "built", built: await pushNow(), image };
  emit(opts.onEvent, { kind: "build-finished", ...t, service: svc.name, image: ref });
  return { kind: "built", built, image };
}

/**
 * Whether the target's backend delivers images itself (`Backend.deliversImages`). A kind no backend
 * serves is reported where the target is planned, so here it only counts as not delivering.
 */
export async function targetDeliversImages(registry: BackendRegistry, target: Target): Promise<boolean> {
  const backend = await registry.get(target.kind).catch(() => undefined);
  return backend?.deliversImages?.(target) === true;
}

/** A registry client for `access`, with the default credentials (from `env`) unless it gives its own. */
export function registryClientFor(
  access: RegistryAccess | undefined, env: Readonly<Record<string, string | undefined>>,
  opts: { readonly signal?: AbortSignal; readonly requestTimeoutMs?: number; readonly retries?: number } = {},
): RegistryClient {
  return createRegistryClient({
    ...(access?.fetch ? { fetch: access.fetch } : {}),
    ...(access?.insecureHosts ? { insecureHosts: access.insecureHosts } : {}),
    credentials: access?.credentials ?? defaultCredentialResolver({ env }),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.requestTimeoutMs !== undefined ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
    ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
  });
}

/** Pushes a built image unless the registry has it (then only its tag is checked): the figures of what was sent. */
async function pushBuilt(
  client: RegistryClient, image: BuiltImage, location: RegistryLocation, tag: string, existed: boolean,
  opts: BuildImagesOptions & { readonly cacheDir: string; readonly mountFrom: RegistryLocation; readonly service: string; readonly t: { target?: string } },
): Promise<NonNullable<BuiltService["push"]>> {
  const { t } = opts;
  const repository = `${location.registry}/${location.repository}`;
  let push: NonNullable<BuiltService["push"]>;
  if (!existed) {
    const r = await pushImage(client, location, image, {
      tag,
      // The runtime and dependency layers are often in a repository this machine pushed before: mount, not upload.
      mountFrom: [opts.mountFrom, ...(await recentRepositories(opts.cacheDir, location))],
      ...(opts.signal ? { signal: opts.signal } : {}),
      onProgress: (e) => {
        if (e.kind === "blob" && (e.state === "uploaded" || e.state === "mounted")) {
          emit(opts.onEvent, { kind: "build-progress", ...t, service: opts.service, message: `${e.state} ${e.digest.slice(0, 19)} (${e.size} bytes)` });
        }
      },
    });
    if (r.digest !== image.digest) {
      throw new SdxError("SDX_REGISTRY_ERROR", `registry ${location.registry} stored ${repository} as ${r.digest}, not the built ${image.digest}`, { fault: "backend", hint: "The registry rewrote the manifest; push to a registry that keeps OCI manifests as sent." });
    }
    push = { uploaded: r.uploaded, present: r.present, mounted: r.mounted, bytesUploaded: r.bytesUploaded };
    await rememberRepository(opts.cacheDir, location);
  } else {
    push = { uploaded: 0, present: image.layers.length + 1, mounted: 0, bytesUploaded: 0 };
    // A run cut between the manifest and its tag left it untagged, and registries' clean-up rules delete untagged
    // images: put the tag back (one HEAD when it is there, as it almost always is).
    const tagged = await client.headManifest(location, tag).catch(() => undefined);
    if (tagged?.digest !== image.digest) await client.putManifest(location, tag, image.manifest);
  }
  return push;
}

/**
 * The app as deployed: each built service runs `repository@digest` and is told
 * which (`SDX_IMAGE`, unless it sets that itself); its `build` is done. The
 * revision is computed again, so it follows the digests: unchanged source, same revision.
 */
export function withBuiltImages(p: PreparedApp, built: readonly BuiltService[]): PreparedApp {
  if (built.length === 0) return p;
  const by = new Map(built.map((b) => [b.service, b]));
  const app: App = {
    ...p.app,
    services: p.app.services.map((s) => {
      const b = by.get(s.name);
      if (!b) return s;
      const { build: _done, ...rest } = s;
      return { ...rest, image: parseImageRef(b.image)!, env: { ...s.env, SDX_IMAGE: s.env["SDX_IMAGE"] ?? b.image } };
    }),
  };
  return { ...p, app, revision: computeRevision(app, p.secrets) };
}

function withPath(e: unknown, path: string): SdxError {
  const err = toSdxError(e, "SDX_BUILD_FAILED", "internal");
  if (err.path !== undefined || !isSdxError(e)) return err;
  return new SdxError(err.code, err.message, { fault: err.fault, path, ...(err.hint ? { hint: err.hint } : {}), ...(err.details ? { details: err.details } : {}), cause: e });
}

/** Repositories remembered per registry: enough to find a layer pushed before, few enough that a new layer costs few mount attempts. */
const REMEMBERED_REPOSITORIES = 3;

/** The repositories of `location`'s registry this machine pushed to most recently (a hint for cross-repository mounts; a stale one only costs a refused mount). */
async function recentRepositories(cacheDir: string, location: RegistryLocation): Promise<RegistryLocation[]> {
  const known = await readPushed(cacheDir);
  return (known[location.registry] ?? []).filter((r) => r !== location.repository).map((repository) => ({ ...location, repository }));
}

async function rememberRepository(cacheDir: string, location: RegistryLocation): Promise<void> {
  const known = await readPushed(cacheDir);
  known[location.registry] = [location.repository, ...(known[location.registry] ?? []).filter((r) => r !== location.repository)].slice(0, REMEMBERED_REPOSITORIES);
  const file = join(cacheDir, "pushed-repositories.json");
  // Best effort: a cache that cannot be written only loses the hint.
  await mkdir(cacheDir, { recursive: true })
    .then(() => writeFile(`${file}.${process.pid}`, `${JSON.stringify(known)}\n`))
    .then(() => rename(`${file}.${process.pid}`, file))
    .catch(() => undefined);
}

async function readPushed(cacheDir: string): Promise<Record<string, string[]>> {
  try {
    const v = JSON.parse(await readFile(join(cacheDir, "pushed-repositories.json"), "utf8")) as unknown;
    if (typeof v !== "object" || v === null || Array.isArray(v)) return {};
    return Object.fromEntries(Object.entries(v).filter((e): e is [string, string[]] => Array.isArray(e[1]) && e[1].every((x) => typeof x === "string")));
  } catch {
    return {};
  }
}
