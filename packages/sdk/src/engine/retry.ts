import { SdxError, isSdxError, throwIfAborted } from "../errors/sdx-error.js";

/** Options for {@link withRetry}. */
export interface RetryOptions {
  /** Attempts in all, the first included: a whole number ≥ 1 (anything else is refused with `SDX_INTERNAL`). @default 5 */
  readonly attempts?: number;
  /** First delay in ms; doubles each retry, with full jitter. @default 200 */
  readonly baseDelayMs?: number;
  /** Cap on one delay. @default 5000 */
  readonly maxDelayMs?: number;
  /** Whether an error is worth retrying (throttling, 5xx, resets). */
  readonly retryable: (e: unknown) => boolean;
  readonly signal?: AbortSignal;
  /** Injected for tests. @default Math.random */
  readonly random?: () => number;
  /** Injected for tests. @default setTimeout-based sleep that honours the signal */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Sleeps `ms`, rejecting with SDX_ABORTED when the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user" }));
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user" }));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function badRetryOption(name: string, value: unknown, want: string): SdxError {
  return new SdxError("SDX_INTERNAL", `withRetry: ${name} must be ${want}, got ${String(value)}`, {
    fault: "internal", details: { option: name, value: String(value) }, hint: "This is a bug in the caller of withRetry (a backend or embedder), not in the app.",
  });
}

/**
 * Runs `fn`, retrying retryable failures with exponential backoff and full
 * jitter inside a bound. Aborts promptly. The last error is rethrown as is.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const attempts = options.attempts ?? 5;
  const base = options.baseDelayMs ?? 200;
  const cap = options.maxDelayMs ?? 5000;
  // A NaN or Infinity here would retry forever (`i >= NaN` is never true): a programmer error, refused before the first call.
  if (!Number.isSafeInteger(attempts) || attempts < 1) throw badRetryOption("attempts", attempts, "a whole number of at least 1");
  if (!Number.isFinite(base) || base < 0) throw badRetryOption("baseDelayMs", base, "a finite number of milliseconds, at least 0");
  if (!Number.isFinite(cap) || cap < 0) throw badRetryOption("maxDelayMs", cap, "a finite number of milliseconds, at least 0");
  const rnd = options.random ?? Math.random;
  const nap = options.sleep ?? sleep;
  for (let i = 1; ; i++) {
    throwIfAborted(options.signal);
    try {
      return await fn(i);
    } catch (e) {
      if (i >= attempts || (isSdxError(e) && e.code === "SDX_ABORTED") || !options.retryable(e)) throw e;
      await nap(Math.floor(rnd() * Math.min(cap, base * 2 ** (i - 1))), options.signal);
    }
  }
}
