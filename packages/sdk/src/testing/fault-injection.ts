/**
 * Fault injection for backend client ports, for unit tests only: wraps a
 * client object so that every method call is recorded, and the Nth call (or
 * the first call of a named method) fails with a chosen error or aborts a
 * signal. A suite runs a full deploy once to count the calls, then once per
 * call with that call failing, and asserts what the user sees: the result
 * lists completed/failed/remaining, nothing foreign was touched, and a re-run
 * converges. Mocks are for fault injection only; the client underneath is the
 * suite's in-memory engine or a real-format fake.
 */

/** When and how a wrapped client fails. */
export interface FaultPlan {
  /** 1-based index of the call that fails (counting every method call on the client). */
  readonly failAt?: number;
  /** Fail the first call to this method instead (combined with `failAt`, the Nth call to it). */
  readonly method?: string;
  /** What the failing call throws. @default an Error with code `ECONNRESET` */
  readonly error?: (method: string, call: number) => unknown;
  /** Abort this controller instead of throwing (the call itself then goes through). */
  readonly abort?: AbortController;
}

/** A client wrapped by {@link injectFaults}. */
export interface FaultyClient<T extends object> {
  readonly client: T;
  /** Every method call in order, as `method` names. */
  readonly calls: readonly string[];
  /** True once the planned fault fired. */
  readonly fired: () => boolean;
}

/** The default injected error: a connection reset, which every backend's error mapping classifies as retryable/backend. */
export function connectionReset(method: string): Error {
  return Object.assign(new Error(`injected fault: connection reset during ${method}`), { code: "ECONNRESET" });
}

/**
 * Wraps `client` (any object whose functions are its port's calls; getters
 * and plain values pass through untouched). Without a plan it only records.
 */
export function injectFaults<T extends object>(client: T, plan: FaultPlan = {}): FaultyClient<T> {
  const calls: string[] = [];
  let fired = false;
  let methodCount = 0;
  const proxy = new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function" || typeof prop !== "string") return value;
      return function (this: unknown, ...args: unknown[]): unknown {
        calls.push(prop);
        const n = calls.length;
        let hit = false;
        if (!fired) {
          if (plan.method !== undefined) {
            if (prop === plan.method) {
              methodCount++;
              hit = methodCount === (plan.failAt ?? 1);
            }
          } else if (plan.failAt !== undefined) hit = n === plan.failAt;
        }
        if (hit) {
          fired = true;
          if (plan.abort) plan.abort.abort();
          else {
            const err = plan.error ? plan.error(prop, n) : connectionReset(prop);
            return Promise.reject(err);
          }
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { client: proxy, calls, fired: () => fired };
}
