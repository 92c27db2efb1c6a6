import { describe, expect, it } from "vitest";
import type { PlannedAction } from "../plan/plan.js";
import type { SdxEvent } from "../events/sdx-event.js";
import { executeActions } from "./execute-actions.js";

const act = (name: string, kind: PlannedAction["kind"] = "create"): PlannedAction => ({ kind, resource: { kind: "x", name }, changes: [] });

describe("executeActions", () => {
  it("runs ranks in order with bounded concurrency", async () => {
    let inFlight = 0;
    let peak = 0;
    const order: string[] = [];
    const r = await executeActions([act("a"), act("b"), act("c"), act("d")], {
      target: "t", concurrency: 2, rank: (a) => (a.resource.name === "d" ? 1 : 0),
      run: async (a) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((res) => setTimeout(res, 5));
        order.push(a.resource.name);
        inFlight--;
      },
    });
    expect(peak).toBe(2);
    expect(order.at(-1)).toBe("d");
    expect(r.completed).toHaveLength(4);
    expect(r.failed).toEqual([]);
  });

  it("stops at the first failure and reports completed, failed and remaining", async () => {
    const events: SdxEvent[] = [];
    const r = await executeActions([act("a"), act("b"), act("c"), act("skip", "no-op")], {
      target: "t", onEvent: (e) => events.push(e),
      run: async (a) => {
        if (a.resource.name === "b") throw new Error("boom");
      },
    });
    expect(r.completed.map((a) => a.resource.name)).toEqual(["a"]);
    expect(r.failed.map((f) => [f.action.resource.name, f.error.code, f.error.message])).toEqual([["b", "SDX_BACKEND_ERROR", "boom"]]);
    expect(r.remaining.map((a) => a.resource.name)).toEqual(["c"]);
    expect(events.map((e) => e.kind)).toEqual(["action-started", "action-succeeded", "action-started", "action-failed"]);
  });

  it("starts nothing new after an abort", async () => {
    const ctl = new AbortController();
    const r = await executeActions([act("a"), act("b"), act("c")], {
      target: "t", signal: ctl.signal,
      run: async (a) => {
        if (a.resource.name === "a") ctl.abort();
      },
    });
    expect(r.aborted).toBe(true);
    expect(r.completed.map((a) => a.resource.name)).toEqual(["a"]);
    expect(r.remaining.map((a) => a.resource.name)).toEqual(["b", "c"]);
  });
});
