import { SdxError, isSdxError, throwIfAborted } from "../errors/sdx-error.js";

/** Options for {@link withRetry}. */
export interface RetryOptions {
  /** Attempts in all, the first included. @default 5 */
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

/**
 * Runs `fn`, retrying retryable failures with exponential backoff and full
 * jitter inside a bound. Aborts promptly. The last error is rethrown as is.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? 5);
  const base = options.baseDelayMs ?? 200;
  const cap = options.maxDelayMs ?? 5000;
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
