import { describe, expect, it } from "vitest";
import { hasChanges, SdxError, type BackendApplyResult, type BackendContext, type BackendPlan, type PlannedAction } from "@sdx/sdk";
import type { EcsTarget } from "../src/ecs-target.js";
import { EXAMPLE_SECRET_ENV, exampleContext, fakeClock, injectFaults, renderFor } from "@sdx/sdk/testing";
import { EcsBackend } from "../src/ecs-backend.js";
import type { EcsPort } from "../src/client/ecs-port.js";
import { FakeEcs } from "./fake-ecs.js";

// Fault injection: a full deploy of the shop into an in-memory AWS account,
// then the same deploy once per port call with that call failing, and once
// per call with Ctrl-C (the signal aborted) at that point. Whatever happens,
// the result says what completed, failed and remains; nothing foreign is
// touched; no deployment reads a deleted parameter; and a re-run converges:
// 0 changes, no unfinished rollout.


const backendOn = (port: EcsPort): EcsBackend => new EcsBackend({ portFactory: () => port, waitSeams: { clock: fakeClock(), pollMs: 5000 } });

/** An account with another app's service, task definition and parameter in the same cluster. */
async function accountWithNeighbour(rolloutPolls = 3): Promise<FakeEcs> {
  const f = new FakeEcs(rolloutPolls);
  await f.createCluster({ clusterName: "shop", tags: [{ key: "team", value: "platform" }] });
  const other = [{ key: "sdx:app", value: "other" }];
  await f.registerTaskDefinition({ family: "other-api", containerDefinitions: [{ name: "api", image: "busybox" }], tags: other });
  await f.createService({ cluster: "shop", serviceName: "billing", taskDefinition: "other-api", desiredCount: 1, tags: other });
  // Its deployment completes before the test begins: only time (polls) could change it, never sdx.
  for (let i = 0; i < rolloutPolls; i++) await f.describeServices("shop", ["billing"]);
  await f.putParameter({ Name: "/sdx/other/shop/api/db-password", Value: "other-secret", Type: "SecureString", Tags: [{ Key: "sdx:app", Value: "other" }] });
  return f;
}

const rotated = { ...EXAMPLE_SECRET_ENV, SHOP_DB_PASSWORD: "rotated-password" };
const shop = async (env: Readonly<Record<string, string>> = EXAMPLE_SECRET_ENV) => (await exampleContext<EcsTarget>("shop", { kind: "ecs" }, env)) as BackendContext<EcsTarget>;

async function planOn(port: EcsPort, ctx: BackendContext<EcsTarget>): Promise<BackendPlan> {
  const b = backendOn(port);
  return b.plan(ctx, renderFor(b, ctx), {});
}

async function deployClean(f: FakeEcs, ctx: BackendContext<EcsTarget>): Promise<{ result: BackendApplyResult | undefined; after: BackendPlan }> {
  const plan = await planOn(f, ctx);
  const result = hasChanges(plan) || (plan.unconverged?.length ?? 0) > 0 ? await backendOn(f).apply(ctx, plan, {}) : undefined;
  return { result, after: await planOn(f, ctx) };
}

const key = (a: PlannedAction): string => `${a.kind} ${a.resource.kind} ${a.resource.name}`;

function expectConsistent(plan: BackendPlan, r: BackendApplyResult, at: string): void {
  const changes = plan.actions.filter((a) => a.kind !== "no-op").map(key);
  const accounted = [...r.completed.map(key), ...r.failed.map((f) => key(f.action)), ...r.remaining.map(key)];
  expect(accounted.sort(), at).toEqual([...changes].sort());
  if (r.status === "succeeded") {
    expect(r.failed, at).toEqual([]);
  } else {
    expect(r.error?.code, at).toMatch(/^SDX_[A-Z_]+$/);
    expect(["user", "backend"], at).toContain(r.error?.fault);
  }
}

const faults = [
  { name: "throttling after retries", error: () => new SdxError("SDX_BACKEND_THROTTLED", "UpdateService: throttled by AWS (ThrottlingException) after retries", { fault: "backend", details: { awsError: "ThrottlingException" } }) },
  { name: "endpoint unreachable", error: () => new SdxError("SDX_BACKEND_UNREACHABLE", "cannot reach ECS at the us-east-1 endpoint (ECONNRESET)", { fault: "backend", details: { awsError: "ECONNRESET" } }) },
];

interface Scenario {
  readonly name: string;
  readonly before: (f: FakeEcs) => Promise<void>;
  readonly env: Readonly<Record<string, string>>;
}

const scenarios: Scenario[] = [
  { name: "first deploy of the shop", before: async () => undefined, env: EXAMPLE_SECRET_ENV },
  {
    name: "a secret rotation on a deployed shop",
    before: async (f) => {
      const { result } = await deployClean(f, await shop());
      expect(result?.status).toBe("succeeded");
    },
    env: rotated,
  },
];

async function callsOf(s: Scenario): Promise<number> {
  const f = await accountWithNeighbour();
  await s.before(f);
  const ctx = await shop(s.env);
  const plan = await planOn(f, ctx);
  const rec = injectFaults(f);
  const r = await backendOn(rec.client).apply(ctx, plan, {});
  expect(r.status).toBe("succeeded");
  return rec.calls.length;
}

describe.each(scenarios)("ECS apply under faults: $name", (s) => {
  it("a clean run succeeds, waits for the rollouts, and leaves nothing to do", async () => {
    const f = await accountWithNeighbour();
    await s.before(f);
    const { result, after } = await deployClean(f, await shop(s.env));
    expect(result?.status).toBe("succeeded");
    expect(result?.rollouts.length).toBeGreaterThan(0);
    expect(result?.rollouts.every((r) => r.status === "succeeded")).toBe(true);
    expect(after.actions.filter((a) => a.kind !== "no-op").map(key)).toEqual([]);
    expect(after.unconverged).toEqual([]);
    expect(f.danglingReferences()).toEqual([]);
  });

  for (const mode of ["fail", "abort"] as const) {
    it(`${mode === "fail" ? "fails" : "aborts at"} each port call in turn; every result is consistent and a re-run converges`, async () => {
      const count = await callsOf(s);
      expect(count).toBeGreaterThan(5);
      const seen = new Set<string>();
      for (const fault of mode === "fail" ? faults : [faults[0]!]) {
        for (let n = 1; n <= count; n++) {
          const f = await accountWithNeighbour();
          await s.before(f);
          const foreign = JSON.stringify(f.foreign("shop"));
          const ctx = await shop(s.env);
          const plan = await planOn(f, ctx);
          const ctl = new AbortController();
          const faulty = injectFaults(f, mode === "fail" ? { failAt: n, error: fault.error } : { failAt: n, abort: ctl });
          const r = await backendOn(faulty.client).apply(ctx, plan, { signal: ctl.signal });
          const at = `${mode} at call ${n} (${faulty.calls[n - 1]}) with ${fault.name}`;
          expect(faulty.fired(), at).toBe(true);
          seen.add(r.status);
          expectConsistent(plan, r, at);
          if (mode === "abort" && r.status !== "succeeded") expect(r.error?.code, at).toBe("SDX_ABORTED");
          expect(JSON.stringify(f.foreign("shop")), at).toBe(foreign);
          expect(f.danglingReferences(), at).toEqual([]);
          const { result, after } = await deployClean(f, ctx);
          if (result) expect(result.status, `${at}: re-run ${JSON.stringify(result.error)}`).toBe("succeeded");
          expect(after.actions.filter((a) => a.kind !== "no-op").map(key), at).toEqual([]);
          expect(after.unconverged, at).toEqual([]);
          expect(f.danglingReferences(), at).toEqual([]);
          expect(JSON.stringify(f.foreign("shop")), at).toBe(foreign);
        }
      }
      expect([...seen].some((x) => x !== "succeeded")).toBe(true);
    });
  }
});

describe("ECS re-run after a deploy interrupted during its rollout wait", () => {
  it("waits for the unfinished deployment instead of reporting no changes", async () => {
    // Slow enough that the re-run's plan still sees it rolling.
    const f = await accountWithNeighbour(5);
    await deployClean(f, await shop());
    const ctx = await shop(rotated);
    const plan = await planOn(f, ctx);
    const ctl = new AbortController();
    // Ctrl-C at the first DescribeServices of the wait.
    const faulty = injectFaults(f, { method: "describeServices", abort: ctl });
    const r = await backendOn(faulty.client).apply(ctx, plan, { signal: ctl.signal });
    expect(r.status).toBe("aborted");
    expect(r.rollouts).toEqual([expect.objectContaining({ service: "api", status: "not-waited" })]);

    const again = await planOn(f, ctx);
    expect(hasChanges(again)).toBe(false);
    expect(again.unconverged).toEqual([{ service: "api", resource: { kind: "service", name: "api" }, reason: "2 deployments active: 0 of 2 tasks running on the current deployment" }]);
    const rerun = await backendOn(f).apply(ctx, again, {});
    expect(rerun.status).toBe("succeeded");
    expect(rerun.rollouts).toEqual([expect.objectContaining({ service: "api", status: "succeeded", ready: 2 })]);
    expect((await planOn(f, ctx)).unconverged).toEqual([]);
  });

  it("keeps a removed secret's parameter while an unconverged rollout may still read it, and deletes it once converged", async () => {
    const f = await accountWithNeighbour();
    const ctx = await shop();
    await deployClean(f, ctx);
    // The api loses its payments-key secret.
    const app = { ...ctx.app, services: ctx.app.services.map((s) => (s.name === "api" ? { ...s, secrets: s.secrets.filter((x) => x.name !== "payments-key") } : s)) };
    const next = { ...ctx, app } as BackendContext<EcsTarget>;
    const plan = await planOn(f, next);
    const param = "/sdx/shop/shop/api/payments-key";
    expect(plan.actions.find((a) => a.resource.name === param)?.kind).toBe("delete");
    const r = await backendOn(f).apply(next, plan, { wait: false });
    expect(r.status).toBe("succeeded");
    expect(r.remaining.map(key)).toEqual([`delete ssm-parameter ${param}`]);
    expect(f.params.has(param)).toBe(true);
    const again = await planOn(f, next);
    expect(again.unconverged?.map((u) => u.service)).toEqual(["api"]);
    const rerun = await backendOn(f).apply(next, again, {});
    expect(rerun.status).toBe("succeeded");
    expect(rerun.completed.map(key)).toContain(`delete ssm-parameter ${param}`);
    expect(f.params.has(param)).toBe(false);
  });

  it("returns a failed result (never throws) when DescribeServices keeps failing during the wait", async () => {
    const f = await accountWithNeighbour();
    const ctx = await shop();
    const plan = await planOn(f, ctx);
    const down = new SdxError("SDX_BACKEND_UNREACHABLE", "cannot reach ECS (ECONNREFUSED)", { fault: "backend" });
    const port = new Proxy(f, {
      get(t, p, rcv) {
        const v = Reflect.get(t, p, rcv) as unknown;
        if (p === "describeServices") return async () => { throw down; };
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
    const r = await backendOn(port).apply(ctx, plan, {});
    expect(r.status).toBe("failed");
    expect(r.error).toMatchObject({ code: "SDX_BACKEND_UNREACHABLE", fault: "backend" });
    expect(r.rollouts.every((x) => x.status === "not-waited")).toBe(true);
    expect(r.completed.length).toBeGreaterThan(0);
    const { result, after } = await deployClean(f, ctx);
    expect(result?.status).toBe("succeeded");
    expect(after.unconverged).toEqual([]);
  });
});
