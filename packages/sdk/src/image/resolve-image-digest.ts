import { SdxError, isSdxError, throwIfAborted } from "../errors/sdx-error.js";
import type { ImageRef } from "../model/app.js";
import type { CredentialResolver, RegistryCredential } from "./registry-auth.js";
import { DEFAULT_INSECURE_HOSTS, createRegistryClient, registryOf, type RegistryOfOptions } from "./registry-client.js";

export { parseAuthChallenges, type AuthChallenge } from "./registry-auth.js";
export { DEFAULT_INSECURE_HOSTS, DOCKER_HUB_REGISTRY, MANIFEST_MEDIA_TYPES, registryOf, type RegistryLocation, type RegistryOfOptions } from "./registry-client.js";

/** A user name and password (or token) for one registry. */
export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/** Options for {@link resolveImageDigest}. */
export interface ResolveImageDigestOptions extends RegistryOfOptions {
  /** Injected for tests and proxies. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Cancels the look-up; it then rejects with `SDX_ABORTED`. */
  readonly signal?: AbortSignal;
  /**
   * Deadline for one image's whole look-up (challenge, token and manifest), so a
   * plan does not hang on an unreachable registry. @default 3000
   */
  readonly timeoutMs?: number;
  /**
   * Credentials for a registry host as {@link registryOf} names it (Docker Hub is
   * `registry-1.docker.io`), plain or as a promise (e.g. `defaultCredentialResolver()`).
   * They go to the registry's token service as Basic auth, or to the registry
   * itself when it asks for Basic.
   * @default anonymous everywhere
   */
  readonly credentials?: (host: string) => RegistryCredentials | RegistryCredential | undefined | Promise<RegistryCredentials | RegistryCredential | undefined>;
}

/** Options for {@link resolveImageDigests}. */
export interface ResolveImageDigestsOptions extends ResolveImageDigestOptions {
  /** Look-ups running at once. @default 4 */
  readonly concurrency?: number;
}

/** Why a digest could not be had. */
export type UnresolvedCode = "unreachable" | "unauthorized" | "not-found" | "error";

/** The outcome of {@link resolveImageDigest}. */
export type ResolvedDigest =
  | {
      /** The registry said which manifest the tag points at now. */
      readonly kind: "resolved";
      /** e.g. `sha256:…`, as the registry reported it. */
      readonly digest: string;
      readonly registry: string;
      readonly repository: string;
      /** The tag asked about (`latest` when the reference had none). */
      readonly tag: string;
    }
  | {
      /** The reference already carries a digest; nothing was asked. */
      readonly kind: "pinned";
      readonly digest: string;
    }
  | {
      /** No digest: the plan goes on and says why. */
      readonly kind: "unresolved";
      /** One sentence for people; never holds credentials or tokens. */
      readonly reason: string;
      readonly code: UnresolvedCode;
    };

/**
 * Asks the image's registry which digest its tag points at (a `HEAD` on the
 * manifest, OCI distribution spec), following the registry's auth challenge. A
 * reference that already has a digest is returned as `pinned` without any request.
 *
 * Never throws for network or registry trouble: that comes back as `unresolved`
 * with a code, so a plan can go on and warn. Rejects only with `SDX_ABORTED`
 * when `signal` fires.
 */
export async function resolveImageDigest(image: ImageRef, options: ResolveImageDigestOptions = {}): Promise<ResolvedDigest> {
  if (image.digest !== undefined) return { kind: "pinned", digest: image.digest };
  throwIfAborted(options.signal);
  const location = registryOf(image, options);
  const tag = image.tag ?? "latest";
  const timeoutMs = options.timeoutMs ?? 3000;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = options.signal === undefined ? deadline : AbortSignal.any([options.signal, deadline]);
  const client = createRegistryClient({
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    insecureHosts: options.insecureHosts ?? DEFAULT_INSECURE_HOSTS,
    signal,
    requestTimeoutMs: timeoutMs,
    // A plan asks once and moves on; retrying would only stretch the deadline.
    retries: 0,
    ...(options.credentials === undefined ? {} : { credentials: toCredentialResolver(options.credentials) }),
  });
  try {
    const found = await client.headManifest(location, tag);
    if (found === undefined) return unresolved("not-found", `${location.repository}:${tag} was not found on registry ${location.registry}`);
    return { kind: "resolved", digest: found.digest, registry: location.registry, repository: location.repository, tag };
  } catch (e) {
    // Decide by which signal fired, not by the error's text.
    if (options.signal?.aborted) {
      throw new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user", cause: options.signal.reason });
    }
    if (deadline.aborted) {
      return unresolved("unreachable", `registry ${location.registry} did not answer within ${timeoutMs} ms`);
    }
    return fromError(e, location.registry);
  }
}

/**
 * Resolves many images with at most `concurrency` look-ups at once. Equal
 * references (after Docker Hub normalisation, so `nginx` and
 * `docker.io/library/nginx:latest` are one) are asked about once. Results are in
 * the order of `images`.
 */
export async function resolveImageDigests(images: readonly ImageRef[], options: ResolveImageDigestsOptions = {}): Promise<readonly ResolvedDigest[]> {
  const keys = images.map((image) => lookupKey(image, options));
  const unique = new Map<string, ImageRef>();
  images.forEach((image, i) => {
    const key = keys[i]!;
    if (!unique.has(key)) unique.set(key, image);
  });
  const queue = [...unique];
  const results = new Map<string, ResolvedDigest>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < queue.length) {
      const [key, image] = queue[next++]!;
      results.set(key, await resolveImageDigest(image, options));
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? 4, queue.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return keys.map((key) => results.get(key)!);
}

type Unresolved = Extract<ResolvedDigest, { kind: "unresolved" }>;

/** Maps the client's error codes onto the plan's; SdxError messages never hold secrets. */
function fromError(e: unknown, registry: string): Unresolved {
  if (!isSdxError(e)) return unresolved("error", `could not ask registry ${registry} for the digest`);
  switch (e.code) {
    case "SDX_REGISTRY_AUTH":
      return unresolved("unauthorized", e.message);
    case "SDX_IMAGE_NOT_FOUND":
      return unresolved("not-found", e.message);
    case "SDX_REGISTRY_UNREACHABLE":
      return unresolved("unreachable", e.message);
    default:
      return unresolved("error", e.message);
  }
}

/**
 * Turns the credentials option of {@link ResolveImageDigestOptions} (sync or async,
 * with or without `source`) into a {@link CredentialResolver} for the registry client.
 */
export function toCredentialResolver(given: NonNullable<ResolveImageDigestOptions["credentials"]>): CredentialResolver {
  return async (host) => {
    const c = await given(host);
    if (c === undefined) return undefined;
    return "source" in c ? c : { username: c.username, password: c.password, source: "the given credentials" };
  };
}

function unresolved(code: UnresolvedCode, reason: string): Unresolved {
  return { kind: "unresolved", reason, code };
}

function lookupKey(image: ImageRef, options: RegistryOfOptions): string {
  if (image.digest !== undefined) return `@${image.digest}`;
  const { scheme, registry, repository } = registryOf(image, options);
  return `${scheme}://${registry}/${repository}:${image.tag ?? "latest"}`;
}
