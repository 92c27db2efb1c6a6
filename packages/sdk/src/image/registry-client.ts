/**
 * One client for OCI registries (distribution spec v1.1 and Docker Registry
 * HTTP API V2): manifests and blobs in both directions, auth challenges, retries
 * of throttling and server errors, and errors classified by HTTP status and
 * error code.
 */
import { createHash, type Hash } from "node:crypto";
import { SdxError, isSdxError, throwIfAborted } from "../errors/sdx-error.js";
import { sleep as defaultSleep } from "../engine/retry.js";
import type { ImageRef } from "../model/app.js";
import { parseImageRef } from "../model/image-ref.js";
import { RegistryAuth, discard, isInsecureHost, type AuthContext, type AuthScope, type CredentialResolver } from "./registry-auth.js";

export type { CredentialResolver, RegistryCredential } from "./registry-auth.js";

/** OCI image index. */
export const OCI_INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json";
/** Docker manifest list (schema 2). */
export const DOCKER_MANIFEST_LIST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.list.v2+json";
/** OCI image manifest. */
export const OCI_MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json";
/** Docker image manifest (schema 2). */
export const DOCKER_MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json";

/**
 * Manifest media types sent in `Accept`, indexes first: a multi-platform tag then
 * resolves to its index digest, the one `docker pull` records and a pin must use.
 * OCI image-spec `media-types.md`; distribution `spec/manifest-v2-2.md`.
 */
export const MANIFEST_MEDIA_TYPES = [OCI_INDEX_MEDIA_TYPE, DOCKER_MANIFEST_LIST_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE, DOCKER_MANIFEST_MEDIA_TYPE] as const;

/** Where Docker Hub's registry API lives; `docker.io` itself does not serve `/v2/`. */
export const DOCKER_HUB_REGISTRY = "registry-1.docker.io";

/** Hosts spoken to over plain http unless told otherwise (any port). */
export const DEFAULT_INSECURE_HOSTS: readonly string[] = ["localhost", "127.0.0.1", "[::1]"];

/** Names Docker treats as Docker Hub. */
export const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set(["docker.io", "index.docker.io", DOCKER_HUB_REGISTRY]);

/** Manifests are small (registries cap them at a few MiB); refuse to buffer more. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** The OCI digest grammar (`algorithm:encoded`), image-spec `descriptor.md`. */
export const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** The tag grammar of the distribution spec. */
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Digests sdx can verify. */
const VERIFIABLE_DIGEST_RE = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/** Where an image lives, as Docker would reach it. */
export interface RegistryLocation {
  /** Host and optional port, e.g. `ghcr.io`, `127.0.0.1:5000`, `registry-1.docker.io`. */
  readonly registry: string;
  /** Repository path on that registry, e.g. `library/nginx`. */
  readonly repository: string;
  readonly scheme: "https" | "http";
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

/** An OS and CPU an image runs on (OCI image-spec `image-index.md`). */
export interface Platform {
  /** e.g. `linux`. */
  readonly os: string;
  /** GOARCH spelling: `amd64`, `arm64`. */
  readonly architecture: string;
  /** e.g. `v8` for arm64, `v7` for arm. */
  readonly variant?: string;
}

/** A content descriptor (OCI image-spec `descriptor.md`). */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  /** Set on the entries of an image index. */
  readonly platform?: Platform;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A blob to push: its descriptor and a way to read its bytes. */
export interface PushableBlob {
  readonly descriptor: Descriptor;
  /** The whole blob, for small blobs (configs, small layers). */
  readonly bytes?: Uint8Array;
  /** Streams the blob, e.g. from disk; called again when an upload is retried. */
  readonly open?: () => AsyncIterable<Uint8Array>;
}

/** What {@link RegistryClient.pushBlob} did. */
export type PushBlobOutcome = "present" | "mounted" | "uploaded";

/** Options for {@link createRegistryClient}. */
export interface RegistryClientOptions extends RegistryOfOptions {
  /** Injected for tests and proxies. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Finds credentials per registry host (see `defaultCredentialResolver`). @default anonymous everywhere */
  readonly credentials?: CredentialResolver;
  /** Cancels every request of this client; they then reject with `SDX_ABORTED`. */
  readonly signal?: AbortSignal;
  /**
   * How long one request may take up to the response headers (for an upload that
   * includes sending its body, one chunk), and a body read may wait for its next
   * bytes, before the registry counts as unreachable. On slow links lower
   * `chunkSize` or raise this. @default 30000
   */
  readonly requestTimeoutMs?: number;
  /** Retries of HTTP 429 and 5xx answers, with exponential backoff. @default 3 */
  readonly retries?: number;
  /**
   * Blobs of at least this many bytes go up in chunks (`PATCH`) of this size; smaller
   * ones in one `PUT`. Keep it at 5 MiB or more for Amazon ECR, which refuses smaller
   * chunks (but the last). @default 16 MiB
   */
  readonly chunkSize?: number;
  /** Waits between retries; injected for tests. @default a timer that honours the signal */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** @default "sdx" */
  readonly userAgent?: string;
}

/** Per-call options. */
export interface RegistryRequestOptions {
  /** Cancels this call (besides the client's signal). */
  readonly signal?: AbortSignal;
}

/** Options for {@link RegistryClient.pushBlob}. */
export interface PushBlobOptions extends RegistryRequestOptions {
  /** Repositories on the same registry to mount the blob from before uploading it (others are ignored). */
  readonly mountFrom?: readonly RegistryLocation[];
  /** Called once when bytes start to go up (not when the blob was present or mounted). */
  readonly onUploading?: () => void;
}

/** A manifest as fetched: its descriptor (digest verified) and its exact bytes. */
export interface FetchedManifest {
  readonly descriptor: Descriptor;
  readonly bytes: Uint8Array;
}

/** Talks to OCI registries. Every method rejects with an `SdxError` (see the codes in the module doc). */
export interface RegistryClient {
  /** The hosts this client speaks http to. */
  readonly insecureHosts: readonly string[];
  /** Where an image reference lives, with this client's insecure hosts. */
  locate(image: ImageRef | string): RegistryLocation;
  /**
   * The descriptor a tag or digest points at, or undefined when there is none (404).
   * Its `mediaType` and `size` are what the registry's headers say (`""` and -1 when
   * it sent none); use {@link getManifest} for a descriptor to embed elsewhere.
   */
  headManifest(location: RegistryLocation, reference: string, options?: RegistryRequestOptions): Promise<Descriptor | undefined>;
  /** A manifest's bytes; rejects with `SDX_IMAGE_NOT_FOUND` on 404. */
  getManifest(location: RegistryLocation, reference: string, options?: RegistryRequestOptions): Promise<FetchedManifest>;
  blobExists(location: RegistryLocation, digest: string, options?: RegistryRequestOptions): Promise<boolean>;
  /** A whole blob, verified against its digest. For layers prefer {@link openBlob}. */
  getBlob(location: RegistryLocation, digest: string, options?: RegistryRequestOptions): Promise<Uint8Array>;
  /** Streams a blob; the iteration rejects at its end when the bytes do not match the digest. */
  openBlob(location: RegistryLocation, digest: string, options?: RegistryRequestOptions): AsyncIterable<Uint8Array>;
  /** Makes the blob exist in `location`: skipped when present, mounted when possible, else uploaded. */
  pushBlob(location: RegistryLocation, blob: PushableBlob, options?: PushBlobOptions): Promise<PushBlobOutcome>;
  /** Puts a manifest under a tag or its digest; returns the digest the registry reports (checked against the bytes). */
  putManifest(location: RegistryLocation, reference: string, manifest: { readonly mediaType: string; readonly bytes: Uint8Array }, options?: RegistryRequestOptions): Promise<string>;
  /** Deletes a manifest by digest (registries must allow deletes). */
  deleteManifest(location: RegistryLocation, digest: string, options?: RegistryRequestOptions): Promise<void>;
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

/** `sha256:<hex>` of some bytes. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Parses a reference string, or throws `SDX_VALIDATION`. */
export function toImageRef(image: ImageRef | string): ImageRef {
  if (typeof image !== "string") return image;
  const parsed = parseImageRef(image);
  if (parsed === undefined) {
    throw new SdxError("SDX_VALIDATION", `"${image}" is not an image reference`, { fault: "user", hint: "Write it as [registry/]repository[:tag][@sha256:…]." });
  }
  return parsed;
}

/** Connection-level error codes (Node and undici) that mean "could not get there". */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set([
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

/** TLS failures: the host answered, but its certificate is not trusted. */
const TLS_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_SSL_WRONG_VERSION_NUMBER",
]);

/** The first `code` on the error, its `cause` chain or an AggregateError's members. */
export function errorCodeOf(e: unknown, depth = 0): string | undefined {
  if (typeof e !== "object" || e === null || depth > 5) return undefined;
  const { code, cause, errors } = e as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === "string") return code;
  const fromCause = errorCodeOf(cause, depth + 1);
  if (fromCause !== undefined) return fromCause;
  if (Array.isArray(errors)) {
    for (const member of errors) {
      const c = errorCodeOf(member, depth + 1);
      if (c !== undefined) return c;
    }
  }
  return undefined;
}

/** Creates a {@link RegistryClient}. Nothing is sent until a method is called. */
export function createRegistryClient(options: RegistryClientOptions = {}): RegistryClient {
  return new Client(options);
}

/** Why a request is made, for errors. */
interface Context extends AuthContext {
  /** What was asked for, e.g. `acme/web:1.0` or `blob sha256:… of acme/web`. */
  readonly what: string;
  /** How a 404 reads: a missing image or a lost upload session. */
  readonly notFound: "image" | "upload";
}

interface SendOptions {
  readonly signal: AbortSignal | undefined;
  /** Retry 429/5xx here; off for upload-session requests, which are retried whole. */
  readonly retry: boolean;
}

const OCTET_STREAM = "application/octet-stream";

class Client implements RegistryClient {
  readonly insecureHosts: readonly string[];
  readonly #fetch: typeof fetch;
  readonly #signal: AbortSignal | undefined;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #chunkSize: number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #userAgent: string;
  readonly #auth: RegistryAuth;

  constructor(options: RegistryClientOptions) {
    this.insecureHosts = options.insecureHosts ?? DEFAULT_INSECURE_HOSTS;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#signal = options.signal;
    this.#timeoutMs = positive(options.requestTimeoutMs, 30_000, "requestTimeoutMs");
    this.#retries = Math.floor(nonNegative(options.retries, 3, "retries"));
    this.#chunkSize = Math.floor(positive(options.chunkSize, 16 * 1024 * 1024, "chunkSize"));
    this.#sleep = options.sleep ?? defaultSleep;
    this.#userAgent = options.userAgent ?? "sdx";
    this.#auth = new RegistryAuth({
      transport: (url, init, context) => this.#send(url, init, { ...context, what: "a token", notFound: "image" }, { signal: init.signal ?? undefined, retry: true }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      insecureHosts: this.insecureHosts,
    });
  }

  locate(image: ImageRef | string): RegistryLocation {
    return registryOf(toImageRef(image), { insecureHosts: this.insecureHosts });
  }

  async headManifest(location: RegistryLocation, reference: string, options: RegistryRequestOptions = {}): Promise<Descriptor | undefined> {
    const context = this.#context(location, "pull", `${location.repository}${refSuffix(reference)}`);
    const signal = this.#callSignal(options.signal);
    const res = await this.#authed(location, [pullScope(location)], this.#manifestUrl(location, reference), { method: "HEAD", headers: { accept: MANIFEST_MEDIA_TYPES.join(", ") } }, context, signal);
    if (res.status === 404) {
      await discard(res);
      return undefined;
    }
    // Some registries answer HEAD without the digest header, or not at all: ask with GET.
    if (res.ok || res.status === 405 || res.status === 501) {
      const digest = digestHeader(res);
      const mediaType = mediaTypeOf(res);
      const length = Number(res.headers.get("content-length") ?? "NaN");
      await discard(res);
      if (res.ok && digest !== undefined) return { mediaType: mediaType ?? "", digest, size: Number.isSafeInteger(length) && length >= 0 ? length : -1 };
      const got = await this.#fetchManifest(location, reference, context, signal, true);
      if (got === undefined) return undefined;
      // As with HEAD, the registry's word on the digest is what a pin must use.
      const fromGet = got.headerDigest ?? (isDigest(reference) ? computeDigest(reference, got.bytes) : sha256Digest(got.bytes));
      return { mediaType: got.mediaType, digest: fromGet, size: got.bytes.byteLength };
    }
    throw await this.#statusError(res, context);
  }

  async getManifest(location: RegistryLocation, reference: string, options: RegistryRequestOptions = {}): Promise<FetchedManifest> {
    const context = this.#context(location, "pull", `${location.repository}${refSuffix(reference)}`);
    const got = (await this.#fetchManifest(location, reference, context, this.#callSignal(options.signal), false))!;
    const { bytes, headerDigest } = got;
    const expected = isDigest(reference) ? reference : headerDigest !== undefined && VERIFIABLE_DIGEST_RE.test(headerDigest) ? headerDigest : undefined;
    const digest = expected === undefined ? sha256Digest(bytes) : computeDigest(expected, bytes);
    if (expected !== undefined && digest !== expected) throw digestMismatch(context, expected, digest);
    return { descriptor: { mediaType: got.mediaType, digest, size: bytes.byteLength }, bytes };
  }

  async blobExists(location: RegistryLocation, digest: string, options: RegistryRequestOptions = {}): Promise<boolean> {
    return this.#blobExists(location, digest, [pullScope(location)], "pull", this.#callSignal(options.signal));
  }

  async getBlob(location: RegistryLocation, digest: string, options: RegistryRequestOptions = {}): Promise<Uint8Array> {
    requireDigest(digest);
    const context = this.#context(location, "pull", `blob ${digest} of ${location.repository}`);
    const signal = this.#callSignal(options.signal);
    const res = await this.#authed(location, [pullScope(location)], this.#blobUrl(location, digest), { method: "GET" }, context, signal);
    if (!res.ok) throw await this.#statusError(res, context);
    const bytes = await this.#readAll(res, context, signal, Number.POSITIVE_INFINITY);
    const actual = computeDigest(digest, bytes);
    if (actual !== digest) throw digestMismatch(context, digest, actual);
    return bytes;
  }

  openBlob(location: RegistryLocation, digest: string, options: RegistryRequestOptions = {}): AsyncIterable<Uint8Array> {
    requireDigest(digest);
    const context = this.#context(location, "pull", `blob ${digest} of ${location.repository}`);
    return {
      [Symbol.asyncIterator]: () => this.#streamBlob(location, digest, context, this.#callSignal(options.signal))[Symbol.asyncIterator](),
    };
  }

  async pushBlob(location: RegistryLocation, blob: PushableBlob, options: PushBlobOptions = {}): Promise<PushBlobOutcome> {
    const { digest } = blob.descriptor;
    requireDigest(digest);
    const signal = this.#callSignal(options.signal);
    const scopes = [pushScope(location)];
    if (await this.#blobExists(location, digest, scopes, "push", signal)) return "present";
    const sources = (options.mountFrom ?? []).filter((s) => s.registry === location.registry && s.repository !== location.repository);
    const context = this.#context(location, "push", `blob ${digest} of ${location.repository}`, "upload");
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(signal);
      try {
        return await this.#uploadOnce(location, blob, sources, context, signal, attempt === 0 ? options.onUploading : undefined);
      } catch (e) {
        // An upload whose connection dropped or timed out starts over in a new session (the registry keeps only
        // complete blobs, so nothing half-sent remains); a refused connection or unknown host does not.
        if (lostConnection(e) && attempt < this.#retries && signal?.aborted !== true) {
          await this.#sleep(backoffMs(attempt), signal);
          continue;
        }
        if (!(e instanceof RetryableUpload)) throw e;
        if (attempt >= this.#retries) throw await this.#statusError(e.response, context, attempt + 1);
        await discard(e.response);
        await this.#sleep(backoffMs(attempt, e.response), signal);
      }
    }
  }

  async putManifest(location: RegistryLocation, reference: string, manifest: { readonly mediaType: string; readonly bytes: Uint8Array }, options: RegistryRequestOptions = {}): Promise<string> {
    const context = this.#context(location, "push", `manifest ${location.repository}${refSuffix(reference)}`);
    const signal = this.#callSignal(options.signal);
    const ours = isDigest(reference) ? computeDigest(reference, manifest.bytes) : sha256Digest(manifest.bytes);
    if (isDigest(reference) && ours !== reference) {
      throw new SdxError("SDX_REGISTRY_ERROR", `the manifest's bytes do not match the digest ${reference} it is pushed under`, {
        fault: "internal",
        details: { registry: location.registry, repository: location.repository, expected: reference, actual: ours },
      });
    }
    const res = await this.#authed(
      location,
      [pushScope(location)],
      this.#manifestUrl(location, reference),
      { method: "PUT", headers: { "content-type": manifest.mediaType }, body: manifest.bytes },
      context,
      signal,
    );
    if (res.status !== 201 && res.status !== 200 && res.status !== 202) throw await this.#statusError(res, context);
    const reported = digestHeader(res);
    await discard(res);
    if (reported !== undefined && VERIFIABLE_DIGEST_RE.test(reported) && reported.split(":")[0] === ours.split(":")[0] && reported !== ours) {
      throw digestMismatch(context, ours, reported);
    }
    return ours;
  }

  async deleteManifest(location: RegistryLocation, digest: string, options: RegistryRequestOptions = {}): Promise<void> {
    requireDigest(digest);
    const context = this.#context(location, "delete", `manifest ${location.repository}@${digest}`);
    const res = await this.#authed(location, [{ repository: location.repository, actions: ["delete"] }], this.#manifestUrl(location, digest), { method: "DELETE" }, context, this.#callSignal(options.signal));
    if (res.status === 202 || res.status === 200 || res.status === 204) {
      await discard(res);
      return;
    }
    throw await this.#statusError(res, context);
  }

  // -- internals -----------------------------------------------------------

  /** GETs a manifest's bytes (capped); on 404 undefined when `soft`, else `SDX_IMAGE_NOT_FOUND`. */
  async #fetchManifest(location: RegistryLocation, reference: string, context: Context, signal: AbortSignal | undefined, soft: boolean): Promise<{ bytes: Uint8Array; headerDigest: string | undefined; mediaType: string } | undefined> {
    const res = await this.#authed(location, [pullScope(location)], this.#manifestUrl(location, reference), { method: "GET", headers: { accept: MANIFEST_MEDIA_TYPES.join(", ") } }, context, signal);
    if (res.status === 404 && soft) {
      await discard(res);
      return undefined;
    }
    if (!res.ok) throw await this.#statusError(res, context);
    const declared = Number(res.headers.get("content-length") ?? "0");
    if (declared > MAX_MANIFEST_BYTES) {
      await discard(res);
      throw tooLarge(context);
    }
    const headerDigest = digestHeader(res);
    const contentType = mediaTypeOf(res);
    const bytes = await this.#readAll(res, context, signal, MAX_MANIFEST_BYTES);
    return { bytes, headerDigest, mediaType: contentType ?? embeddedMediaType(bytes) ?? OCI_MANIFEST_MEDIA_TYPE };
  }

  async #blobExists(location: RegistryLocation, digest: string, scopes: readonly AuthScope[], action: string, signal: AbortSignal | undefined): Promise<boolean> {
    requireDigest(digest);
    const context = this.#context(location, action, `blob ${digest} of ${location.repository}`);
    const res = await this.#authed(location, scopes, this.#blobUrl(location, digest), { method: "HEAD" }, context, signal);
    await discard(res);
    if (res.ok) return true;
    if (res.status === 404) return false;
    throw await this.#statusError(res, context);
  }

  async *#streamBlob(location: RegistryLocation, digest: string, context: Context, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
    const res = await this.#authed(location, [pullScope(location)], this.#blobUrl(location, digest), { method: "GET" }, context, signal);
    if (!res.ok) throw await this.#statusError(res, context);
    const hash = hasherFor(digest);
    for await (const chunk of this.#chunks(res, context, signal)) {
      hash.update(chunk);
      yield chunk;
    }
    const actual = `${digest.split(":")[0]}:${hash.digest("hex")}`;
    if (actual !== digest) throw digestMismatch(context, digest, actual);
  }

  /** One try at putting a blob: mount, or start a session and send the bytes. */
  async #uploadOnce(
    location: RegistryLocation,
    blob: PushableBlob,
    sources: readonly RegistryLocation[],
    context: Context,
    signal: AbortSignal | undefined,
    onUploading: (() => void) | undefined,
  ): Promise<PushBlobOutcome> {
    const { digest } = blob.descriptor;
    const uploads = this.#uploadsUrl(location);
    let session: URL | undefined;
    for (const [i, source] of sources.entries()) {
      const url = new URL(uploads);
      url.searchParams.set("mount", digest);
      url.searchParams.set("from", source.repository);
      const scopes = [pushScope(location), pullScope(source)];
      const res = await this.#authed(location, scopes, url, { method: "POST" }, context, signal, false);
      if (res.status === 201) {
        await discard(res);
        return "mounted";
      }
      if (res.status !== 202) throw await this.#sessionError(res, context);
      const started = sessionUrl(res, url, context);
      await discard(res);
      // Not mountable from here: the answer opened an upload. Keep the last one; cancel the others.
      if (i < sources.length - 1) await this.#cancel(location, started, context, signal);
      else session = started;
    }
    if (blob.bytes === undefined && blob.open === undefined) {
      if (session !== undefined) await this.#cancel(location, session, context, signal);
      throw new SdxError("SDX_INTERNAL", `blob ${digest} has no bytes and could not be mounted into ${location.registry}/${location.repository}`, {
        fault: "internal",
        hint: "The caller must give the blob's bytes, a way to open them, or a repository on the same registry to mount it from.",
        details: { registry: location.registry, repository: location.repository, digest },
      });
    }
    if (session === undefined) {
      const res = await this.#authed(location, [pushScope(location)], uploads, { method: "POST" }, context, signal, false);
      if (res.status !== 202) throw await this.#sessionError(res, context);
      session = sessionUrl(res, uploads, context);
      await discard(res);
    }
    onUploading?.();
    try {
      await this.#sendBytes(location, blob, session, context, signal);
    } catch (e) {
      // Free the registry's half-written upload at once instead of waiting for its expiry.
      if (!(isSdxError(e) && e.code === "SDX_ABORTED")) await this.#cancel(location, session, context, undefined);
      throw e;
    }
    return "uploaded";
  }

  async #sendBytes(location: RegistryLocation, blob: PushableBlob, session: URL, context: Context, signal: AbortSignal | undefined): Promise<void> {
    const { digest, size } = blob.descriptor;
    const hash = hasherFor(digest);
    const scopes = [pushScope(location)];
    const monolithic = size < this.#chunkSize;
    let offset = 0;
    let uploadUrl = session;
    let buffered: Uint8Array[] = [];
    let bufferedBytes = 0;
    const patch = async (chunk: Uint8Array): Promise<void> => {
      const res = await this.#authed(
        location,
        scopes,
        uploadUrl,
        { method: "PATCH", headers: { "content-type": OCTET_STREAM, "content-range": `${offset}-${offset + chunk.byteLength - 1}` }, body: chunk },
        context,
        signal,
        false,
      );
      if (res.status !== 202 && res.status !== 204) throw await this.#sessionError(res, context);
      const next = sessionUrl(res, uploadUrl, context);
      const range = parseRangeEnd(res.headers.get("range"));
      await discard(res);
      offset += chunk.byteLength;
      if (range !== undefined && range !== offset - 1) {
        throw new SdxError("SDX_REGISTRY_ERROR", `registry ${location.registry} kept ${range + 1} of the ${offset} bytes sent for blob ${digest}`, {
          fault: "backend",
          hint: "Retry the push; the registry lost part of the upload.",
          details: { registry: location.registry, repository: location.repository, digest, received: range + 1, sent: offset },
        });
      }
      uploadUrl = next;
    };
    for await (const piece of readBlob(blob)) {
      hash.update(piece);
      let rest = piece;
      while (rest.byteLength > 0) {
        const room = monolithic ? rest.byteLength : this.#chunkSize - bufferedBytes;
        const take = rest.subarray(0, room);
        rest = rest.subarray(take.byteLength);
        buffered.push(take);
        bufferedBytes += take.byteLength;
        if (!monolithic && bufferedBytes >= this.#chunkSize) {
          const chunk = concat(buffered, bufferedBytes);
          buffered = [];
          bufferedBytes = 0;
          await patch(chunk);
        }
      }
      if (offset + bufferedBytes > size) break;
    }
    const total = offset + bufferedBytes;
    const actual = `${digest.split(":")[0]}:${hash.digest("hex")}`;
    if (total !== size || actual !== digest) {
      throw new SdxError("SDX_REGISTRY_ERROR", `blob ${digest} read ${total} bytes with digest ${actual}, not the ${size} bytes its descriptor says; nothing was committed`, {
        fault: "internal",
        hint: "The blob changed on disk while pushing, or its descriptor is wrong; rebuild the image.",
        details: { registry: location.registry, repository: location.repository, expected: digest, actual, size, read: total },
      });
    }
    const last = monolithic ? concat(buffered, bufferedBytes) : bufferedBytes > 0 ? concat(buffered, bufferedBytes) : undefined;
    if (!monolithic && last !== undefined) await patch(last);
    const put = new URL(uploadUrl);
    put.searchParams.set("digest", digest);
    const body = monolithic ? last! : new Uint8Array(0);
    const res = await this.#authed(
      location,
      scopes,
      put,
      { method: "PUT", headers: { "content-type": OCTET_STREAM }, body },
      context,
      signal,
      false,
    );
    if (res.status !== 201 && res.status !== 204 && res.status !== 200) throw await this.#sessionError(res, context);
    const reported = digestHeader(res);
    await discard(res);
    if (reported !== undefined && reported.split(":")[0] === digest.split(":")[0] && reported !== digest) throw digestMismatch(context, digest, reported);
  }

  /** Best effort: a session that is not cancelled expires on its own. */
  async #cancel(location: RegistryLocation, session: URL, context: Context, signal: AbortSignal | undefined): Promise<void> {
    try {
      const res = await this.#authed(location, [pushScope(location)], session, { method: "DELETE" }, context, signal, false);
      await discard(res);
    } catch {
      // The session dies with its timeout; nothing the caller can do about it.
    }
  }

  /** 429/5xx during an upload restart the blob; other answers end it. */
  async #sessionError(res: Response, context: Context): Promise<Error> {
    if (isRetryableStatus(res.status)) return new RetryableUpload(res);
    return this.#statusError(res, context);
  }

  // -- requests ------------------------------------------------------------

  /**
   * Sends a request with the registry's auth: the header known for this scope,
   * or, after a 401, the one its challenge asks for (once).
   */
  async #authed(location: RegistryLocation, scopes: readonly AuthScope[], url: URL, init: RequestInit, context: Context, signal: AbortSignal | undefined, retry = true): Promise<Response> {
    const secure = url.protocol === "https:";
    const first = await this.#auth.header(location.registry, secure, scopes, context, signal);
    let res = await this.#send(url, withAuthorization(init, first), context, { signal, retry });
    if (res.status !== 401) return res;
    const challenge = res.headers.get("www-authenticate");
    await discard(res);
    await this.#auth.challenged(location.registry, challenge, scopes, context);
    const second = await this.#auth.header(location.registry, secure, scopes, context, signal);
    if (second === undefined || second === first) throw await this.#auth.refused(context, 401);
    res = await this.#send(url, withAuthorization(init, second), context, { signal, retry });
    return res;
  }

  /** One HTTP exchange up to the response headers, with the timeout, abort and retries of 429/5xx. */
  async #send(url: URL, init: RequestInit, context: Context, options: SendOptions): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("user-agent", this.#userAgent);
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(options.signal);
      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(), this.#timeoutMs);
      const signal = options.signal === undefined ? timeout.signal : AbortSignal.any([options.signal, timeout.signal]);
      let res: Response;
      try {
        res = await this.#fetch(url, { ...init, headers, signal, redirect: "follow" });
      } catch (e) {
        // A read (GET/HEAD) that timed out or lost its connection is asked again: it changes nothing.
        // Refused connections and unknown hosts are not: they fail the same way at once, and a plan must not wait on them.
        const transient = timeout.signal.aborted || TRANSIENT_NETWORK_CODES.has(errorCodeOf(e) ?? "");
        if (options.retry && transient && isIdempotent(init.method) && attempt < this.#retries && options.signal?.aborted !== true) {
          clearTimeout(timer);
          await this.#sleep(backoffMs(attempt), options.signal);
          continue;
        }
        throw this.#thrown(e, context, options.signal, timeout.signal.aborted);
      } finally {
        clearTimeout(timer);
      }
      if (options.retry && isRetryableStatus(res.status) && attempt < this.#retries) {
        await discard(res);
        await this.#sleep(backoffMs(attempt, res), options.signal);
        continue;
      }
      if (isRetryableStatus(res.status) && options.retry) {
        // Out of retries: say how many tries it took.
        throw await this.#statusError(res, context, attempt + 1);
      }
      return res;
    }
  }

  /** Reads a body whole, each read bounded by the request timeout. */
  async #readAll(res: Response, context: Context, signal: AbortSignal | undefined, cap: number): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of this.#chunks(res, context, signal)) {
      total += chunk.byteLength;
      if (total > cap) throw tooLarge(context);
      parts.push(chunk);
    }
    return concat(parts, total);
  }

  /** A body's chunks; a read that stalls longer than the request timeout ends it as unreachable. */
  async *#chunks(res: Response, context: Context, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
    if (res.body === null) return;
    const reader = res.body.getReader();
    let done = false;
    try {
      for (;;) {
        let timer: NodeJS.Timeout | undefined;
        let timedOut = false;
        const stall = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            timedOut = true;
            reject(new Error("stalled"));
          }, this.#timeoutMs);
        });
        let step: Awaited<ReturnType<typeof reader.read>>;
        try {
          step = await Promise.race([reader.read(), stall]);
        } catch (e) {
          throw this.#thrown(e, context, signal, timedOut);
        } finally {
          clearTimeout(timer);
        }
        if (step.done) {
          done = true;
          return;
        }
        yield step.value;
      }
    } finally {
      if (!done) await reader.cancel().catch(() => undefined);
      reader.releaseLock();
    }
  }

  /** Classifies what fetch or a body read threw, by signal and error code. */
  #thrown(e: unknown, context: Context, signal: AbortSignal | undefined, timedOut: boolean): SdxError {
    if (isSdxError(e)) return e;
    if (signal?.aborted) return new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user", cause: signal.reason });
    const { registry, repository } = context;
    if (timedOut) {
      return new SdxError("SDX_REGISTRY_UNREACHABLE", `registry ${registry} did not answer within ${this.#timeoutMs} ms (${context.what})`, {
        fault: "backend",
        hint: "Check the network path to the registry, or raise requestTimeoutMs for slow links.",
        details: { registry, repository, timeoutMs: this.#timeoutMs },
      });
    }
    const code = errorCodeOf(e);
    if (code !== undefined && TLS_CODES.has(code)) {
      return new SdxError("SDX_REGISTRY_UNREACHABLE", `cannot reach registry ${registry} over TLS (${code})`, {
        fault: "user",
        cause: e,
        hint: `Trust the registry's CA with NODE_EXTRA_CA_CERTS=<ca.pem>, or declare ${registry} insecure if it speaks plain http.`,
        details: { registry, repository, code },
      });
    }
    return new SdxError("SDX_REGISTRY_UNREACHABLE", `cannot reach registry ${registry}${code === undefined ? "" : ` (${code})`}`, {
      fault: "backend",
      cause: e,
      hint: `Check that ${registry} is up and reachable from here (DNS, proxy, firewall), then retry.`,
      details: { registry, repository, ...(code === undefined ? {} : { code }) },
    });
  }

  /** The error for an answer that is not what was asked for. */
  async #statusError(res: Response, context: Context, attempts?: number): Promise<SdxError> {
    const { status } = res;
    const { registry, repository } = context;
    const codes = await registryErrorCodes(res);
    if (status === 401 || status === 403) return this.#auth.refused(context, status);
    if (status === 404 && context.notFound === "image") return notFound(context, status, codes);
    if (isRetryableStatus(status)) {
      return new SdxError("SDX_REGISTRY_ERROR", `registry ${registry} answered HTTP ${status} for ${context.what}${attempts === undefined ? "" : ` ${attempts} time${attempts === 1 ? "" : "s"}`}`, {
        fault: "backend",
        hint: status === 429 ? "The registry is throttling; wait and retry, or push less at once." : "The registry is failing; retry later.",
        details: { registry, repository, status, ...(attempts === undefined ? {} : { attempts }), ...(codes.length > 0 ? { registryErrors: codes } : {}) },
      });
    }
    return new SdxError("SDX_REGISTRY_ERROR", `registry ${registry} refused ${context.action} of ${context.what} (HTTP ${status}${codes.length > 0 ? ` ${codes.join(", ")}` : ""})`, {
      fault: "backend",
      hint: status === 405 ? "The registry does not allow this operation (deletes are often disabled)." : "See the registry's error codes in details.",
      details: { registry, repository, status, ...(codes.length > 0 ? { registryErrors: codes } : {}) },
    });
  }

  #context(location: RegistryLocation, action: string, what: string, notFound: "image" | "upload" = "image"): Context {
    return { registry: location.registry, repository: location.repository, action, what, notFound };
  }

  #callSignal(signal: AbortSignal | undefined): AbortSignal | undefined {
    if (signal === undefined) return this.#signal;
    if (this.#signal === undefined) return signal;
    return AbortSignal.any([this.#signal, signal]);
  }

  #base(location: RegistryLocation): string {
    return `${location.scheme}://${location.registry}/v2/${location.repository}`;
  }

  #manifestUrl(location: RegistryLocation, reference: string): URL {
    if (!isDigest(reference) && !TAG_RE.test(reference)) {
      throw new SdxError("SDX_VALIDATION", `"${reference}" is neither a tag nor a digest`, { fault: "user", hint: "Tags are up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'." });
    }
    return new URL(`${this.#base(location)}/manifests/${reference}`);
  }

  #blobUrl(location: RegistryLocation, digest: string): URL {
    return new URL(`${this.#base(location)}/blobs/${digest}`);
  }

  #uploadsUrl(location: RegistryLocation): URL {
    return new URL(`${this.#base(location)}/blobs/uploads/`);
  }
}

/** A 429/5xx inside an upload session: the whole blob is retried. */
class RetryableUpload extends Error {
  override readonly name = "RetryableUpload";
  constructor(readonly response: Response) {
    super(`HTTP ${response.status}`);
  }
}

function pullScope(location: RegistryLocation): AuthScope {
  return { repository: location.repository, actions: ["pull"] };
}

function pushScope(location: RegistryLocation): AuthScope {
  return { repository: location.repository, actions: ["pull", "push"] };
}

function withAuthorization(init: RequestInit, authorization: string | undefined): RequestInit {
  if (authorization === undefined) return init;
  const headers = new Headers(init.headers);
  headers.set("authorization", authorization);
  return { ...init, headers };
}

function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

/** Connection failures worth one more try: the connection was made (or timed out), then lost. */
const TRANSIENT_NETWORK_CODES = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT", "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

/** An SDX_REGISTRY_UNREACHABLE from a connection that was made, then lost or timed out. */
function lostConnection(e: unknown): boolean {
  if (!isSdxError(e) || e.code !== "SDX_REGISTRY_UNREACHABLE") return false;
  const d = e.details ?? {};
  return d["timeoutMs"] !== undefined || TRANSIENT_NETWORK_CODES.has(String(d["code"] ?? ""));
}

function isIdempotent(method: string | undefined): boolean {
  return method === undefined || method === "GET" || method === "HEAD";
}

/** 250 ms doubling per attempt up to 10 s; a longer `Retry-After` (seconds, ≤ 60) wins. */
function backoffMs(attempt: number, res?: Response): number {
  const exponential = Math.min(10_000, 250 * 2 ** attempt);
  const retryAfter = Number(res?.headers.get("retry-after") ?? "NaN");
  return Number.isFinite(retryAfter) && retryAfter > 0 ? Math.max(exponential, Math.min(60, retryAfter) * 1000) : exponential;
}

function isDigest(reference: string): boolean {
  return reference.includes(":") && DIGEST_RE.test(reference);
}

function refSuffix(reference: string): string {
  return isDigest(reference) ? `@${reference}` : `:${reference}`;
}

function requireDigest(digest: string): void {
  if (!VERIFIABLE_DIGEST_RE.test(digest)) {
    throw new SdxError("SDX_VALIDATION", `"${digest}" is not a sha256 or sha512 digest`, { fault: "user", hint: "Digests look like sha256:<64 hex digits>." });
  }
}

function hasherFor(digest: string): Hash {
  const algorithm = digest.split(":")[0];
  if (algorithm !== "sha256" && algorithm !== "sha512") requireDigest(digest);
  return createHash(algorithm!);
}

/** The digest of `bytes` in the algorithm of `like`. */
function computeDigest(like: string, bytes: Uint8Array): string {
  const algorithm = like.split(":")[0]!;
  if (algorithm !== "sha256" && algorithm !== "sha512") return sha256Digest(bytes);
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}

function digestHeader(res: Response): string | undefined {
  const value = res.headers.get("docker-content-digest")?.trim();
  return value !== undefined && DIGEST_RE.test(value) ? value : undefined;
}

function mediaTypeOf(res: Response): string | undefined {
  const value = res.headers.get("content-type")?.split(";")[0]?.trim();
  // Registries that do not know the type answer a generic one; the body says better.
  return value === undefined || value === "" || value === "application/json" || value === "text/plain" || value === OCTET_STREAM ? undefined : value;
}

function embeddedMediaType(bytes: Uint8Array): string | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(bytes).toString("utf8")) as { mediaType?: unknown; manifests?: unknown };
    if (typeof parsed.mediaType === "string") return parsed.mediaType;
    if (Array.isArray(parsed.manifests)) return OCI_INDEX_MEDIA_TYPE;
  } catch {
    // Not JSON: the caller's parse reports it.
  }
  return undefined;
}

/** The registry's error codes (`errors[].code`, distribution spec), never its messages. */
async function registryErrorCodes(res: Response): Promise<string[]> {
  if (res.bodyUsed || res.body === null) return [];
  try {
    const text = await res.text();
    if (text.length > 64 * 1024) return [];
    const parsed = JSON.parse(text) as { errors?: { code?: unknown }[] };
    return Array.isArray(parsed.errors) ? parsed.errors.map((e) => e.code).filter((c): c is string => typeof c === "string" && /^[A-Z_]{1,64}$/.test(c)) : [];
  } catch {
    return [];
  }
}

/** The upload URL of a 202 answer; `Location` may be relative. */
function sessionUrl(res: Response, base: URL, context: Context): URL {
  const header = res.headers.get("location");
  if (header === null || header === "") {
    throw new SdxError("SDX_REGISTRY_ERROR", `registry ${context.registry} opened an upload without a Location`, {
      fault: "backend",
      details: { registry: context.registry, repository: context.repository, status: res.status },
    });
  }
  return new URL(header, base);
}

/** The last byte in `Range: [bytes=]0-<end>`; undefined when absent or unreadable. */
function parseRangeEnd(header: string | null): number | undefined {
  const m = /^(?:bytes=)?(\d+)-(\d+)$/.exec(header?.trim() ?? "");
  return m === null ? undefined : Number(m[2]);
}

async function* readBlob(blob: PushableBlob): AsyncGenerator<Uint8Array> {
  if (blob.bytes !== undefined) {
    yield blob.bytes;
    return;
  }
  yield* blob.open!();
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1 && parts[0]!.byteLength === total) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function digestMismatch(context: Context, expected: string, actual: string): SdxError {
  return new SdxError("SDX_REGISTRY_ERROR", `registry ${context.registry} sent ${context.what} with digest ${actual}, not ${expected}`, {
    fault: "backend",
    hint: "The registry or a proxy on the way altered the content; retry, and report it if it persists.",
    details: { registry: context.registry, repository: context.repository, expected, actual },
  });
}

function notFound(context: Context, status: number, codes: readonly string[] = []): SdxError {
  const { registry, repository } = context;
  return new SdxError("SDX_IMAGE_NOT_FOUND", `${context.what} was not found on registry ${registry}`, {
    fault: "user",
    hint: "Check the repository, tag or digest; push the image first if it does not exist yet.",
    details: { registry, repository, status, ...(codes.length > 0 ? { registryErrors: codes } : {}) },
  });
}

function tooLarge(context: Context): SdxError {
  return new SdxError("SDX_REGISTRY_ERROR", `registry ${context.registry} sent a manifest over ${MAX_MANIFEST_BYTES} bytes for ${context.what}`, {
    fault: "backend",
    details: { registry: context.registry, repository: context.repository, limit: MAX_MANIFEST_BYTES },
  });
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new SdxError("SDX_INTERNAL", `createRegistryClient: ${name} must be a positive number, got ${String(value)}`, { fault: "internal" });
  return value;
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new SdxError("SDX_INTERNAL", `createRegistryClient: ${name} must be 0 or more, got ${String(value)}`, { fault: "internal" });
  return value;
}
