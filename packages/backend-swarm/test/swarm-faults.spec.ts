import { describe, expect, it } from "vitest";
import { hasChanges, SdxError, type BackendApplyResult, type BackendContext, type BackendPlan, type PlannedAction } from "@sdx/sdk";
import { EXAMPLE_SECRET_ENV, exampleContext, fakeClock, injectFaults, renderFor } from "@sdx/sdk/testing";
import { SwarmBackend } from "../src/index.js";
import type { SwarmClient } from "../src/client/swarm-client.js";
import { engineWithNeighbour, FakeSwarmEngine } from "./fake-swarm-engine.js";
import type { SwarmTarget } from "../src/swarm-target.js";

// Fault injection: a full deploy of the shop into an in-memory engine, then
// the same deploy once per engine call with that call failing, and once per
// call with Ctrl-C (the signal aborted) at that point. Whatever happens, the
// result must say what completed, failed and remains; nothing foreign is
// touched; no spec or task is left mounting a removed secret; and a re-run
// converges: 0 changes and no unfinished rollout.



const rotated = { ...EXAMPLE_SECRET_ENV, SHOP_DB_PASSWORD: "rotated-password" };
const shop = (env: Readonly<Record<string, string>> = EXAMPLE_SECRET_ENV): Promise<BackendContext<SwarmTarget>> => exampleContext<SwarmTarget>("shop", { kind: "swarm" }, env);

function backendOn(client: SwarmClient): SwarmBackend {
  return new SwarmBackend({ connect: async () => client, waitSeams: { ...fakeClock(), pollMs: 500 } });
}

async function planOn(engine: SwarmClient, ctx: BackendContext<SwarmTarget>): Promise<BackendPlan> {
  const b = backendOn(engine);
  return b.plan(ctx, renderFor(b, ctx), {});
}

/** plan + apply with no fault; returns the apply result and the plan after it. */
async function deployClean(engine: FakeSwarmEngine, ctx: BackendContext<SwarmTarget>): Promise<{ result: BackendApplyResult | undefined; after: BackendPlan }> {
  const plan = await planOn(engine, ctx);
  const result = hasChanges(plan) || (plan.unconverged?.length ?? 0) > 0 ? await backendOn(engine).apply(ctx, plan, {}) : undefined;
  return { result, after: await planOn(engine, ctx) };
}

const key = (a: PlannedAction): string => `${a.kind} ${a.resource.kind} ${a.resource.name}`;

/** The invariants every faulted run must keep. */
function expectConsistent(plan: BackendPlan, r: BackendApplyResult): void {
  const changes = plan.actions.filter((a) => a.kind !== "no-op").map(key);
  const done = r.completed.map(key);
  const failed = r.failed.map((f) => key(f.action));
  const left = r.remaining.map(key);
  // Every change is accounted for, exactly once.
  expect([...done, ...failed, ...left].sort()).toEqual([...changes].sort());
  if (r.status === "succeeded") {
    expect(r.failed).toEqual([]);
    expect(r.rollouts.every((x) => x.status === "succeeded")).toBe(true);
  } else {
    expect(r.error?.code).toMatch(/^SDX_[A-Z_]+$/);
    expect(["user", "backend", "internal"]).toContain(r.error?.fault);
    expect(r.error?.fault).not.toBe("internal");
  }
}

/** Engine errors as the dockerode client reports them: a dropped connection (unreachable) or a 500. */
const faults = [
  { name: "connection reset", error: () => new SdxError("SDX_BACKEND_UNREACHABLE", "cannot reach the Docker Engine at fake://swarm (ECONNRESET)", { fault: "user", details: { code: "ECONNRESET" } }) },
  { name: "HTTP 500", error: () => new SdxError("SDX_BACKEND_ERROR", "the Docker Engine refused to do it: internal error (HTTP 500)", { fault: "backend", details: { status: 500 } }) },
];

interface Scenario {
  readonly name: string;
  /** Brings the engine to the state before the deploy under test. */
  readonly before: (e: FakeSwarmEngine) => Promise<void>;
  readonly env: Readonly<Record<string, string>>;
}

const scenarios: Scenario[] = [
  { name: "first deploy of the shop", before: async () => undefined, env: EXAMPLE_SECRET_ENV },
  {
    name: "a secret rotation on a deployed shop",
    before: async (e) => {
      const { result } = await deployClean(e, await shop());
      expect(result?.status).toBe("succeeded");
    },
    env: rotated,
  },
];

/** How many engine calls the deploy under test makes when nothing goes wrong. */
async function callsOf(s: Scenario): Promise<{ count: number; calls: readonly string[] }> {
  const engine = await engineWithNeighbour();
  await s.before(engine);
  const ctx = await shop(s.env);
  const plan = await planOn(engine, ctx);
  const rec = injectFaults(engine);
  const r = await backendOn(rec.client).apply(ctx, plan, {});
  expect(r.status).toBe("succeeded");
  return { count: rec.calls.length, calls: rec.calls };
}

describe.each(scenarios)("Swarm apply under faults: $name", (s) => {
  it("a clean run succeeds, waits for every rollout, and leaves nothing to do", async () => {
    const { count, calls } = await callsOf(s);
    expect(count).toBeGreaterThan(10);
    expect(calls).toContain("inspectService");
    const engine = await engineWithNeighbour();
    await s.before(engine);
    const { result, after } = await deployClean(engine, await shop(s.env));
    expect(result?.rollouts.map((r) => [r.service, r.status]).sort()).toEqual(s.name.startsWith("first")
      ? [["api", "succeeded"], ["quotes", "succeeded"], ["web", "succeeded"], ["worker", "succeeded"]]
      : [["api", "succeeded"]]);
    expect(hasChanges(after)).toBe(false);
    expect(after.unconverged).toEqual([]);
    expect(engine.danglingReferences()).toEqual([]);
  });

  for (const mode of ["fail", "abort"] as const) {
    it(`${mode === "fail" ? "fails" : "aborts at"} each engine call in turn; every result is consistent and a re-run converges`, async () => {
      const { count } = await callsOf(s);
      const seen = new Set<string>();
      for (const fault of mode === "fail" ? faults : [faults[0]!]) {
        for (let n = 1; n <= count; n++) {
          const engine = await engineWithNeighbour();
          await s.before(engine);
          const foreign = JSON.stringify(engine.foreign("shop"));
          const ctx = await shop(s.env);
          const plan = await planOn(engine, ctx);
          const ctl = new AbortController();
          const faulty = injectFaults(engine, mode === "fail" ? { failAt: n, error: fault.error } : { failAt: n, abort: ctl });
          const r = await backendOn(faulty.client).apply(ctx, plan, { signal: ctl.signal });
          const at = `${mode} at call ${n} (${faulty.calls[n - 1]}) with ${fault.name}`;
          expect(faulty.fired(), at).toBe(true);
          seen.add(r.status);
          expectConsistent(plan, r);
          if (mode === "abort" && r.status !== "succeeded") expect(r.error?.code, at).toBe("SDX_ABORTED");
          expect(JSON.stringify(engine.foreign("shop")), at).toBe(foreign);
          expect(engine.danglingReferences(), at).toEqual([]);
          // The re-run: no fault, waits for what the faulted run left unfinished, then nothing is left.
          const { result, after } = await deployClean(engine, ctx);
          if (result) expect(result.status, `${at}: re-run ${JSON.stringify(result.error)}`).toBe("succeeded");
          expect(after.actions.filter((a) => a.kind !== "no-op").map(key), at).toEqual([]);
          expect(after.unconverged, at).toEqual([]);
          expect(engine.danglingReferences(), at).toEqual([]);
          expect(engine.brokenRollbacks, at).toEqual([]);
          expect(JSON.stringify(engine.foreign("shop")), at).toBe(foreign);
        }
      }
      // The faults did bite: some runs did not succeed.
      expect([...seen].some((x) => x !== "succeeded")).toBe(true);
    });
  }
});

describe("Swarm re-run after a deploy interrupted during its rollout wait", () => {
  it("waits for the rollout instead of reporting no changes, and keeps the old secret the previous spec and old tasks mount", async () => {
    const engine = await engineWithNeighbour();
    await deployClean(engine, await shop());
    const oldSecret = [...engine.secrets.values()].find((o) => o.Spec.Name.includes("db-password") && o.Spec.Labels?.["sdx.dev/app"] === "shop")!.Spec.Name;
    const ctx = await shop(rotated);
    const plan = await planOn(engine, ctx);
    // The current spec becomes the PreviousSpec a rollback returns to: its secret is kept, not deleted.
    expect(plan.actions.find((a) => a.resource.name === oldSecret)).toMatchObject({ kind: "no-op", reason: expect.stringContaining("kept") });
    // Ctrl-C as soon as the wait looks at the updated service.
    const ctl = new AbortController();
    const faulty = injectFaults(engine, { method: "inspectService", failAt: 2, abort: ctl });
    const r = await backendOn(faulty.client).apply(ctx, plan, { signal: ctl.signal });
    expect(r.status).toBe("aborted");
    expect(r.rollouts).toEqual([expect.objectContaining({ service: "api", status: "not-waited" })]);
    expect(r.completed.map(key).sort()).toEqual(plan.actions.filter((a) => a.kind !== "no-op").map(key).sort());

    // The re-run's plan: nothing to change, but the api rollout is unfinished and the old secret is kept.
    const again = await planOn(engine, ctx);
    expect(hasChanges(again)).toBe(false);
    expect(again.unconverged).toEqual([{ service: "api", resource: { kind: "service", name: "shop_api" }, reason: "updating: 0 of 2 tasks running, 2 of an older spec still running" }]);
    expect(again.actions.find((a) => a.resource.name === oldSecret)).toMatchObject({ kind: "no-op", reason: expect.stringContaining("kept") });
    const rerun = await backendOn(engine).apply(ctx, again, {});
    expect(rerun.status).toBe("succeeded");
    expect(rerun.rollouts).toEqual([expect.objectContaining({ service: "api", status: "succeeded", ready: 2 })]);
    // Still mounted by PreviousSpec (what a rollback returns to): kept.
    expect([...engine.secrets.values()].map((o) => o.Spec.Name)).toContain(oldSecret);
    expect(engine.danglingReferences()).toEqual([]);
    // Rolling back works: the previous spec's secret exists.
    const api = (await engine.inspectService("shop_api"))!;
    await engine.updateService(api.ID, api.Version.Index, api.Spec, { rollback: true });
    expect(engine.brokenRollbacks).toEqual([]);
  });

  it("collects the superseded secret once no spec, previous spec or live task mounts it", async () => {
    const engine = await engineWithNeighbour();
    await deployClean(engine, await shop());
    const secretsOf = () => [...engine.secrets.values()].filter((o) => o.Spec.Name.includes("db-password") && o.Spec.Labels?.["sdx.dev/app"] === "shop").map((o) => o.Spec.Name);
    const first = secretsOf();
    await deployClean(engine, await shop(rotated));
    expect(secretsOf()).toHaveLength(2);
    // The next change to api moves PreviousSpec on: the first secret is then unreferenced and goes.
    const third = await shop({ ...rotated, SHOP_DB_PASSWORD: "third-password" });
    const plan = await planOn(engine, third);
    expect(plan.actions.filter((a) => a.kind === "delete").map(key)).toEqual([`delete secret ${first[0]}`]);
    const r = await backendOn(engine).apply(third, plan, {});
    expect(r.status).toBe("succeeded");
    expect(r.completed.map(key)).toContain(`delete secret ${first[0]}`);
    expect(secretsOf()).toHaveLength(2);
    expect(secretsOf()).not.toContain(first[0]);
    expect(engine.danglingReferences()).toEqual([]);
  });

  it("returns a failed result (never throws) when the engine stays unreachable during the wait", async () => {
    const engine = await engineWithNeighbour();
    const ctx = await shop();
    const plan = await planOn(engine, ctx);
    let calls = 0;
    const down = new SdxError("SDX_BACKEND_UNREACHABLE", "cannot reach the Docker Engine (ECONNREFUSED)", { fault: "user" });
    // Every inspect fails once the services exist: the wait cannot observe anything.
    const client = new Proxy(engine, {
      get(t, p, r) {
        const v = Reflect.get(t, p, r) as unknown;
        if (p === "inspectService") return async () => { calls++; throw down; };
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
    const r = await backendOn(client).apply(ctx, plan, {});
    expect(r.status).toBe("failed");
    expect(r.error).toMatchObject({ code: "SDX_BACKEND_UNREACHABLE", fault: "user" });
    expect(r.completed.map((a) => a.resource.kind)).toEqual(expect.arrayContaining(["network", "secret", "config", "service"]));
    expect(r.rollouts.map((x) => x.status)).toEqual(["not-waited", "not-waited", "not-waited", "not-waited"]);
    // A few polls are retried before giving up, and the other services' waits stop too.
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(calls).toBeLessThan(20);
    const { result, after } = await deployClean(engine, ctx);
    expect(result?.status).toBe("succeeded");
    expect(after.unconverged).toEqual([]);
  });
});
