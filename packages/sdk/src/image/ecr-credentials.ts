/**
 * Amazon ECR credentials from `GetAuthorizationToken`. The AWS SDK is loaded
 * with a dynamic import only when an ECR host is used, so the sdk runs without
 * it everywhere else.
 */
import { SdxError, isSdxError } from "../errors/sdx-error.js";
import { ECR_HOST_RE, type CredentialResolver, type RegistryCredential } from "./registry-auth.js";
import { UNREACHABLE_CODES, errorCodeOf } from "./registry-client.js";

/** The part of `GetAuthorizationToken`'s answer sdx reads. */
export interface EcrAuthorizationData {
  /** base64 of `AWS:<password>`. */
  readonly authorizationToken?: string;
  readonly expiresAt?: Date;
  readonly proxyEndpoint?: string;
}

/** What sdx needs of an ECR client; tests inject a fake. */
export interface EcrTokenClient {
  getAuthorizationToken(): Promise<{ readonly authorizationData?: readonly EcrAuthorizationData[] }>;
}

/** Options for {@link ecrCredentials}. */
export interface EcrCredentialsOptions {
  /**
   * Makes the client for a region.
   * @default an `ECRClient` of `@aws-sdk/client-ecr` with the default AWS credential chain
   */
  readonly clientFactory?: (region: string) => EcrTokenClient | Promise<EcrTokenClient>;
  /** Loads `@aws-sdk/client-ecr`; injected to test a missing package. @default import("@aws-sdk/client-ecr") */
  readonly importSdk?: () => Promise<EcrSdk>;
  /** Injected for tests. @default Date.now */
  readonly now?: () => number;
}

/** The bits of `@aws-sdk/client-ecr` used. */
export interface EcrSdk {
  readonly ECRClient: new (config: { region: string }) => { send(command: unknown): Promise<unknown> };
  readonly GetAuthorizationTokenCommand: new (input: Record<string, never>) => unknown;
}

/** An ECR registry host's account and region, or undefined for other hosts. */
export function parseEcrHost(registry: string): { readonly account: string; readonly region: string } | undefined {
  const m = ECR_HOST_RE.exec(registry);
  return m === null ? undefined : { account: m[1]!, region: m[2]! };
}

/** Tokens are renewed this long before ECR says they expire (they live 12 h). */
const RENEW_BEFORE_MS = 5 * 60 * 1000;

/**
 * A resolver answering for ECR hosts (`<account>.dkr.ecr.<region>.amazonaws.com`)
 * with the user `AWS` and a token from `GetAuthorizationToken`, cached until it
 * expires; other hosts get undefined. Fails with `SDX_REGISTRY_AUTH` when AWS
 * refuses (or the SDK is not installed), naming the region.
 */
export function ecrCredentials(options: EcrCredentialsOptions = {}): CredentialResolver {
  const now = options.now ?? Date.now;
  const cache = new Map<string, { credential: RegistryCredential; renewAt: number }>();
  const pending = new Map<string, Promise<RegistryCredential>>();
  const factory = options.clientFactory ?? defaultFactory(options.importSdk ?? (() => import("@aws-sdk/client-ecr") as Promise<EcrSdk>));

  const fetchToken = async (registry: string, region: string): Promise<RegistryCredential> => {
    const source = `ECR GetAuthorizationToken (${region})`;
    let data: EcrAuthorizationData | undefined;
    try {
      const client = await factory(region);
      data = (await client.getAuthorizationToken()).authorizationData?.[0];
    } catch (e) {
      throw classify(e, registry, region, source);
    }
    const decoded = data?.authorizationToken === undefined ? "" : Buffer.from(data.authorizationToken, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon <= 0) {
      throw new SdxError("SDX_REGISTRY_ERROR", `${source} for ${registry} returned no usable token`, {
        fault: "backend",
        hint: "Retry; if it persists, check the ECR service health for the region.",
        details: { registry, region },
      });
    }
    const credential: RegistryCredential = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source };
    const expiresAt = data?.expiresAt instanceof Date ? data.expiresAt.getTime() : now() + 60 * 60 * 1000;
    cache.set(registry, { credential, renewAt: expiresAt - RENEW_BEFORE_MS });
    return credential;
  };

  return async (registry) => {
    const ecr = parseEcrHost(registry);
    if (ecr === undefined) return undefined;
    const hit = cache.get(registry);
    if (hit !== undefined && hit.renewAt > now()) return hit.credential;
    let p = pending.get(registry);
    if (p === undefined) {
      p = fetchToken(registry, ecr.region).finally(() => pending.delete(registry));
      pending.set(registry, p);
    }
    return p;
  };
}

function defaultFactory(importSdk: () => Promise<EcrSdk>): (region: string) => Promise<EcrTokenClient> {
  return async (region) => {
    let sdk: EcrSdk;
    try {
      sdk = await importSdk();
    } catch (e) {
      const code = errorCodeOf(e);
      if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
        throw new SdxError("SDX_REGISTRY_AUTH", "pushing to or pulling from Amazon ECR needs the package @aws-sdk/client-ecr, which is not installed", {
          fault: "user",
          hint: "Install it next to sdx: npm i @aws-sdk/client-ecr",
          details: { package: "@aws-sdk/client-ecr", region },
        });
      }
      throw e;
    }
    const client = new sdk.ECRClient({ region });
    return { getAuthorizationToken: async () => (await client.send(new sdk.GetAuthorizationTokenCommand({}))) as { authorizationData?: EcrAuthorizationData[] } };
  };
}

/** AWS error names that mean "these credentials may not do this" (by type, not message). */
const AUTH_ERROR_NAMES = new Set([
  "AccessDeniedException",
  "AccessDenied",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "ExpiredTokenException",
  "ExpiredToken",
  "InvalidClientTokenId",
  "CredentialsProviderError",
  "TokenProviderError",
]);

function classify(e: unknown, registry: string, region: string, source: string): SdxError {
  if (isSdxError(e)) return e;
  const name = typeof e === "object" && e !== null && typeof (e as { name?: unknown }).name === "string" ? (e as { name: string }).name : "Error";
  const status = (e as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata?.httpStatusCode;
  const details = { registry, region, error: name, ...(typeof status === "number" ? { status } : {}) };
  if (AUTH_ERROR_NAMES.has(name) || status === 401 || status === 403) {
    return new SdxError("SDX_REGISTRY_AUTH", `${source} for ${registry} was refused (${name})`, {
      fault: "user",
      cause: e,
      hint: `Give sdx AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) allowed ecr:GetAuthorizationToken in ${region}.`,
      details,
    });
  }
  const code = errorCodeOf(e);
  if (code !== undefined && UNREACHABLE_CODES.has(code)) {
    return new SdxError("SDX_REGISTRY_UNREACHABLE", `cannot reach the ECR API in ${region} (${code})`, {
      fault: "backend",
      cause: e,
      hint: "Check the network path to AWS (proxy, VPC endpoints), then retry.",
      details: { ...details, code },
    });
  }
  return new SdxError("SDX_REGISTRY_ERROR", `${source} for ${registry} failed (${name})`, {
    fault: "backend",
    cause: e,
    hint: "Retry later; if it persists, check the ECR service health for the region.",
    details,
  });
}
