import { SdxError } from "../errors/sdx-error.js";

/** A clock for tests of rollout waits: time moves only when the code under test sleeps. */
export interface FakeClock {
  readonly now: () => number;
  /** Advances the clock by `ms` at once; rejects with SDX_ABORTED when the signal has fired, like the real sleep. */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** A {@link FakeClock} starting at 0, so waits with deadlines take no real time. */
export function fakeClock(): FakeClock {
  let t = 0;
  return {
    now: () => t,
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user" });
      t += ms;
      // Yield, so other awaits interleave as they would around a real timer.
      await Promise.resolve();
    },
  };
}
