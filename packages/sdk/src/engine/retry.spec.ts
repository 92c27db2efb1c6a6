import { describe, expect, it } from "vitest";
import { withRetry } from "./retry.js";

const reset = (): Error => Object.assign(new Error("reset"), { code: "ECONNRESET" });
const noSleep = async (): Promise<void> => undefined;

describe("withRetry", () => {
  it("stops after `attempts` tries and rethrows the last error", async () => {
    let calls = 0;
    const e = await withRetry(async () => { calls++; throw reset(); }, { attempts: 3, retryable: () => true, sleep: noSleep }).catch((x: unknown) => x);
    expect(calls).toBe(3);
    expect(e).toMatchObject({ code: "ECONNRESET" });
  });

  it.each([
    ["attempts", { attempts: Number.NaN }],
    ["attempts", { attempts: Number.POSITIVE_INFINITY }],
    ["attempts", { attempts: 0 }],
    ["attempts", { attempts: 2.5 }],
    ["baseDelayMs", { baseDelayMs: Number.NaN }],
    ["maxDelayMs", { maxDelayMs: -1 }],
  ])("refuses %s = %o as a programmer error before the first call, instead of retrying forever", async (option, bad) => {
    let calls = 0;
    const e = await withRetry(async () => { calls++; throw reset(); }, { ...bad, retryable: () => true, sleep: noSleep }).catch((x: unknown) => x);
    expect(calls).toBe(0);
    expect(e).toMatchObject({ code: "SDX_INTERNAL", fault: "internal", details: { option }, message: expect.stringContaining(`${option} must be`) });
  });
});
