import { createHash } from "node:crypto";
import { SdxError, throwIfAborted } from "../errors/sdx-error.js";
import type { ImageRef } from "../model/app.js";

/**
 * Manifest media types sent in `Accept`, indexes first: a multi-platform tag then
 * resolves to its index digest, the one `docker pull` records and a pin must use.
 * OCI image-spec `media-types.md`; distribution `spec/manifest-v2-2.md`.
 */
export const MANIFEST_MEDIA_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
] as const;

/** Where Docker Hub's registry API lives; `docker.io` itself does not serve `/v2/`. */
export const DOCKER_HUB_REGISTRY = "registry-1.docker.io";

/** Hosts spoken to over plain http unless told otherwise (any port). */
export const DEFAULT_INSECURE_HOSTS: readonly string[] = ["localhost", "127.0.0.1", "[::1]"];

/** Names Docker treats as Docker Hub. */
const DOCKER_HUB_ALIASES = new Set(["docker.io", "index.docker.io", DOCKER_HUB_REGISTRY]);

/** Manifests are small (registries cap them at a few MiB); refuse to buffer more. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** The OCI digest grammar (`algorithm:encoded`), image-spec `descriptor.md`. */
const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** A user name and password (or token) for one registry. */
export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/** Options for {@link registryOf}. */
export interface RegistryOfOptions {
  /**
   * Registries spoken to over http. An entry without a port matches every port of
   * that host (`localhost` matches `localhost:5000`); one with a port matches only it.
   * Replaces the default list.
   * @default DEFAULT_INSECURE_HOSTS (localhost, 127.0.0.1, [::1])
   */
  readonly insecureHosts?: readonly string[];
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
   * `registry-1.docker.io`). They go to the registry's token service as Basic auth,
   * or to the registry itself when it asks for Basic.
   * @default anonymous everywhere
   */
  readonly credentials?: (host: string) => RegistryCredentials | undefined;
}

/** Options for {@link resolveImageDigests}. */
export interface ResolveImageDigestsOptions extends ResolveImageDigestOptions {
  /** Look-ups running at once. @default 4 */
  readonly concurrency?: number;
}

/** Where an image lives, as Docker would reach it. */
export interface RegistryLocation {
  /** Host and optional port, e.g. `ghcr.io`, `127.0.0.1:5000`, `registry-1.docker.io`. */
  readonly registry: string;
  /** Repository path on that registry, e.g. `library/nginx`. */
  readonly repository: string;
  readonly scheme: "https" | "http";
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

/** One challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1). */
export interface AuthChallenge {
  /** Lower-cased, e.g. `bearer`, `basic`. */
  readonly scheme: string;
  /** Parameter names lower-cased; quoted values unescaped. */
  readonly params: Readonly<Record<string, string>>;
  /** The token68 form (`Negotiate abc==`), when used instead of parameters. */
  readonly token68?: string;
}

/**
 * Splits an image reference into registry host, repository path and scheme, the
 * way Docker does: a first path part counts as a host only when it has a `.` or
 * `:` or is `localhost`; otherwise the image is on Docker Hub, where one-part
 * names live under `library/`.
 */
export function registryOf(image: ImageRef, options: RegistryOfOptions = {}): RegistryLocation {
  const name = image.repository;
  const slash = name.indexOf("/");
  const first = slash === -1 ? "" : name.slice(0, slash);
  const hasHost = slash !== -1 && (first.includes(".") || first.includes(":") || first === "localhost");
  let registry = hasHost ? first : DOCKER_HUB_REGISTRY;
  let repository = hasHost ? name.slice(slash + 1) : name;
  if (DOCKER_HUB_ALIASES.has(registry)) {
    registry = DOCKER_HUB_REGISTRY;
    if (!repository.includes("/")) repository = `library/${repository}`;
  }
  const insecure = isInsecureHost(registry, options.insecureHosts ?? DEFAULT_INSECURE_HOSTS);
  return { registry, repository, scheme: insecure ? "http" : "https" };
}

/**
 * Asks the image's registry which digest its tag points at (a `HEAD` on the
 * manifest, OCI distribution spec), following the registry's Bearer token
 * challenge. A reference that already has a digest is returned as `pinned`
 * without any request.
 *
 * Never throws for network or registry trouble: that comes back as `unresolved`
 * with a code, so a plan can go on and warn. Rejects only with `SDX_ABORTED`
 * when `signal` fires.
 */
export async function resolveImageDigest(image: ImageRef, options: ResolveImageDigestOptions = {}): Promise<ResolvedDigest> {
  if (image.digest !== undefined) return { kind: "pinned", digest: image.digest };
  throwIfAborted(options.signal);
  const location = registryOf(image, options);
  const timeoutMs = options.timeoutMs ?? 3000;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = options.signal === undefined ? deadline : AbortSignal.any([options.signal, deadline]);
  const lookup: Lookup = {
    ...location,
    tag: image.tag ?? "latest",
    fetch: options.fetch ?? globalThis.fetch,
    signal,
    credentials: options.credentials?.(location.registry),
    insecureHosts: options.insecureHosts ?? DEFAULT_INSECURE_HOSTS,
  };
  try {
    return await lookUpTag(lookup);
  } catch (e) {
    // Decide by which signal fired, not by the error's text.
    if (options.signal?.aborted) {
      throw new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user", cause: options.signal.reason });
    }
    if (deadline.aborted) {
      return unresolved("unreachable", `registry ${location.registry} did not answer within ${timeoutMs} ms`);
    }
    return classifyThrown(e, location.registry);
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

/**
 * Parses a `WWW-Authenticate` header into its challenges. Handles several
 * challenges in one header, quoted values with commas and backslash escapes,
 * unquoted token values and any case of names.
 */
export function parseAuthChallenges(header: string): readonly AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let i = 0;
  /** Matches `re` at `i`; on success moves past it. */
  const eat = (re: RegExp): RegExpExecArray | undefined => {
    re.lastIndex = i;
    const m = re.exec(header);
    if (m === null) return undefined;
    i = re.lastIndex;
    return m;
  };
  const SEPARATORS = /[\s,]*/y;
  const SPACES = /[ \t]*/y;
  const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
  // A token68 stands alone: it must be followed by the end or a comma.
  const TOKEN68 = /([A-Za-z0-9\-._~+/]+=*)[ \t]*(?=,|$)/y;
  // Unquoted values should be tokens; some servers send bare URLs, so take up to a comma or space.
  const PARAM = /([!#$%&'*+\-.^_`|~0-9A-Za-z]+)[ \t]*=[ \t]*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))/y;
  for (;;) {
    eat(SEPARATORS);
    const scheme = eat(TOKEN)?.[0];
    if (scheme === undefined) break;
    eat(SPACES);
    const params: Record<string, string> = {};
    const t68 = eat(TOKEN68)?.[1];
    if (t68 === undefined) {
      for (;;) {
        const before = i;
        eat(SEPARATORS);
        const m = eat(PARAM);
        if (m === undefined) {
          // Not `name=value`: the next challenge (if any) starts here.
          i = before;
          break;
        }
        params[m[1]!.toLowerCase()] = m[2] === undefined ? (m[3] ?? "") : m[2].replace(/\\(.)/g, "$1");
      }
    }
    challenges.push({ scheme: scheme.toLowerCase(), params, ...(t68 === undefined ? {} : { token68: t68 }) });
  }
  return challenges;
}

interface Lookup extends RegistryLocation {
  readonly tag: string;
  readonly fetch: typeof fetch;
  readonly signal: AbortSignal;
  readonly credentials: RegistryCredentials | undefined;
  readonly insecureHosts: readonly string[];
}

type Unresolved = Extract<ResolvedDigest, { kind: "unresolved" }>;

async function lookUpTag(l: Lookup): Promise<ResolvedDigest> {
  const url = `${l.scheme}://${l.registry}/v2/${l.repository}/manifests/${encodeURIComponent(l.tag)}`;
  const ask = (method: "HEAD" | "GET", authorization: string | undefined): Promise<Response> =>
    l.fetch(url, {
      method,
      headers: { accept: MANIFEST_MEDIA_TYPES.join(", "), ...(authorization === undefined ? {} : { authorization }) },
      signal: l.signal,
    });

  let authorization: string | undefined;
  let res = await ask("HEAD", authorization);
  if (res.status === 401) {
    const challenges = parseAuthChallenges(res.headers.get("www-authenticate") ?? "");
    await discard(res);
    const auth = await authorize(l, challenges);
    if (typeof auth !== "string") return auth;
    authorization = auth;
    res = await ask("HEAD", authorization);
  }
  // Some registries answer HEAD without the digest header, or not at all: ask with GET.
  if (res.ok || res.status === 405 || res.status === 501) {
    const digest = digestHeader(res);
    await discard(res);
    if (digest !== undefined) return resolved(l, digest);
    res = await ask("GET", authorization);
    if (res.ok) return resolved(l, digestHeader(res) ?? (await digestOfBody(res)));
  }
  await discard(res);
  return fromStatus(res.status, l, authorization !== undefined);
}

/** Returns the Authorization header to retry with, or why there is none. */
async function authorize(l: Lookup, challenges: readonly AuthChallenge[]): Promise<string | Unresolved> {
  const bearer = challenges.find((c) => c.scheme === "bearer" && c.params["realm"] !== undefined);
  if (bearer !== undefined) return fetchToken(l, bearer.params);
  const basic = challenges.find((c) => c.scheme === "basic");
  if (basic !== undefined && l.credentials !== undefined) return basicAuth(l.credentials);
  return unresolved(
    "unauthorized",
    basic !== undefined
      ? `registry ${l.registry} wants a user name and password for ${l.repository}; none was given`
      : `registry ${l.registry} refused access to ${l.repository} without a usable challenge (HTTP 401)`,
  );
}

/** The token flow of distribution `spec/auth/token.md`. */
async function fetchToken(l: Lookup, params: Readonly<Record<string, string>>): Promise<string | Unresolved> {
  let realm: URL;
  try {
    realm = new URL(params["realm"]!);
  } catch {
    return unresolved("error", `registry ${l.registry} named a token service that is not a URL`);
  }
  if (realm.protocol !== "https:" && realm.protocol !== "http:") {
    return unresolved("error", `registry ${l.registry} named a token service that is not http(s)`);
  }
  if (params["service"] !== undefined) realm.searchParams.set("service", params["service"]);
  // Ask for pull on this repository only, whatever the challenge offered.
  realm.searchParams.set("scope", `repository:${l.repository}:pull`);
  // Never send a password in clear text to a host not declared insecure.
  const sendCredentials = l.credentials !== undefined && (realm.protocol === "https:" || isInsecureHost(realm.host, l.insecureHosts));
  const res = await l.fetch(realm, {
    method: "GET",
    headers: { accept: "application/json", ...(sendCredentials ? { authorization: basicAuth(l.credentials!) } : {}) },
    signal: l.signal,
  });
  if (res.status === 401 || res.status === 403) {
    await discard(res);
    return unresolved(
      "unauthorized",
      `the token service of ${l.registry} refused ${sendCredentials ? "the given credentials" : "an anonymous request"} for ${l.repository} (HTTP ${res.status})`,
    );
  }
  if (!res.ok) {
    await discard(res);
    return unresolved("error", `the token service of ${l.registry} answered HTTP ${res.status}`);
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch (e) {
    if (l.signal.aborted) throw e;
    return unresolved("error", `the token service of ${l.registry} sent a body that is not JSON`);
  }
  const fields = typeof body === "object" && body !== null ? (body as { token?: unknown; access_token?: unknown }) : {};
  const token = typeof fields.token === "string" && fields.token !== "" ? fields.token : fields.access_token;
  if (typeof token !== "string" || token === "") {
    return unresolved("error", `the token service of ${l.registry} sent no token`);
  }
  return `Bearer ${token}`;
}

function fromStatus(status: number, l: Lookup, authenticated: boolean): Unresolved {
  const name = `${l.repository}:${l.tag}`;
  switch (status) {
    case 401:
    case 403:
      // Docker Hub answers 401 for repositories that do not exist, to hide which do.
      return unresolved(
        "unauthorized",
        `registry ${l.registry} refused ${l.credentials === undefined ? "anonymous " : ""}pull access to ${l.repository} (HTTP ${status}${authenticated ? " with a token" : ""}); it may be private or not exist`,
      );
    case 404:
      return unresolved("not-found", `${name} was not found on registry ${l.registry}`);
    case 429:
      return unresolved("error", `registry ${l.registry} is throttling requests (HTTP 429)`);
    default:
      return unresolved("error", `registry ${l.registry} answered HTTP ${status} for ${name}`);
  }
}

/** Connection-level error codes (Node and undici) that mean "could not get there". */
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENETDOWN",
  "EPIPE",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
]);

function classifyThrown(e: unknown, registry: string): Unresolved {
  const code = errorCode(e);
  if (code !== undefined && UNREACHABLE_CODES.has(code)) {
    return unresolved("unreachable", `cannot reach registry ${registry} (${code})`);
  }
  if (e instanceof Error && (e.name === "AbortError" || e.name === "TimeoutError")) {
    return unresolved("unreachable", `the request to registry ${registry} was cut short (${e.name})`);
  }
  if (e instanceof ManifestTooLarge) return unresolved("error", `registry ${registry} sent a manifest over ${MAX_MANIFEST_BYTES} bytes`);
  return unresolved("error", `could not ask registry ${registry} for the digest${code === undefined ? "" : ` (${code})`}`);
}

/** The first `code` on the error, its `cause` chain or an AggregateError's members. */
function errorCode(e: unknown, depth = 0): string | undefined {
  if (typeof e !== "object" || e === null || depth > 5) return undefined;
  const { code, cause, errors } = e as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === "string") return code;
  const fromCause = errorCode(cause, depth + 1);
  if (fromCause !== undefined) return fromCause;
  if (Array.isArray(errors)) {
    for (const member of errors) {
      const c = errorCode(member, depth + 1);
      if (c !== undefined) return c;
    }
  }
  return undefined;
}

class ManifestTooLarge extends Error {
  override readonly name = "ManifestTooLarge";
}

function digestHeader(res: Response): string | undefined {
  const value = res.headers.get("docker-content-digest")?.trim();
  return value !== undefined && DIGEST_RE.test(value) ? value : undefined;
}

async function digestOfBody(res: Response): Promise<string> {
  const length = Number(res.headers.get("content-length") ?? "0");
  if (length > MAX_MANIFEST_BYTES) {
    await discard(res);
    throw new ManifestTooLarge();
  }
  const body = new Uint8Array(await res.arrayBuffer());
  if (body.byteLength > MAX_MANIFEST_BYTES) throw new ManifestTooLarge();
  return `sha256:${createHash("sha256").update(body).digest("hex")}`;
}

/** Frees the connection of a response whose body is not needed. */
async function discard(res: Response): Promise<void> {
  if (res.body !== null && !res.bodyUsed) await res.body.cancel().catch(() => undefined);
}

function resolved(l: Lookup, digest: string): ResolvedDigest {
  return { kind: "resolved", digest, registry: l.registry, repository: l.repository, tag: l.tag };
}

function unresolved(code: UnresolvedCode, reason: string): Unresolved {
  return { kind: "unresolved", reason, code };
}

function basicAuth(c: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`, "utf8").toString("base64")}`;
}

function isInsecureHost(host: string, insecureHosts: readonly string[]): boolean {
  const hostname = hostnameOf(host);
  return insecureHosts.some((entry) => entry === host || (hostnameOf(entry) === entry && entry === hostname));
}

/** `host:port` → `host`; keeps `[v6]` brackets. */
function hostnameOf(host: string): string {
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.lastIndexOf(":");
  return colon === -1 ? host : host.slice(0, colon);
}

function lookupKey(image: ImageRef, options: RegistryOfOptions): string {
  if (image.digest !== undefined) return `@${image.digest}`;
  const { scheme, registry, repository } = registryOf(image, options);
  return `${scheme}://${registry}/${repository}:${image.tag ?? "latest"}`;
}
