import { SdxError, isSdxError } from "@sdx/sdk";

/** Node socket errors that mean "nobody answered": the engine is absent or unreachable. */
const UNREACHABLE_CODES = new Set(["ENOENT", "ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "EAI_AGAIN", "ENOTFOUND", "EPIPE", "ENOTSOCK", "ESOCKETTIMEDOUT"]);
/** TLS handshake failures: wrong CA, client certificate refused. */
const TLS_CODES = new Set(["CERT_HAS_EXPIRED", "DEPTH_ZERO_SELF_SIGNED_CERT", "SELF_SIGNED_CERT_IN_CHAIN", "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "ERR_TLS_CERT_ALTNAME_INVALID", "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA", "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE", "EPROTO"]);

/** The HTTP status of a docker-modem error, when the engine answered. */
export function dockerStatus(e: unknown): number | undefined {
  const s = (e as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof s === "number" ? s : undefined;
}

function engineMessage(e: unknown): string | undefined {
  const json = (e as { json?: unknown } | undefined)?.json;
  const m = (json as { message?: unknown } | undefined)?.message;
  if (typeof m === "string") return m.trim();
  if (typeof json === "string") return json.trim();
  if (Buffer.isBuffer(json)) return json.toString().trim();
  return undefined;
}

/**
 * Maps a dockerode / docker-modem failure to an SdxError, by socket error code
 * or HTTP status only. The engine's own message is kept for people to read.
 */
export function mapSwarmError(e: unknown, doing: string, where: string): SdxError {
  if (isSdxError(e)) return e;
  if (e instanceof Error && e.name === "AbortError") return new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user", cause: e });
  const status = dockerStatus(e);
  const details = { ...(status === undefined ? {} : { status }), engine: where };
  if (status === undefined) {
    const code = (e as { code?: unknown } | undefined)?.code;
    if (typeof code === "string" && UNREACHABLE_CODES.has(code)) {
      return new SdxError("SDX_BACKEND_UNREACHABLE", `cannot reach the Docker Engine at ${where} (${code}) while trying to ${doing}`, {
        fault: "user", cause: e, details: { ...details, code },
        hint: "Start the engine or point the target's `host` (or DOCKER_HOST) at a running one; `docker -H <host> info` should answer.",
      });
    }
    if (code === "EACCES") {
      return new SdxError("SDX_BACKEND_AUTH", `permission denied on the Docker socket ${where}`, { fault: "user", cause: e, details: { ...details, code }, hint: "Run as a user in the docker group, or use a tcp+TLS host." });
    }
    if (typeof code === "string" && TLS_CODES.has(code)) {
      return new SdxError("SDX_BACKEND_AUTH", `TLS handshake with ${where} failed (${code})`, { fault: "user", cause: e, details: { ...details, code }, hint: "Check ca.pem, cert.pem and key.pem in the target's tlsDir." });
    }
    return new SdxError("SDX_BACKEND_ERROR", `Docker Engine call failed while trying to ${doing}: ${e instanceof Error ? e.message : String(e)}`, { fault: "backend", cause: e, details });
  }
  const said = engineMessage(e);
  const msg = `the Docker Engine refused to ${doing}${said ? `: ${said}` : ""} (HTTP ${status})`;
  switch (status) {
    case 400:
      return new SdxError("SDX_BACKEND_REJECTED", msg, { fault: "user", cause: e, details, hint: "The spec was refused; check overrides and the engine's API version (`docker version`)." });
    case 401:
      return new SdxError("SDX_BACKEND_AUTH", msg, { fault: "user", cause: e, details });
    case 403:
      return new SdxError("SDX_BACKEND_FORBIDDEN", msg, { fault: "backend", cause: e, details });
    case 404:
      return new SdxError("SDX_BACKEND_ERROR", msg, { fault: "backend", cause: e, details });
    case 409:
      return new SdxError("SDX_BACKEND_CONFLICT", msg, { fault: "backend", cause: e, details, hint: "Another client changed the object; re-run to re-plan." });
    case 429:
      return new SdxError("SDX_BACKEND_THROTTLED", msg, { fault: "backend", cause: e, details });
    case 503:
      // The engine answers 503 to swarm endpoints when it is not a swarm manager.
      return new SdxError("SDX_BACKEND_UNSUPPORTED", `the Docker Engine at ${where} is not a swarm manager (HTTP 503)${said ? `: ${said}` : ""}`, {
        fault: "user", cause: e, details, hint: "Run `docker swarm init` on it, or point the target at a manager node.",
      });
    default:
      return new SdxError("SDX_BACKEND_ERROR", msg, { fault: "backend", cause: e, details });
  }
}

/** Whether a failed engine call is worth retrying: throttling, 5xx other than 503, dropped connections. */
export function isRetryableDockerError(e: unknown): boolean {
  const status = dockerStatus(e);
  if (status !== undefined) return status === 429 || status === 502 || status === 504;
  const code = (e as { code?: unknown } | undefined)?.code;
  return code === "ECONNRESET" || code === "EPIPE";
}

/** The engine's HTTP status behind an error from a {@link SwarmClient} call (kept in the SdxError's details). */
export function dockerStatusOf(e: unknown): number | undefined {
  const s = (e as { details?: { status?: unknown } } | undefined)?.details?.status;
  return typeof s === "number" ? s : dockerStatus(e);
}
