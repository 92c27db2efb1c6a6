/**
 * A tiny OCI registry on 127.0.0.1 for tests: manifest HEAD/GET with
 * `Docker-Content-Digest`, the Bearer challenge and a token service. Not part of
 * the runtime API.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { RegistryCredentials } from "../src/image/resolve-image-digest.js";

/** Options for {@link startFakeRegistry}. */
export interface FakeRegistryOptions {
  /** Tags served, as `repository:tag` (e.g. `acme/web:1.0`); each gets its own manifest. @default [] */
  readonly images?: readonly string[];
  /** Manifest requests without a valid Bearer token get 401 and a challenge. @default false */
  readonly requireAuth?: boolean;
  /**
   * When set, the token service grants pull only to these (Basic auth); anonymous
   * callers get a token without access, as Docker Hub does, and wrong ones a 401.
   * @default anyone may pull
   */
  readonly credentials?: RegistryCredentials;
  /** The token service's JSON field. @default "token" */
  readonly tokenField?: "token" | "access_token";
  /** Holds manifest answers back this long, to test timeouts. @default 0 */
  readonly delayMs?: number;
  /** Leaves out `Docker-Content-Digest`, as some registries do. @default false */
  readonly omitDigestHeader?: boolean;
}

/** One request the fake registry saw, in arrival order. */
export interface FakeRegistryRequest {
  readonly method: string;
  /** Path without the query, e.g. `/v2/acme/web/manifests/1.0`. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** The Authorization scheme sent (lower-cased), never its secret. */
  readonly auth: "none" | "basic" | "bearer" | "other";
  readonly accept: string | undefined;
  /** The status answered; undefined while the answer is held back. */
  status: number | undefined;
}

/** A running {@link startFakeRegistry}. */
export interface FakeRegistry {
  /** e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** e.g. `127.0.0.1:41234`, to prefix image references with. */
  readonly host: string;
  readonly requests: readonly FakeRegistryRequest[];
  /** The digest served for `repository:tag`. */
  digestOf(repositoryAndTag: string): string;
  /** The manifest body served for `repository:tag`. */
  manifestOf(repositoryAndTag: string): string;
  close(): Promise<void>;
}

const INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json";
const SERVICE = "fake-registry";

/** Starts a fake registry on 127.0.0.1 and a free port. */
export async function startFakeRegistry(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  const manifests = new Map<string, { body: string; digest: string }>();
  for (const image of options.images ?? []) {
    const colon = image.lastIndexOf(":");
    const repository = image.slice(0, colon);
    const tag = image.slice(colon + 1);
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: INDEX_MEDIA_TYPE,
      manifests: [],
      annotations: { "org.opencontainers.image.ref.name": tag, "test.repository": repository },
    });
    manifests.set(`${repository}:${tag}`, { body, digest: `sha256:${createHash("sha256").update(body).digest("hex")}` });
  }
  const tokens = new Map<string, { scope: string; granted: boolean }>();
  const requests: FakeRegistryRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let url = "";

  const send = (res: ServerResponse, entry: FakeRegistryRequest, status: number, headers: Record<string, string>, body = ""): void => {
    entry.status = status;
    if (res.destroyed) return;
    res.writeHead(status, { "content-length": String(Buffer.byteLength(body)), ...headers });
    res.end(entry.method === "HEAD" ? undefined : body);
  };
  const errorBody = (code: string, message: string): string => JSON.stringify({ errors: [{ code, message, detail: null }] });

  const handleToken = (req: IncomingMessage, res: ServerResponse, entry: FakeRegistryRequest): void => {
    const scope = entry.query["scope"] ?? "";
    let granted = true;
    if (options.credentials !== undefined) {
      const header = req.headers.authorization;
      if (header !== undefined) {
        const expected = `Basic ${Buffer.from(`${options.credentials.username}:${options.credentials.password}`).toString("base64")}`;
        if (header !== expected) {
          return send(res, entry, 401, { "content-type": "application/json" }, errorBody("UNAUTHORIZED", "incorrect username or password"));
        }
      } else {
        granted = false;
      }
    }
    const token = `fake-token-${tokens.size + 1}`;
    tokens.set(token, { scope, granted });
    send(res, entry, 200, { "content-type": "application/json" }, JSON.stringify({ [options.tokenField ?? "token"]: token, expires_in: 300 }));
  };

  const authorized = (req: IncomingMessage, repository: string): boolean => {
    if (options.requireAuth !== true) return true;
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? "");
    const grant = m === null ? undefined : tokens.get(m[1]!);
    return grant !== undefined && grant.granted && grant.scope.split(" ").some((s) => s.startsWith(`repository:${repository}:`) && s.split(":").at(-1)!.split(",").includes("pull"));
  };

  const handleManifest = (req: IncomingMessage, res: ServerResponse, entry: FakeRegistryRequest, repository: string, reference: string): void => {
    if (!authorized(req, repository)) {
      return send(
        res,
        entry,
        401,
        {
          "content-type": "application/json",
          "www-authenticate": `Bearer realm="${url}/token",service="${SERVICE}",scope="repository:${repository}:pull"`,
        },
        errorBody("UNAUTHORIZED", "authentication required"),
      );
    }
    const manifest = reference.startsWith("sha256:")
      ? [...manifests.values()].find((m) => m.digest === reference)
      : manifests.get(`${repository}:${reference}`);
    if (manifest === undefined) {
      return send(res, entry, 404, { "content-type": "application/json" }, errorBody("MANIFEST_UNKNOWN", `manifest unknown: ${repository}:${reference}`));
    }
    send(
      res,
      entry,
      200,
      {
        "content-type": INDEX_MEDIA_TYPE,
        ...(options.omitDigestHeader === true ? {} : { "docker-content-digest": manifest.digest }),
      },
      manifest.body,
    );
  };

  const server = createServer((req, res) => {
    const parsed = new URL(req.url ?? "/", "http://fake");
    const header = req.headers.authorization;
    const scheme = header === undefined ? "none" : (header.split(" ")[0] ?? "").toLowerCase();
    const entry: FakeRegistryRequest = {
      method: req.method ?? "GET",
      path: parsed.pathname,
      query: Object.fromEntries(parsed.searchParams),
      auth: scheme === "none" || scheme === "basic" || scheme === "bearer" ? scheme : "other",
      accept: req.headers.accept,
      status: undefined,
    };
    requests.push(entry);
    req.resume();
    if (entry.path === "/token" && entry.method === "GET") return handleToken(req, res, entry);
    if (entry.path === "/v2/" && (entry.method === "GET" || entry.method === "HEAD")) {
      return send(res, entry, 200, { "content-type": "application/json" }, "{}");
    }
    const m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(entry.path);
    if (m !== null && (entry.method === "GET" || entry.method === "HEAD")) {
      const answer = (): void => handleManifest(req, res, entry, m[1]!, decodeURIComponent(m[2]!));
      const delay = options.delayMs ?? 0;
      if (delay <= 0) return answer();
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, delay);
      timers.add(timer);
      return;
    }
    send(res, entry, 404, { "content-type": "application/json" }, errorBody("NOT_FOUND", "no such endpoint"));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = `127.0.0.1:${port}`;
  url = `http://${host}`;

  const lookup = (key: string): { body: string; digest: string } => {
    const m = manifests.get(key);
    if (m === undefined) throw new Error(`fake registry serves no ${key}`);
    return m;
  };
  return {
    url,
    host,
    requests,
    digestOf: (key) => lookup(key).digest,
    manifestOf: (key) => lookup(key).body,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
