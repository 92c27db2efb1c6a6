import { SdxError, isSdxError } from "@sdx/sdk";
import { qualifiedResource } from "../k8s-kinds.js";

/** What a request did, so errors can name the verb and resource without parsing server text. */
export interface K8sRequest {
  /** The RBAC verb. */
  readonly verb: "get" | "list" | "create" | "patch" | "delete";
  readonly kind: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
  readonly dryRun?: boolean;
}

/** A `StatusCause`: JSON key `reason` holds the cause type (FieldManagerConflict, FieldValueInvalid, …). */
export interface K8sStatusCause {
  readonly reason?: string;
  readonly message?: string;
  readonly field?: string;
}

/** The `metav1.Status` body the API server returns with an error. */
export interface K8sStatus {
  readonly kind?: string;
  readonly status?: string;
  readonly message?: string;
  readonly reason?: string;
  readonly code?: number;
  readonly details?: { readonly name?: string; readonly kind?: string; readonly causes?: readonly K8sStatusCause[] };
}

/** A non-2xx answer from the API server. Mapped to an SdxError by {@link mapK8sError}. */
export class K8sApiError extends Error {
  override readonly name = "K8sApiError";
  constructor(readonly request: K8sRequest, readonly status: number, readonly body: K8sStatus | undefined) {
    super(`${request.verb} ${request.kind} ${request.name ?? ""}: HTTP ${status}${body?.reason ? ` ${body.reason}` : ""}`);
  }
}

// Node/undici error codes that mean "nothing answered at that address".
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "EPIPE",
  "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_SOCKET", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_CLOSED",
]);
const TLS_CODES = /^(CERT_|ERR_TLS_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT)/;

function errorCode(e: unknown): string | undefined {
  for (let x: unknown = e, i = 0; x && i < 5; x = (x as { cause?: unknown }).cause, i++) {
    const c = (x as { code?: unknown }).code;
    if (typeof c === "string") return c;
  }
  return undefined;
}

function where(r: K8sRequest): string {
  return r.namespace ? `in namespace "${r.namespace}"` : "at cluster scope";
}

function resourceWords(r: K8sRequest): string {
  return `${qualifiedResource(r.kind)}${r.subresource ? `/${r.subresource}` : ""}`;
}

/** True for failures worth retrying: throttling, server errors, dropped connections. */
export function isRetryableK8sError(e: unknown): boolean {
  if (e instanceof K8sApiError) return e.status === 429 || e.status >= 500;
  const code = errorCode(e);
  return code === "ECONNRESET" || code === "UND_ERR_SOCKET" || code === "EPIPE";
}

/** The field managers named by a server-side apply conflict. */
export function conflictManagers(causes: readonly K8sStatusCause[]): string[] {
  const out = new Set<string>();
  for (const c of causes) {
    if (c.reason !== "FieldManagerConflict") continue;
    // The cause message is `conflict with "<manager>"[ with subresource "<s>"] using <apiVersion>`;
    // the quoted manager is the stable part of that documented format.
    const m = /"([^"]+)"/.exec(c.message ?? "");
    out.add(m?.[1] ?? c.message ?? "unknown");
  }
  return [...out];
}

/**
 * Maps anything a request threw to an SdxError, by HTTP status or Node error
 * code, never by message text. Server messages are kept out of errors about
 * Secrets, since validation messages can quote the rejected value.
 */
export function mapK8sError(e: unknown, request: K8sRequest, opts: { server?: string; timedOut?: boolean } = {}): SdxError {
  if (isSdxError(e)) return e;
  const obj = `${request.kind}${request.name ? ` "${request.name}"` : ""}`;
  if (e instanceof K8sApiError) {
    const b = e.body;
    const causes = b?.details?.causes ?? [];
    const serverMsg = request.kind === "Secret" ? undefined : b?.message;
    const details = { status: e.status, ...(b?.reason ? { reason: b.reason } : {}), verb: request.verb, resource: resourceWords(request), ...(request.namespace ? { namespace: request.namespace } : {}) };
    switch (e.status) {
      case 401:
        return new SdxError("SDX_BACKEND_AUTH", `unauthorized: the cluster rejected the credentials of the current kubeconfig user`, {
          fault: "user", cause: e, details, hint: "Refresh your credentials (e.g. log in again) or pick another context with the target's `context`.",
        });
      case 403:
        return new SdxError("SDX_BACKEND_FORBIDDEN", `forbidden: cannot "${request.verb}" ${resourceWords(request)} ${where(request)}`, {
          fault: "user", cause: e, details,
          hint: `Ask a cluster admin for a Role granting "${request.verb}" on ${resourceWords(request)} ${where(request)}, or use a context that has it.`,
        });
      case 409: {
        const managers = conflictManagers(causes);
        if (managers.length > 0) {
          const fields = causes.filter((c) => c.reason === "FieldManagerConflict").map((c) => c.field ?? "?");
          return new SdxError("SDX_BACKEND_CONFLICT", `${obj}: fields are owned by another field manager (${managers.map((m) => `"${m}"`).join(", ")}): ${fields.join(", ")}`, {
            fault: "user", cause: e, details: { ...details, managers, fields },
            hint: "Another tool manages these fields. Stop it managing them, or take them over with --force-conflicts.",
          });
        }
        return new SdxError("SDX_BACKEND_CONFLICT", `${obj}: conflict (${b?.reason ?? "Conflict"})${serverMsg ? `: ${serverMsg}` : ""}`, {
          fault: "backend", cause: e, details, hint: "Something changed the object at the same time; run the command again.",
        });
      }
      case 422:
      case 400: {
        const list = causes.map((c) => `${c.field ?? "?"}: ${request.kind === "Secret" ? (c.reason ?? "invalid") : (c.message ?? c.reason ?? "invalid")}`);
        return new SdxError("SDX_BACKEND_REJECTED", `${obj} was rejected by the API server${list.length ? `: ${list.join("; ")}` : serverMsg ? `: ${serverMsg}` : ""}`, {
          fault: "user", cause: e, details: { ...details, causes: causes.map((c) => ({ field: c.field, reason: c.reason })) },
          hint: "Fix the field in the app file or in the target's overrides.",
        });
      }
      case 404:
        return new SdxError("SDX_BACKEND_ERROR", `${obj} not found ${where(request)}${serverMsg ? ` (${serverMsg})` : ""}`, { fault: "backend", cause: e, details });
      case 429:
        return new SdxError("SDX_BACKEND_THROTTLED", `the API server is throttling requests (${request.verb} ${resourceWords(request)})`, {
          fault: "backend", cause: e, details, hint: "Wait a moment and run the command again.",
        });
      default:
        return new SdxError("SDX_BACKEND_ERROR", `${request.verb} ${obj} failed: HTTP ${e.status}${serverMsg ? `: ${serverMsg}` : ""}`, {
          fault: "backend", cause: e, details,
        });
    }
  }
  const server = opts.server ? ` at ${opts.server}` : "";
  if (opts.timedOut) {
    return new SdxError("SDX_BACKEND_UNREACHABLE", `the Kubernetes API server${server} did not answer in time`, {
      fault: "backend", cause: e, hint: "Check that the cluster is running and that the kubeconfig points at it (target `kubeconfig`/`context`).",
    });
  }
  if (e instanceof Error && e.name === "AbortError") return new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user", cause: e });
  const code = errorCode(e);
  if (code && TLS_CODES.test(code)) {
    return new SdxError("SDX_BACKEND_UNREACHABLE", `TLS to the Kubernetes API server${server} failed (${code})`, {
      fault: "user", cause: e, hint: "The kubeconfig's certificate authority does not match the server; refresh the kubeconfig.",
    });
  }
  if (code && UNREACHABLE_CODES.has(code)) {
    return new SdxError("SDX_BACKEND_UNREACHABLE", `cannot reach the Kubernetes API server${server} (${code})`, {
      fault: "backend", cause: e, hint: "Start the cluster or point the target at a reachable one (`kubeconfig`, `context`, or $KUBECONFIG).",
    });
  }
  if (e instanceof TypeError) {
    // fetch() reports every network failure as a TypeError; without a known code it is still "not reachable".
    return new SdxError("SDX_BACKEND_UNREACHABLE", `cannot reach the Kubernetes API server${server}`, {
      fault: "backend", cause: e, hint: "Start the cluster or point the target at a reachable one (`kubeconfig`, `context`, or $KUBECONFIG).",
    });
  }
  return new SdxError("SDX_BACKEND_ERROR", `${request.verb} ${obj} failed`, { fault: "backend", cause: e });
}
