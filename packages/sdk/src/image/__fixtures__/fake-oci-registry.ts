/**
 * A small OCI registry on 127.0.0.1 for unit tests: blobs (HEAD/GET, uploads
 * monolithic and chunked, cross-repository mount), manifests (HEAD/GET/PUT/DELETE),
 * Basic auth or a Bearer token service with scope checks, and fault injection
 * (statuses, resets, corrupt bodies, wrong or missing digest headers, slow answers).
 * It records every request. Not part of the runtime API (excluded from the build).
 */
import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { PushableBlob, RegistryLocation } from "../registry-client.js";
import type { PushableImage } from "../push-image.js";

/** How the fake wants callers to authenticate. */
export type FakeOciAuth =
  | { readonly kind: "basic"; readonly username: string; readonly password: string }
  | {
      readonly kind: "bearer";
      /** Credentials the token service accepts (Basic); without them everyone is anonymous. */
      readonly username?: string;
      readonly password?: string;
      /** An OAuth2 refresh token accepted by POST /token. */
      readonly refreshToken?: string;
      /** Anonymous callers get pull on every repository. @default false */
      readonly anonymousPull?: boolean;
      /** The JSON field a GET /token answer carries the token in (POST always answers `access_token`). @default "token" */
      readonly tokenField?: "token" | "access_token";
    };

/** What to do instead of answering normally. */
export type FakeOciFault =
  | { readonly kind: "status"; readonly status: number; readonly headers?: Readonly<Record<string, string>> }
  /** Destroys the connection before answering. */
  | { readonly kind: "reset" }
  /** Reads this many request-body bytes, then destroys the connection. */
  | { readonly kind: "reset-after"; readonly bytes: number }
  /** Answers with one byte of the body changed (blob and manifest GET). */
  | { readonly kind: "corrupt" }
  /** Answers normally but with this Docker-Content-Digest (manifest answers, blob and manifest PUT). */
  | { readonly kind: "digest-header"; readonly digest: string }
  /** Answers normally but without Docker-Content-Digest where {@link FakeOciFault} `digest-header` would set it, as some registries do. */
  | { readonly kind: "omit-digest-header" }
  /** Answers normally, this many milliseconds later (timeouts, concurrency); close() drops what is still held. */
  | { readonly kind: "delay"; readonly ms: number };

/** Options for {@link startFakeOciRegistry}. */
export interface FakeOciOptions {
  /** @default none: everyone may do everything */
  readonly auth?: FakeOciAuth;
  /** Called for every request after auth; a fault replaces the answer. */
  readonly fault?: (request: FakeOciRequest) => FakeOciFault | undefined;
  /** Honour `?mount=&from=`; off behaves like registries that ignore it (202). @default true */
  readonly mount?: boolean;
  /** Send absolute upload Locations instead of relative ones. @default false */
  readonly absoluteLocation?: boolean;
}

/** One request the fake saw. */
export interface FakeOciRequest {
  readonly method: string;
  /** Without the query. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** All `scope` values of a token request. */
  readonly scopes: readonly string[];
  /** Authorization scheme sent, never its value. */
  readonly auth: "none" | "basic" | "bearer" | "other";
  readonly contentRange: string | undefined;
  readonly contentType: string | undefined;
  /** Set when answered; undefined when the connection was dropped. */
  status: number | undefined;
  /** Request body bytes read. */
  bodyBytes: number;
}

/** A running fake registry. */
export interface FakeOci {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** `127.0.0.1:<port>`. */
  readonly host: string;
  readonly requests: FakeOciRequest[];
  /** A location on this registry. */
  location(repository: string): RegistryLocation;
  /** Stores a blob in a repository; returns its digest. */
  seedBlob(repository: string, bytes: Uint8Array): string;
  /** Stores a manifest under its digest and the given tags; returns the digest. */
  seedManifest(repository: string, mediaType: string, bytes: Uint8Array, tags?: readonly string[]): string;
  /** Removes a tag (the manifest stays), as an interrupted push or a registry's clean-up leaves it. */
  untag(repository: string, tag: string): void;
  hasBlob(repository: string, digest: string): boolean;
  blob(repository: string, digest: string): Uint8Array | undefined;
  manifest(repository: string, reference: string): { readonly mediaType: string; readonly bytes: Uint8Array; readonly digest: string } | undefined;
  /** Upload sessions open now. */
  openUploads(): number;
  close(): Promise<void>;
}

interface Repo {
  readonly blobs: Set<string>;
  readonly manifests: Map<string, { mediaType: string; bytes: Uint8Array }>;
  readonly tags: Map<string, string>;
}

/** sha256 digest of bytes. */
export function digestOf(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Starts a fake registry on 127.0.0.1 and a free port. */
export async function startFakeOciRegistry(options: FakeOciOptions = {}): Promise<FakeOci> {
  const content = new Map<string, Uint8Array>();
  const repos = new Map<string, Repo>();
  const uploads = new Map<string, { repository: string; parts: Buffer[]; size: number }>();
  const tokens = new Map<string, readonly string[]>();
  const requests: FakeOciRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let url = "";

  const repo = (name: string, create = true): Repo | undefined => {
    let r = repos.get(name);
    if (r === undefined && create) {
      r = { blobs: new Set(), manifests: new Map(), tags: new Map() };
      repos.set(name, r);
    }
    return r;
  };
  const errorBody = (code: string): string => JSON.stringify({ errors: [{ code, message: code.toLowerCase(), detail: null }] });
  const send = (req: IncomingMessage, res: ServerResponse, entry: FakeOciRequest, status: number, headers: Record<string, string> = {}, body: string | Uint8Array = ""): void => {
    entry.status = status;
    if (res.destroyed) return;
    const bytes = typeof body === "string" ? Buffer.from(body) : Buffer.from(body);
    res.writeHead(status, { "content-length": String(bytes.byteLength), ...headers });
    res.end(req.method === "HEAD" ? undefined : bytes);
  };
  const readBody = async (req: IncomingMessage, entry: FakeOciRequest, resetAfter?: number): Promise<Buffer | undefined> => {
    const parts: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) {
      if (resetAfter !== undefined && entry.bodyBytes + chunk.byteLength >= resetAfter) {
        entry.bodyBytes = resetAfter;
        req.socket.destroy();
        return undefined;
      }
      entry.bodyBytes += chunk.byteLength;
      parts.push(chunk);
    }
    return Buffer.concat(parts);
  };

  const hold = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });
  /** The Docker-Content-Digest header to send for `digest`, as the request's fault has it. */
  const digestHeader = (fault: FakeOciFault | undefined, digest: string): Record<string, string> =>
    fault?.kind === "omit-digest-header" ? {} : { "docker-content-digest": fault?.kind === "digest-header" ? fault.digest : digest };

  /** Actions a request needs, per repository. */
  const needs = (method: string, repository: string, query: Record<string, string>, isManifest: boolean): [string, string][] => {
    if (method === "GET" || method === "HEAD") return [[repository, "pull"]];
    if (method === "DELETE" && isManifest) return [[repository, "delete"]];
    const out: [string, string][] = [[repository, "push"]];
    if (method === "POST" && query["from"] !== undefined) out.push([query["from"], "pull"]);
    return out;
  };
  const granted = (scopes: readonly string[], repository: string, action: string): boolean =>
    scopes.some((s) => {
      const m = /^repository:(.+):([a-z,*]+)$/.exec(s);
      return m !== null && m[1] === repository && (m[2]!.split(",").includes(action) || m[2] === "*");
    });

  /** Returns true when the request may go on; otherwise answers 401. */
  const checkAuth = (req: IncomingMessage, res: ServerResponse, entry: FakeOciRequest, wanted: [string, string][]): boolean => {
    const auth = options.auth;
    if (auth === undefined) return true;
    const header = req.headers.authorization ?? "";
    if (auth.kind === "basic") {
      if (header === `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`) return true;
      req.resume();
      send(req, res, entry, 401, { "content-type": "application/json", "www-authenticate": 'Basic realm="fake-oci"' }, errorBody("UNAUTHORIZED"));
      return false;
    }
    const m = /^Bearer (.+)$/.exec(header);
    const scopes = m === null ? undefined : tokens.get(m[1]!);
    if (scopes !== undefined && wanted.every(([r, a]) => granted(scopes, r, a))) return true;
    const [repository, action] = wanted[0]!;
    const actions = action === "push" ? "pull,push" : action;
    req.resume();
    send(
      req,
      res,
      entry,
      401,
      { "content-type": "application/json", "www-authenticate": `Bearer realm="${url}/token",service="fake-oci",scope="repository:${repository}:${actions}"` },
      errorBody("UNAUTHORIZED"),
    );
    return false;
  };

  const handleToken = async (req: IncomingMessage, res: ServerResponse, entry: FakeOciRequest): Promise<void> => {
    const auth = options.auth;
    if (auth?.kind !== "bearer") return send(req, res, entry, 404, {}, errorBody("NOT_FOUND"));
    let scopes = entry.scopes;
    let identified = false;
    if (req.method === "POST") {
      const form = new URLSearchParams((await readBody(req, entry))?.toString("utf8") ?? "");
      scopes = (form.get("scope") ?? "").split(" ").filter((s) => s !== "");
      (entry as { scopes: readonly string[] }).scopes = scopes;
      if (form.get("grant_type") !== "refresh_token" || auth.refreshToken === undefined || form.get("refresh_token") !== auth.refreshToken) {
        return send(req, res, entry, 401, { "content-type": "application/json" }, errorBody("UNAUTHORIZED"));
      }
      identified = true;
    } else if (req.headers.authorization !== undefined) {
      const expected = `Basic ${Buffer.from(`${auth.username ?? ""}:${auth.password ?? ""}`).toString("base64")}`;
      if (auth.username === undefined || req.headers.authorization !== expected) {
        return send(req, res, entry, 401, { "content-type": "application/json" }, errorBody("UNAUTHORIZED"));
      }
      identified = true;
    }
    const grant = identified ? scopes : auth.anonymousPull === true ? scopes.map((s) => s.replace(/:[a-z,*]+$/, ":pull")) : [];
    const token = `fake-oci-token-${tokens.size + 1}`;
    tokens.set(token, grant);
    const body = { [req.method === "POST" ? "access_token" : (auth.tokenField ?? "token")]: token, expires_in: 300 };
    send(req, res, entry, 200, { "content-type": "application/json" }, JSON.stringify(body));
  };

  const uploadLocation = (repository: string, id: string): string => `${options.absoluteLocation === true ? url : ""}/v2/${repository}/blobs/uploads/${id}?_state=s${id.slice(0, 4)}`;

  const handle = async (req: IncomingMessage, res: ServerResponse, entry: FakeOciRequest): Promise<void> => {
    const method = entry.method;
    if (entry.path === "/token") {
      const fault = options.fault?.(entry);
      if (fault?.kind === "delay") await hold(fault.ms);
      else if (fault !== undefined) return applyFault(req, res, entry, fault);
      return handleToken(req, res, entry);
    }
    if (entry.path === "/v2/" || entry.path === "/v2") {
      if (!checkAuth(req, res, entry, [["", "pull"]])) return;
      return send(req, res, entry, 200, { "content-type": "application/json" }, "{}");
    }
    const upload = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(entry.path);
    const blob = upload === null ? /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(entry.path) : null;
    const manifest = upload === null && blob === null ? /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(entry.path) : null;
    const repository = (upload ?? blob ?? manifest)?.[1];
    if (repository === undefined) {
      req.resume();
      return send(req, res, entry, 404, { "content-type": "application/json" }, errorBody("NOT_FOUND"));
    }
    if (!checkAuth(req, res, entry, needs(method, repository, entry.query as Record<string, string>, manifest !== null))) return;
    const fault = options.fault?.(entry);
    if (fault?.kind === "status" || fault?.kind === "reset") return applyFault(req, res, entry, fault);
    if (fault?.kind === "delay") await hold(fault.ms);

    if (blob !== null) {
      req.resume();
      const digest = decodeURIComponent(blob[2]!);
      const r = repo(repository, false);
      const bytes = r?.blobs.has(digest) === true ? content.get(digest) : undefined;
      if (bytes === undefined) return send(req, res, entry, 404, { "content-type": "application/json" }, errorBody("BLOB_UNKNOWN"));
      if (method === "GET" || method === "HEAD") {
        const body = fault?.kind === "corrupt" ? corrupt(bytes) : bytes;
        return send(req, res, entry, 200, { "content-type": "application/octet-stream", "docker-content-digest": digest }, method === "HEAD" ? "" : body);
      }
      return send(req, res, entry, 405, {}, errorBody("UNSUPPORTED"));
    }

    if (upload !== null) {
      const id = upload[2]!;
      if (method === "POST" && id === "") {
        req.resume();
        const from = entry.query["from"];
        const mount = entry.query["mount"];
        if (options.mount !== false && from !== undefined && mount !== undefined && repo(from, false)?.blobs.has(mount) === true) {
          repo(repository)!.blobs.add(mount);
          return send(req, res, entry, 201, { location: `/v2/${repository}/blobs/${mount}`, "docker-content-digest": mount });
        }
        const newId = randomUUID();
        uploads.set(newId, { repository, parts: [], size: 0 });
        return send(req, res, entry, 202, { location: uploadLocation(repository, newId), range: "0-0", "docker-upload-uuid": newId });
      }
      const session = uploads.get(id);
      if (session === undefined || session.repository !== repository) {
        req.resume();
        return send(req, res, entry, 404, { "content-type": "application/json" }, errorBody("BLOB_UPLOAD_UNKNOWN"));
      }
      if (method === "DELETE") {
        req.resume();
        uploads.delete(id);
        return send(req, res, entry, 204);
      }
      if (method === "GET") {
        return send(req, res, entry, 204, { location: uploadLocation(repository, id), range: `0-${Math.max(0, session.size - 1)}` });
      }
      if (method === "PATCH" || method === "PUT") {
        const range = entry.contentRange;
        if (range !== undefined) {
          const m = /^(\d+)-(\d+)$/.exec(range);
          if (m === null || Number(m[1]) !== session.size) {
            req.resume();
            return send(req, res, entry, 416, { location: uploadLocation(repository, id), range: `0-${Math.max(0, session.size - 1)}` }, errorBody("BLOB_UPLOAD_INVALID"));
          }
        }
        const body = await readBody(req, entry, fault?.kind === "reset-after" ? fault.bytes : undefined);
        if (body === undefined) return; // connection dropped on purpose
        session.parts.push(body);
        session.size += body.byteLength;
        if (method === "PATCH") {
          return send(req, res, entry, 202, { location: uploadLocation(repository, id), range: `0-${session.size - 1}`, "docker-upload-uuid": id });
        }
        const digest = entry.query["digest"];
        const all = Buffer.concat(session.parts);
        if (digest === undefined || digestOf(all) !== digest) {
          uploads.delete(id);
          return send(req, res, entry, 400, { "content-type": "application/json" }, errorBody("DIGEST_INVALID"));
        }
        uploads.delete(id);
        content.set(digest, new Uint8Array(all));
        repo(repository)!.blobs.add(digest);
        return send(req, res, entry, 201, { location: `/v2/${repository}/blobs/${digest}`, ...digestHeader(fault, digest) });
      }
      req.resume();
      return send(req, res, entry, 405, {}, errorBody("UNSUPPORTED"));
    }

    // Manifests.
    const reference = decodeURIComponent(manifest![2]!);
    const r = repo(repository, method === "PUT");
    if (method === "PUT") {
      const body = await readBody(req, entry);
      if (body === undefined) return;
      const digest = digestOf(body);
      if (reference.startsWith("sha256:") && reference !== digest) return send(req, res, entry, 400, { "content-type": "application/json" }, errorBody("DIGEST_INVALID"));
      let parsed: { config?: { digest?: string }; layers?: { digest?: string }[]; manifests?: { digest?: string }[] };
      try {
        parsed = JSON.parse(body.toString("utf8")) as typeof parsed;
      } catch {
        return send(req, res, entry, 400, { "content-type": "application/json" }, errorBody("MANIFEST_INVALID"));
      }
      const blobs = [parsed.config?.digest, ...(parsed.layers ?? []).map((l) => l.digest)].filter((d): d is string => d !== undefined);
      if (blobs.some((d) => !r!.blobs.has(d))) return send(req, res, entry, 400, { "content-type": "application/json" }, errorBody("MANIFEST_BLOB_UNKNOWN"));
      if ((parsed.manifests ?? []).some((m) => m.digest === undefined || !r!.manifests.has(m.digest))) {
        return send(req, res, entry, 400, { "content-type": "application/json" }, errorBody("MANIFEST_UNKNOWN"));
      }
      r!.manifests.set(digest, { mediaType: entry.contentType ?? "application/json", bytes: new Uint8Array(body) });
      if (!reference.startsWith("sha256:")) r!.tags.set(reference, digest);
      return send(req, res, entry, 201, { location: `/v2/${repository}/manifests/${digest}`, ...digestHeader(fault, digest) });
    }
    req.resume();
    if (r === undefined) return send(req, res, entry, 404, { "content-type": "application/json" }, errorBody("NAME_UNKNOWN"));
    const digest = reference.startsWith("sha256:") ? reference : r.tags.get(reference);
    const found = digest === undefined ? undefined : r.manifests.get(digest);
    if (digest === undefined || found === undefined) return send(req, res, entry, 404, { "content-type": "application/json" }, errorBody("MANIFEST_UNKNOWN"));
    if (method === "DELETE") {
      r.manifests.delete(digest);
      for (const [tag, d] of r.tags) if (d === digest) r.tags.delete(tag);
      return send(req, res, entry, 202);
    }
    if (method === "GET" || method === "HEAD") {
      const body = fault?.kind === "corrupt" ? corrupt(found.bytes) : found.bytes;
      return send(req, res, entry, 200, { "content-type": found.mediaType, ...digestHeader(fault, digest) }, body);
    }
    return send(req, res, entry, 405, {}, errorBody("UNSUPPORTED"));
  };

  const applyFault = (req: IncomingMessage, res: ServerResponse, entry: FakeOciRequest, fault: FakeOciFault): void => {
    if (fault.kind === "reset") {
      req.socket.destroy();
      return;
    }
    if (fault.kind === "status") {
      req.resume();
      send(req, res, entry, fault.status, { "content-type": "application/json", ...fault.headers }, errorBody(fault.status === 429 ? "TOOMANYREQUESTS" : "UNKNOWN"));
    }
  };

  const server = createServer((req, res) => {
    const parsed = new URL(req.url ?? "/", "http://fake");
    const header = req.headers.authorization;
    const scheme = header === undefined ? "none" : (header.split(" ")[0] ?? "").toLowerCase();
    const entry: FakeOciRequest = {
      method: req.method ?? "GET",
      path: parsed.pathname,
      query: Object.fromEntries(parsed.searchParams),
      scopes: parsed.searchParams.getAll("scope"),
      auth: scheme === "none" || scheme === "basic" || scheme === "bearer" ? scheme : "other",
      contentRange: req.headers["content-range"],
      contentType: req.headers["content-type"],
      status: undefined,
      bodyBytes: 0,
    };
    requests.push(entry);
    handle(req, res, entry).catch(() => {
      if (!res.headersSent) res.destroy();
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = `127.0.0.1:${port}`;
  url = `http://${host}`;

  return {
    url,
    host,
    requests,
    location: (repository) => ({ registry: host, repository, scheme: "http" }),
    seedBlob: (repository, bytes) => {
      const digest = digestOf(bytes);
      content.set(digest, bytes);
      repo(repository)!.blobs.add(digest);
      return digest;
    },
    untag: (repository, tag) => {
      repo(repository, false)?.tags.delete(tag);
    },
    seedManifest: (repository, mediaType, bytes, tags = []) => {
      const digest = digestOf(bytes);
      const r = repo(repository)!;
      r.manifests.set(digest, { mediaType, bytes });
      for (const t of tags) r.tags.set(t, digest);
      return digest;
    },
    hasBlob: (repository, digest) => repo(repository, false)?.blobs.has(digest) === true,
    blob: (repository, digest) => (repo(repository, false)?.blobs.has(digest) === true ? content.get(digest) : undefined),
    manifest: (repository, reference) => {
      const r = repo(repository, false);
      const digest = reference.startsWith("sha256:") ? reference : r?.tags.get(reference);
      const m = digest === undefined ? undefined : r?.manifests.get(digest);
      return m === undefined ? undefined : { ...m, digest: digest! };
    },
    openUploads: () => uploads.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function corrupt(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes);
  if (copy.byteLength > 0) copy[0] = copy[0]! ^ 0xff;
  return copy;
}

const INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json";

/** Layer media type the fixtures use (content is opaque to registries). */
export const LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar";

/** A synthetic single-platform image: config, layers and manifest, ready to push or seed. */
export interface SyntheticImage {
  readonly config: PushableBlob & { readonly bytes: Uint8Array };
  readonly layers: readonly (PushableBlob & { readonly bytes: Uint8Array })[];
  readonly manifest: { readonly mediaType: string; readonly bytes: Uint8Array; readonly digest: string };
  readonly pushable: PushableImage;
}

/** Builds a synthetic image whose layers are the given bytes. */
export function syntheticImage(options: { readonly architecture: string; readonly os?: string; readonly variant?: string; readonly layers: readonly Uint8Array[]; readonly env?: readonly string[] }): SyntheticImage {
  const layers = options.layers.map((bytes) => ({ descriptor: { mediaType: LAYER_MEDIA_TYPE, digest: digestOf(bytes), size: bytes.byteLength }, bytes }));
  const configJson = {
    architecture: options.architecture,
    os: options.os ?? "linux",
    ...(options.variant === undefined ? {} : { variant: options.variant }),
    config: { Env: options.env ?? ["PATH=/usr/bin"], Cmd: ["node"], WorkingDir: "/app" },
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.descriptor.digest) },
    history: layers.map(() => ({ created_by: "sdx test" })),
  };
  const configBytes = new TextEncoder().encode(JSON.stringify(configJson));
  const config = { descriptor: { mediaType: "application/vnd.oci.image.config.v1+json", digest: digestOf(configBytes), size: configBytes.byteLength }, bytes: configBytes };
  const manifestJson = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: config.descriptor,
    layers: layers.map((l) => l.descriptor),
  };
  const manifestBytes = new TextEncoder().encode(JSON.stringify(manifestJson));
  const manifest = { mediaType: manifestJson.mediaType, bytes: manifestBytes, digest: digestOf(manifestBytes) };
  return { config, layers, manifest, pushable: { manifest, config, layers } };
}

/** Stores a synthetic image in a fake registry under `tags`. */
export function seedImage(registry: FakeOci, repository: string, image: SyntheticImage, tags: readonly string[] = []): string {
  registry.seedBlob(repository, image.config.bytes);
  for (const l of image.layers) registry.seedBlob(repository, l.bytes);
  return registry.seedManifest(repository, image.manifest.mediaType, image.manifest.bytes, tags);
}

/**
 * Stores an empty OCI index under `repository:tag` (e.g. `acme/web:1.0`) and
 * returns its digest: enough for tests that only resolve a tag. The index is
 * annotated with the repository and tag, so each tag gets its own digest.
 */
export function seedTag(registry: FakeOci, repositoryAndTag: string): string {
  const colon = repositoryAndTag.lastIndexOf(":");
  const repository = repositoryAndTag.slice(0, colon);
  const tag = repositoryAndTag.slice(colon + 1);
  const index = { schemaVersion: 2, mediaType: INDEX_MEDIA_TYPE, manifests: [], annotations: { "org.opencontainers.image.ref.name": tag, "test.repository": repository } };
  return registry.seedManifest(repository, INDEX_MEDIA_TYPE, new TextEncoder().encode(JSON.stringify(index)), [tag]);
}

/** An OCI index over images, each entry with its platform. */
export function indexOf(images: readonly { readonly image: SyntheticImage; readonly platform: { os: string; architecture: string; variant?: string } }[]): { readonly mediaType: string; readonly bytes: Uint8Array; readonly digest: string } {
  const json = {
    schemaVersion: 2,
    mediaType: INDEX_MEDIA_TYPE,
    manifests: images.map(({ image, platform }) => ({ mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.bytes.byteLength, platform })),
  };
  const bytes = new TextEncoder().encode(JSON.stringify(json));
  return { mediaType: json.mediaType, bytes, digest: digestOf(bytes) };
}
