/**
 * Who is at fault when an operation fails, in the AWS SDK v3 sense:
 * `user` — fix your input or environment; `backend` — the orchestrator or cloud
 * refused or failed; `internal` — a bug in sdx.
 */
export type Fault = "user" | "backend" | "internal";

/** Stable error codes. Callers switch on these, never on message text. */
export type SdxErrorCode =
  | "SDX_VALIDATION"
  | "SDX_LOAD"
  | "SDX_USAGE"
  | "SDX_UNKNOWN_TARGET"
  | "SDX_UNKNOWN_BACKEND"
  | "SDX_DUPLICATE_BACKEND"
  | "SDX_BACKEND_UNREACHABLE"
  | "SDX_BACKEND_AUTH"
  | "SDX_BACKEND_FORBIDDEN"
  | "SDX_BACKEND_CONFLICT"
  | "SDX_BACKEND_REJECTED"
  | "SDX_BACKEND_UNSUPPORTED"
  | "SDX_BACKEND_THROTTLED"
  | "SDX_BACKEND_ERROR"
  | "SDX_NOT_OWNED"
  | "SDX_SECRET_UNRESOLVED"
  | "SDX_ROLLOUT_FAILED"
  | "SDX_ROLLOUT_TIMEOUT"
  | "SDX_ABORTED"
  | "SDX_PRICING"
  | "SDX_NO_CANDIDATE"
  | "SDX_BUDGET_EXCEEDED"
  | "SDX_BUDGET_UNPRICED"
  | "SDX_INTERNAL"
  | "SDX_HOST_KEY_UNKNOWN" | "SDX_HOST_KEY_MISMATCH" | "SDX_PLACEMENT"
  | "SDX_REGISTRY_AUTH" | "SDX_REGISTRY_UNREACHABLE" | "SDX_REGISTRY_ERROR" | "SDX_IMAGE_NOT_FOUND" | "SDX_BASE_PLATFORM"
  | (string & {});

/** Options for {@link SdxError}. */
export interface SdxErrorOptions {
  /** Who is at fault. @default "internal" */
  readonly fault?: Fault;
  /** What to do next, in one sentence. */
  readonly hint?: string;
  /** Where in the input the problem is, e.g. `services.web.ports[0].port`. */
  readonly path?: string;
  /** The underlying error. Its message is kept out of `message` so that secrets in it cannot leak by accident. */
  readonly cause?: unknown;
  /** Machine-readable extras (never secret values). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * The one error type sdx throws. `code` is stable, `fault` says whose problem it is,
 * `hint` says what to do next.
 */
export class SdxError extends Error {
  override readonly name = "SdxError";
  readonly code: SdxErrorCode;
  readonly fault: Fault;
  readonly hint: string | undefined;
  readonly path: string | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: SdxErrorCode, message: string, options: SdxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.fault = options.fault ?? "internal";
    this.hint = options.hint;
    this.path = options.path;
    this.details = options.details;
  }

  /** A plain object for `--json` output and event streams. */
  toJSON(): SdxErrorData {
    return {
      code: this.code,
      fault: this.fault,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.path === undefined ? {} : { path: this.path }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

/** The serialisable shape of an {@link SdxError}. */
export interface SdxErrorData {
  readonly code: SdxErrorCode;
  readonly fault: Fault;
  readonly message: string;
  readonly hint?: string;
  readonly path?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** True when `e` is an {@link SdxError} (works across duplicated module copies). */
export function isSdxError(e: unknown): e is SdxError {
  return e instanceof SdxError || (typeof e === "object" && e !== null && (e as { name?: unknown }).name === "SdxError" && typeof (e as { code?: unknown }).code === "string");
}

/** Wraps anything thrown into an {@link SdxError}, keeping SdxErrors as they are. */
export function toSdxError(e: unknown, fallbackCode: SdxErrorCode = "SDX_INTERNAL", fault: Fault = "internal"): SdxError {
  if (isSdxError(e)) return e;
  if (e instanceof Error && e.name === "AbortError") {
    return new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user", cause: e });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new SdxError(fallbackCode, message, { fault, cause: e });
}

/** Throws `SDX_ABORTED` when the signal has fired. Call between steps of long operations. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user", cause: signal.reason });
  }
}
