/**
 * Registry authentication: turns a `WWW-Authenticate` challenge into the
 * `Authorization` header to retry with (anonymous, Basic, or a Bearer token from
 * the registry's token service per scope; distribution `spec/auth/token.md` and
 * `spec/auth/oauth.md`). Tokens are cached per registry and scope until they expire.
 */
import { SdxError } from "../errors/sdx-error.js";

/** A user name and password (or token) for one registry, and where it came from. */
export interface RegistryCredential {
  readonly username: string;
  /** Password or access token. Never logged, never put in an error. */
  readonly password: string;
  /**
   * Where the credential was found, for error messages, e.g.
   * `~/.docker/config.json auths` or `ECR GetAuthorizationToken (us-east-1)`.
   */
  readonly source: string;
  /**
   * An OAuth2 refresh token (`identitytoken` in Docker's config.json): exchanged
   * at the token service with `grant_type=refresh_token` instead of sending the password.
   */
  readonly identityToken?: string;
}

/** Finds the credential for a registry host (`ghcr.io`, `127.0.0.1:5000`, `registry-1.docker.io`), or none. */
export type CredentialResolver = (registry: string) => Promise<RegistryCredential | undefined>;

/** One challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1). */
export interface AuthChallenge {
  /** Lower-cased, e.g. `bearer`, `basic`. */
  readonly scheme: string;
  /** Parameter names lower-cased; quoted values unescaped. */
  readonly params: Readonly<Record<string, string>>;
  /** The token68 form (`Negotiate abc==`), when used instead of parameters. */
  readonly token68?: string;
}

/** What a request needs on one repository, e.g. `{ repository: "acme/web", actions: ["pull", "push"] }`. */
export interface AuthScope {
  readonly repository: string;
  readonly actions: readonly string[];
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

/**
 * True when `host` (`name` or `name:port`) is declared insecure: an entry without
 * a port matches every port of that host, one with a port only that port.
 */
export function isInsecureHost(host: string, insecureHosts: readonly string[]): boolean {
  const hostname = hostnameOf(host);
  return insecureHosts.some((entry) => entry === host || (hostnameOf(entry) === entry && entry === hostname));
}

/** `repository:<name>:<actions>` as the token service expects it. */
export function scopeString(scope: AuthScope): string {
  return `repository:${scope.repository}:${scope.actions.join(",")}`;
}

/** `Basic base64(user:password)`. */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
}

/** Who asked for what, so auth errors can say it. */
export interface AuthContext {
  readonly registry: string;
  readonly repository: string;
  /** `pull`, `push` or `delete`, for messages. */
  readonly action: string;
}

/** Sends one request without registry auth (the token service); supplied by the client. */
export type AuthTransport = (url: URL, init: RequestInit, context: AuthContext) => Promise<Response>;

/** Options for {@link RegistryAuth}. */
export interface RegistryAuthOptions {
  readonly transport: AuthTransport;
  /** @default anonymous everywhere */
  readonly credentials?: CredentialResolver;
  /** Hosts that may receive a password over plain http. */
  readonly insecureHosts: readonly string[];
  /** Injected for tests. @default Date.now */
  readonly now?: () => number;
}

/** What a registry asked for, learnt from its first 401. */
type RegistryScheme =
  | { readonly kind: "basic" }
  | { readonly kind: "bearer"; readonly realm: string; readonly service: string | undefined };

interface CachedToken {
  readonly header: string;
  readonly expiresAt: number;
}

/**
 * The auth state of one client: what each registry asked for, its credential
 * (resolved once) and Bearer tokens per registry and scope.
 */
export class RegistryAuth {
  readonly #options: RegistryAuthOptions;
  readonly #now: () => number;
  readonly #schemes = new Map<string, RegistryScheme>();
  readonly #credentials = new Map<string, Promise<RegistryCredential | undefined>>();
  readonly #tokens = new Map<string, CachedToken>();
  /** Token requests in flight, so parallel uploads share one. */
  readonly #pending = new Map<string, Promise<string>>();

  constructor(options: RegistryAuthOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** The credential used for `registry`, resolved once per client. */
  credential(registry: string): Promise<RegistryCredential | undefined> {
    let c = this.#credentials.get(registry);
    if (c === undefined) {
      c = this.#options.credentials === undefined ? Promise.resolve(undefined) : this.#options.credentials(registry);
      this.#credentials.set(registry, c);
    }
    return c;
  }

  /** `anonymous` or the credential's source, for messages. */
  async describe(registry: string): Promise<string> {
    const c = await this.credential(registry).catch(() => undefined);
    return c === undefined ? "anonymous" : c.source;
  }

  /**
   * The Authorization header to send before any challenge: known only once the
   * registry has challenged this client. Fetches a token for a new scope when the
   * registry is known to use Bearer, sparing the 401 round trip.
   */
  async header(registry: string, secure: boolean, scopes: readonly AuthScope[], context: AuthContext, signal?: AbortSignal): Promise<string | undefined> {
    const scheme = this.#schemes.get(registry);
    if (scheme === undefined) return undefined;
    if (scheme.kind === "basic") return this.#basic(registry, secure, context);
    return this.#token(registry, scheme, scopes, context, signal);
  }

  /**
   * Learns from a 401's challenges how to authenticate and drops the tokens the
   * registry refused. Throws `SDX_REGISTRY_AUTH` when no challenge can be answered.
   */
  async challenged(registry: string, header: string | null, scopes: readonly AuthScope[], context: AuthContext): Promise<void> {
    this.#tokens.delete(tokenKey(registry, scopes));
    const challenges = parseAuthChallenges(header ?? "");
    const bearer = challenges.find((c) => c.scheme === "bearer" && c.params["realm"] !== undefined);
    if (bearer !== undefined) {
      this.#schemes.set(registry, { kind: "bearer", realm: bearer.params["realm"]!, service: bearer.params["service"] });
      return;
    }
    if (challenges.some((c) => c.scheme === "basic")) {
      this.#schemes.set(registry, { kind: "basic" });
      return;
    }
    throw await this.refused(context, 401, "without a challenge sdx can answer");
  }

  /** The `SDX_REGISTRY_AUTH` error for a refusal, naming what was tried. */
  async refused(context: AuthContext, status: number, why?: string): Promise<SdxError> {
    const tried = await this.describe(context.registry);
    return registryAuthError(context, status, tried, why);
  }

  async #basic(registry: string, secure: boolean, context: AuthContext): Promise<string> {
    const c = await this.credential(registry);
    if (c === undefined) throw await this.refused(context, 401, "and asks for a user name and password; none was found");
    if (!secure && !isInsecureHost(registry, this.#options.insecureHosts)) {
      // A password in clear text to a host nobody declared insecure: refuse rather than leak it.
      throw new SdxError("SDX_REGISTRY_AUTH", `registry ${registry} asks for a password over plain http; sdx sends it only to hosts declared insecure`, {
        fault: "user",
        hint: `Use https for ${registry}, or add it to insecureHosts if it is a trusted local registry.`,
        details: { registry, repository: context.repository, status: 401 },
      });
    }
    return basicAuthorization(c.username, c.password);
  }

  async #token(registry: string, scheme: Extract<RegistryScheme, { kind: "bearer" }>, scopes: readonly AuthScope[], context: AuthContext, signal?: AbortSignal): Promise<string> {
    const key = tokenKey(registry, scopes);
    const cached = this.#tokens.get(key);
    if (cached !== undefined && cached.expiresAt > this.#now()) return cached.header;
    let pending = this.#pending.get(key);
    if (pending === undefined) {
      pending = this.#fetchToken(registry, scheme, scopes, context, signal).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    return pending;
  }

  async #fetchToken(registry: string, scheme: Extract<RegistryScheme, { kind: "bearer" }>, scopes: readonly AuthScope[], context: AuthContext, signal?: AbortSignal): Promise<string> {
    let realm: URL;
    try {
      realm = new URL(scheme.realm);
    } catch {
      throw tokenServiceError(context, "named a token service that is not a URL");
    }
    if (realm.protocol !== "https:" && realm.protocol !== "http:") throw tokenServiceError(context, "named a token service that is not http(s)");
    const credential = await this.credential(registry);
    // Never send a password or refresh token in clear text to a host not declared insecure.
    const mayCarrySecret = realm.protocol === "https:" || isInsecureHost(realm.host, this.#options.insecureHosts);
    const useCredential = credential !== undefined && mayCarrySecret;
    const scopeValues = scopes.map(scopeString);
    let res: Response;
    const init: RequestInit = { headers: { accept: "application/json" }, ...(signal === undefined ? {} : { signal }) };
    if (useCredential && credential.identityToken !== undefined) {
      const form = new URLSearchParams({ grant_type: "refresh_token", client_id: "sdx", refresh_token: credential.identityToken });
      if (scheme.service !== undefined) form.set("service", scheme.service);
      form.set("scope", scopeValues.join(" "));
      res = await this.#options.transport(realm, { ...init, method: "POST", headers: { accept: "application/json", "content-type": "application/x-www-form-urlencoded" }, body: form.toString() }, context);
    } else {
      if (scheme.service !== undefined) realm.searchParams.set("service", scheme.service);
      for (const s of scopeValues) realm.searchParams.append("scope", s);
      res = await this.#options.transport(
        realm,
        { ...init, method: "GET", headers: { accept: "application/json", ...(useCredential ? { authorization: basicAuthorization(credential.username, credential.password) } : {}) } },
        context,
      );
    }
    if (res.status === 401 || res.status === 403) {
      await discard(res);
      const tried = useCredential ? credential.source : "anonymous";
      throw registryAuthError(context, res.status, tried, "at its token service");
    }
    if (!res.ok) {
      await discard(res);
      throw tokenServiceError(context, `token service answered HTTP ${res.status}`, res.status);
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch (e) {
      if (signal?.aborted) throw e;
      throw tokenServiceError(context, "token service sent a body that is not JSON");
    }
    const fields = typeof body === "object" && body !== null ? (body as { token?: unknown; access_token?: unknown; expires_in?: unknown }) : {};
    const token = typeof fields.token === "string" && fields.token !== "" ? fields.token : fields.access_token;
    if (typeof token !== "string" || token === "") throw tokenServiceError(context, "token service sent no token");
    // The spec's floor is 60 s; expire a little early so a token never dies mid-request.
    const lifetime = Math.max(60, typeof fields.expires_in === "number" && Number.isFinite(fields.expires_in) ? fields.expires_in : 60);
    const header = `Bearer ${token}`;
    this.#tokens.set(tokenKey(registry, scopes), { header, expiresAt: this.#now() + lifetime * 900 });
    return header;
  }
}

/** True for the hosts of Amazon ECR private registries. */
export function isEcrHost(registry: string): boolean {
  return ECR_HOST_RE.test(registry);
}

/** `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`; group 1 account, 2 region. */
export const ECR_HOST_RE = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

/** The `SDX_REGISTRY_AUTH` error for a refusal by a registry or its token service. */
export function registryAuthError(context: AuthContext, status: number, tried: string, why?: string): SdxError {
  const { registry, repository, action } = context;
  const anonymous = tried === "anonymous";
  const message =
    `registry ${registry} refused ${action} access to ${repository} (HTTP ${status})` +
    (why === undefined ? "" : ` ${why}`) +
    `; tried: ${tried}` +
    // Docker Hub answers 401 for repositories that do not exist, to hide which do.
    (anonymous && status === 401 && why === undefined ? "; the repository may be private or not exist" : "");
  return new SdxError("SDX_REGISTRY_AUTH", message, { fault: "user", hint: loginHint(registry, anonymous, action), details: { registry, repository, status, action, tried } });
}

function loginHint(registry: string, anonymous: boolean, action: string): string {
  const ecr = ECR_HOST_RE.exec(registry);
  if (ecr !== null) {
    return `Give sdx AWS credentials for account ${ecr[1]} (AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) allowed ecr:GetAuthorizationToken and ${action} on ${registry}.`;
  }
  const login = registry === "registry-1.docker.io" ? "docker login" : `docker login ${registry}`;
  return anonymous
    ? `Log in with \`${login}\` (sdx reads ~/.docker/config.json and its credential helpers), or set SDX_REGISTRY_HOST=${registry}, SDX_REGISTRY_USER and SDX_REGISTRY_PASSWORD.`
    : `Check that the credentials are valid and allowed to ${action}; log in again with \`${login}\`.`;
}

function tokenServiceError(context: AuthContext, what: string, status?: number): SdxError {
  return new SdxError("SDX_REGISTRY_ERROR", `registry ${context.registry}: ${what}`, {
    fault: "backend",
    hint: "Retry later; if it persists, the registry's token service is misconfigured.",
    details: { registry: context.registry, repository: context.repository, ...(status === undefined ? {} : { status }) },
  });
}

function tokenKey(registry: string, scopes: readonly AuthScope[]): string {
  return `${registry} ${scopes.map(scopeString).sort().join(" ")}`;
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

/** Frees the connection of a response whose body is not needed. */
export async function discard(res: Response): Promise<void> {
  if (res.body !== null && !res.bodyUsed) await res.body.cancel().catch(() => undefined);
}
