import { SdxError, isSdxError } from "@sdx/sdk";

interface AwsErrorShape {
  readonly name?: string;
  readonly code?: string;
  readonly $fault?: "client" | "server";
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly message?: string;
}

const AUTH = new Set([
  "CredentialsProviderError", "ExpiredTokenException", "ExpiredToken", "UnrecognizedClientException", "InvalidClientTokenId",
  "InvalidSignatureException", "IncompleteSignature", "MissingAuthenticationToken", "MissingAuthenticationTokenException", "SignatureDoesNotMatch",
]);
const FORBIDDEN = new Set(["AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "NotAuthorized"]);
// TooManyUpdates: SSM's "concurrent updates to a resource that supports one at a time", worth a retry like throttling.
const THROTTLED = new Set(["ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded", "ProvisionedThroughputExceededException", "RequestThrottled", "SlowDown", "TooManyUpdates"]);
// Node socket errors: the endpoint is down, unresolvable or silent.
const NETWORK = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "ECONNABORTED"]);
const NETWORK_NAMES = new Set(["TimeoutError", "RequestTimeout", "RequestTimeoutException"]);

const shape = (e: unknown): AwsErrorShape => (typeof e === "object" && e !== null ? (e as AwsErrorShape) : {});

/** True for throttling and server-side (5xx) failures: worth retrying with backoff. */
export function isRetryableAwsError(e: unknown): boolean {
  const s = shape(e);
  if (isSdxError(e)) return e.code === "SDX_BACKEND_THROTTLED" || (e.code === "SDX_BACKEND_ERROR" && e.fault === "backend" && (e.details?.retryable === true));
  return THROTTLED.has(s.name ?? "") || s.$fault === "server" || (s.$metadata?.httpStatusCode ?? 0) >= 500;
}

/** True for failures to reach the endpoint at all. */
export function isNetworkError(e: unknown): boolean {
  const s = shape(e);
  return NETWORK.has(s.code ?? "") || NETWORK.has(s.name ?? "") || NETWORK_NAMES.has(s.name ?? "");
}

/** What was being done, for messages: `DescribeServices on cluster "shop"`. */
export interface AwsCallContext {
  readonly operation: string;
  readonly target: string;
  readonly cluster?: string;
  readonly endpoint?: string;
  readonly region: string;
  /** The AWS service called, for messages. @default "ECS" */
  readonly service?: string;
}

/**
 * Maps an AWS SDK error to an SdxError by its exception `name`, `$fault` and
 * HTTP status, never by message text. AWS's own message is kept in the
 * message because it carries no secrets and names the offending input.
 */
export function mapEcsError(e: unknown, c: AwsCallContext): SdxError {
  if (isSdxError(e)) return e;
  const s = shape(e);
  const name = s.name ?? "Error";
  const status = s.$metadata?.httpStatusCode;
  const svc = c.service ?? "ECS";
  const where = `${c.operation}${c.cluster ? ` on cluster "${c.cluster}"` : ""} (${c.endpoint ?? `${svc} ${c.region}`})`;
  const aws = s.message ? `: ${s.message}` : "";
  const details = { awsError: name, ...(status === undefined ? {} : { httpStatusCode: status }), operation: c.operation };
  if (name === "AbortError") return new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user", cause: e });
  if (AUTH.has(name) || status === 401) {
    return new SdxError("SDX_BACKEND_AUTH", `${where}: AWS credentials are missing, expired or invalid (${name})`, {
      fault: "user", cause: e, details,
      hint: "Provide credentials through the standard AWS chain (AWS_PROFILE / `aws sso login`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). On EC2, set AWS_EC2_METADATA_DISABLED=false to allow the instance role.",
    });
  }
  if (FORBIDDEN.has(name) || status === 403) {
    return new SdxError("SDX_BACKEND_FORBIDDEN", `${where}: access denied${aws}`, { fault: "user", cause: e, details, hint: "Grant the caller the ECS, Application Auto Scaling, CloudWatch Logs and SSM Parameter Store permissions listed in the backend README." });
  }
  if (name === "ClusterNotFoundException") {
    return new SdxError("SDX_BACKEND_REJECTED", `cluster "${c.cluster ?? "?"}" does not exist in ${c.region}`, {
      fault: "user", cause: e, details, path: `targets.${c.target}.cluster`,
      hint: "Create it, fix the name or region, or set `createCluster: true` on the target so sdx creates it.",
    });
  }
  if (THROTTLED.has(name) || status === 429) {
    return new SdxError("SDX_BACKEND_THROTTLED", `${where}: throttled by AWS (${name}) after retries`, { fault: "backend", cause: e, details, hint: "Try again shortly, or deploy fewer apps to this account at once." });
  }
  if (isNetworkError(e)) {
    return new SdxError("SDX_BACKEND_UNREACHABLE", `cannot reach ${svc} at ${c.endpoint ?? `the ${c.region} endpoint`} (${s.code ?? name})`, {
      fault: "backend", cause: e, details,
      hint: c.endpoint ? `Check that the endpoint override ${c.endpoint} is up.` : "Check the network, proxy settings and the target's region.",
    });
  }
  if (s.$fault === "server" || (status ?? 0) >= 500) {
    return new SdxError("SDX_BACKEND_ERROR", `${where}: AWS server error (${name})${aws}`, { fault: "backend", cause: e, details: { ...details, retryable: true }, hint: "Retry; if it persists, check the AWS Health Dashboard." });
  }
  if (s.$fault === "client" || (status !== undefined && status >= 400)) {
    return new SdxError("SDX_BACKEND_REJECTED", `${where}: ${svc} rejected the request (${name})${aws}`, { fault: "user", cause: e, details, hint: "Fix the input named in the message (target settings or the service definition) and re-run plan." });
  }
  return new SdxError("SDX_BACKEND_ERROR", `${where}: ${name}${aws}`, { fault: "backend", cause: e, details });
}
