import { hasChanges, isSdxError, resourceKey, type BackendApplyResult, type BackendContext, type BackendPlan, type PlannedAction } from "@sdx/sdk";
import { connectionReset, exampleContext, injectFaults, renderFor } from "@sdx/sdk/testing";
import { describe, expect, it } from "vitest";
import type { K8sClient } from "../src/client/k8s-client.js";
import { mapK8sError } from "../src/client/map-k8s-error.js";
import { K8sBackend } from "../src/index.js";
import { configReferences } from "../src/plan/config-references.js";
import { FakeK8s } from "./fake-k8s.js";
import type { K8sTarget } from "../src/k8s-target.js";

// A full deploy of examples/shop against the in-memory API, then the same
// deploy once per client call with that call failing (a connection reset,
// mapped as the real client maps it), and once per call with the deploy's
// signal aborted at that call. Each time: the result accounts for every
// planned action, nothing foreign is touched, and a plain re-run converges
// to zero changes with every rollout finished and no dangling references.

const ctx: BackendContext<K8sTarget> = await exampleContext<K8sTarget>("shop", { kind: "kubernetes" });
const NS = "shop";

function freshCluster(): FakeK8s {
  const f = new FakeK8s();
  f.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  // Foreign objects: same namespace, one with a name sdx also uses for nothing, one that looks similar.
  f.seed({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "foreign-settings", namespace: NS, labels: { team: "ops" } }, data: { a: "b" } });
  f.seed({ apiVersion: "v1", kind: "Secret", metadata: { name: "api-secrets-foreign", namespace: NS, labels: { "sdx.dev/app": "shop" } }, data: { k: "dg==" } });
  f.seed({
    apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "cache", namespace: NS, labels: { app: "cache" } },
    spec: { replicas: 1, selector: { matchLabels: { app: "cache" } }, template: { metadata: { labels: { app: "cache" } }, spec: { containers: [{ name: "cache", image: "redis:7" }] } } },
    status: { observedGeneration: 0 },
  });
  f.settle();
  return f;
}

const FOREIGN = [FakeK8s.key("ConfigMap", NS, "foreign-settings"), FakeK8s.key("Secret", NS, "api-secrets-foreign"), FakeK8s.key("Deployment", NS, "cache")];

function backendFor(client: K8sClient): K8sBackend {
  return new K8sBackend({ clientFor: () => client, waitSeams: { minPollMs: 1, maxPollMs: 2 } });
}

async function deployOnce(client: K8sClient, signal?: AbortSignal): Promise<{ plan: BackendPlan; result: BackendApplyResult }> {
  const b = backendFor(client);
  const plan = await b.plan(ctx, renderFor(b, ctx), signal ? { signal } : {});
  const result = await b.apply(ctx, plan, signal ? { signal } : {});
  return { plan, result };
}

const id = (a: PlannedAction): string => `${a.kind} ${resourceKey(a.resource)}`;

/** completed, failed and remaining partition the plan's changes: nothing lost, nothing counted twice. */
function expectAccounted(plan: BackendPlan, r: BackendApplyResult): void {
  const planned = plan.actions.filter((a) => a.kind !== "no-op").map(id).sort();
  const reported = [...r.completed.map(id), ...r.failed.map((f) => id(f.action)), ...r.remaining.map(id)].sort();
  expect(reported).toEqual(planned);
}

function expectForeignUntouched(f: FakeK8s, before: Map<string, string>): void {
  for (const k of FOREIGN) {
    expect(f.writes.filter((w) => w.key === k), k).toEqual([]);
    const o = f.objects.get(k);
    expect(o, k).toBeDefined();
    expect(JSON.stringify({ l: o!.metadata.labels, s: o!.spec, d: o!.data }), k).toBe(before.get(k));
  }
}

const snapshotForeign = (f: FakeK8s): Map<string, string> =>
  new Map(FOREIGN.map((k) => { const o = f.objects.get(k)!; return [k, JSON.stringify({ l: o.metadata.labels, s: o.spec, d: o.data })]; }));

/** A plain re-run finishes the job: succeeded, then a plan with nothing to change or wait for, and no reference to a missing object. */
async function expectRerunConverges(f: FakeK8s): Promise<void> {
  const again = await deployOnce(f);
  expect(again.result.status, JSON.stringify(again.result.error)).toBe("succeeded");
  expect(again.result.rollouts.every((r) => r.status === "succeeded")).toBe(true);
  const b = backendFor(f);
  const replan = await b.plan(ctx, renderFor(b, ctx), {});
  expect(replan.actions.filter((a) => a.kind !== "no-op").map(id)).toEqual([]);
  expect(hasChanges(replan)).toBe(false);
  expect(replan.unconverged).toEqual([]);
  const live = [...f.objects.values()].filter((o) => o.metadata.namespace === NS && ["Deployment", "ReplicaSet", "Pod"].includes(o.kind));
  for (const [ref, by] of configReferences(live as never)) {
    const [kind, name] = ref.split("/") as [string, string];
    expect(f.objects.has(FakeK8s.key(kind, NS, name)), `${by} references ${ref}`).toBe(true);
  }
  const web = f.objects.get(FakeK8s.key("Deployment", NS, "web"))!;
  expect(web.spec.replicas).toBe(2); // the autoscaler's seed landed
}

// Count the client calls of a clean deploy once; the suites below fail each in turn.
const baseline = injectFaults(freshCluster() as K8sClient);
const clean = await deployOnce(baseline.client);
const CALLS = baseline.calls.length;

describe("Kubernetes deploy of shop against the in-memory API", () => {
  it("deploys cleanly, and a re-plan has nothing to change or wait for", async () => {
    expect(clean.result.status, JSON.stringify(clean.result.error)).toBe("succeeded");
    expect(clean.result.rollouts.map((r) => r.service).sort()).toEqual(["api", "quotes", "web", "worker"]);
    expect(CALLS).toBeGreaterThan(30);
    expect(new Set(baseline.calls)).toEqual(new Set(["probe", "get", "list", "apply", "scale"]));
    const f = freshCluster();
    const before = snapshotForeign(f);
    const { result } = await deployOnce(f);
    expect(result.status).toBe("succeeded");
    expectForeignUntouched(f, before);
    await expectRerunConverges(f);
  });
});

describe("Kubernetes deploy with each client call failing in turn", () => {
  it.each(Array.from({ length: CALLS }, (_, i) => i + 1))("call %i fails", async (n) => {
    const f = freshCluster();
    const before = snapshotForeign(f);
    // What HttpK8sClient throws once its retries of a dropped connection are spent.
    const error = (method: string): unknown => mapK8sError(connectionReset(method), { verb: method === "apply" || method === "scale" ? "patch" : method === "delete" ? "delete" : "get", kind: "Deployment", namespace: NS });
    const faulty = injectFaults(f as K8sClient, { failAt: n, error });
    let out: { plan: BackendPlan; result: BackendApplyResult } | undefined;
    let thrown: unknown;
    try {
      out = await deployOnce(faulty.client);
    } catch (e) {
      thrown = e;
    }
    expect(faulty.fired()).toBe(true);
    const failedCall = faulty.calls[n - 1]!;
    if (thrown !== undefined) {
      // Only planning may throw (nothing was changed yet), with the client's stable code.
      expect(isSdxError(thrown) && { code: thrown.code, fault: thrown.fault }).toEqual({ code: "SDX_BACKEND_UNREACHABLE", fault: "backend" });
      expect(f.writes).toEqual([]);
    } else {
      const { plan, result } = out!;
      expect(result.status, `${failedCall} #${n}`).toBe("failed");
      expect(result.error).toMatchObject({ code: "SDX_BACKEND_UNREACHABLE", fault: "backend" });
      expectAccounted(plan, result);
      for (const x of result.failed) expect(x.error.code).toBe("SDX_BACKEND_UNREACHABLE");
    }
    expectForeignUntouched(f, before);
    await expectRerunConverges(f);
    expectForeignUntouched(f, before);
  });
});

describe("Kubernetes deploy aborted at each client call in turn", () => {
  it.each(Array.from({ length: CALLS }, (_, i) => i + 1))("abort at call %i", async (n) => {
    const f = freshCluster();
    const before = snapshotForeign(f);
    const ac = new AbortController();
    const faulty = injectFaults(f as K8sClient, { failAt: n, abort: ac });
    let out: { plan: BackendPlan; result: BackendApplyResult } | undefined;
    let thrown: unknown;
    try {
      out = await deployOnce(faulty.client, ac.signal);
    } catch (e) {
      thrown = e;
    }
    expect(faulty.fired()).toBe(true);
    if (thrown !== undefined) {
      expect(isSdxError(thrown) && { code: thrown.code, fault: thrown.fault }).toEqual({ code: "SDX_ABORTED", fault: "user" });
      expect(f.writes).toEqual([]);
    } else {
      const { plan, result } = out!;
      expect(result.status).toBe("aborted");
      expect(result.error).toMatchObject({ code: "SDX_ABORTED" });
      expect(result.failed).toEqual([]);
      expectAccounted(plan, result);
    }
    expectForeignUntouched(f, before);
    await expectRerunConverges(f);
  });
});
