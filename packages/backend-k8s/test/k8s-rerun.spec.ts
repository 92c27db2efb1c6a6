import { resourceKey, type BackendApplyResult, type BackendContext, type BackendPlan, type SdxEvent } from "@sdx/sdk";
import { contextForApp, EXAMPLE_SECRET_ENV, exampleContext, injectFaults, renderFor } from "@sdx/sdk/testing";
import { describe, expect, it } from "vitest";
import type { K8sClient } from "../src/client/k8s-client.js";
import { K8sBackend } from "../src/index.js";
import { configReferences } from "../src/plan/config-references.js";
import { FakeK8s } from "./fake-k8s.js";
import type { K8sTarget } from "../src/k8s-target.js";

// Re-runs after interrupted or failed deploys, against the in-memory API
// (real-format Deployments, ReplicaSets, Pods, Events and managedFields).

const NS = "shop";
const base: BackendContext<K8sTarget> = await exampleContext<K8sTarget>("shop", { kind: "kubernetes" });
const withPassword = (pw: string): Promise<BackendContext<K8sTarget>> => contextForApp<K8sTarget>(base.app, { kind: "kubernetes" }, base.baseDir, { ...EXAMPLE_SECRET_ENV, SHOP_DB_PASSWORD: pw });

function cluster(): FakeK8s {
  const f = new FakeK8s();
  f.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  return f;
}

const backendFor = (c: K8sClient): K8sBackend =>
  new K8sBackend({ clientFor: () => c, waitSeams: { minPollMs: 1, maxPollMs: 2, failFastAfterMs: 30, stallCheckEveryMs: 5 } });

async function deploy(c: K8sClient, ctx: BackendContext<K8sTarget>, opts: { signal?: AbortSignal; onEvent?: (e: SdxEvent) => void } = {}): Promise<{ plan: BackendPlan; result: BackendApplyResult }> {
  const b = backendFor(c);
  const plan = await b.plan(ctx, renderFor(b, ctx), opts.signal ? { signal: opts.signal } : {});
  return { plan, result: await b.apply(ctx, plan, opts) };
}

const apiSecrets = (f: FakeK8s): string[] =>
  [...f.objects.values()].filter((o) => o.kind === "Secret" && o.metadata.labels?.["sdx.dev/service"] === "api").map((o) => o.metadata.name as string).sort();

/** No Deployment, ReplicaSet or Pod names a ConfigMap or Secret that is gone. */
function expectNoDanglingReferences(f: FakeK8s): void {
  const live = [...f.objects.values()].filter((o) => ["Deployment", "ReplicaSet", "Pod"].includes(o.kind));
  for (const [ref, by] of configReferences(live as never)) {
    const [kind, name] = ref.split("/") as [string, string];
    expect(f.objects.has(FakeK8s.key(kind, NS, name)), `${by} references ${ref}, which is gone`).toBe(true);
  }
}

describe("re-run after a deploy interrupted during the rollout wait", () => {
  it("waits for the unfinished rollout, and keeps the old Secret the old pods and the rollback target use", async () => {
    const f = cluster();
    expect((await deploy(f, base)).result.status).toBe("succeeded");
    const [oldSecret] = apiSecrets(f);
    const rotated = await withPassword("rotated-1");
    const ac = new AbortController();
    const first = await deploy(f, rotated, { signal: ac.signal, onEvent: (e) => e.kind === "rollout-progress" && ac.abort() });
    expect(first.result.status).toBe("aborted");
    expect(first.result.error).toMatchObject({ code: "SDX_ABORTED" });
    // The new pods run next to the old ones; the old Secret is still mounted.
    expectNoDanglingReferences(f);

    const b = backendFor(f);
    const plan = await b.plan(rotated, renderFor(b, rotated), {});
    expect(plan.unconverged?.map((u) => u.service)).toContain("api");
    expect(plan.unconverged?.find((u) => u.service === "api")?.reason).toMatch(/old replicas pending termination|updated/);
    const keep = plan.actions.find((a) => a.resource.kind === "Secret" && a.resource.name === oldSecret)!;
    expect(keep).toMatchObject({ kind: "no-op", reason: expect.stringMatching(/^kept: still used by (Deployment|ReplicaSet|Pod)\/api/) });

    const events: SdxEvent[] = [];
    const result = await b.apply(rotated, plan, { onEvent: (e) => events.push(e) });
    expect(result.status, JSON.stringify(result.error)).toBe("succeeded");
    expect(events.filter((e) => e.kind === "rollout-succeeded").map((e) => (e as { service: string }).service)).toContain("api");
    expect(result.rollouts.find((r) => r.service === "api")).toMatchObject({ status: "succeeded", desired: 2, ready: 2 });
    // Old pods gone; the old ReplicaSet stays in the history as the rollback target, so does its Secret.
    expect(apiSecrets(f)).toContain(oldSecret);
    expectNoDanglingReferences(f);
    const replan = await b.plan(rotated, renderFor(b, rotated), {});
    expect(replan.unconverged).toEqual([]);
    expect(replan.actions.filter((a) => a.kind !== "no-op")).toEqual([]);
  });

  it("collects an old Secret once its ReplicaSet left the revision history, never before", async () => {
    const f = cluster();
    await deploy(f, base);
    const first = apiSecrets(f)[0]!;
    const seen: string[] = [];
    for (const pw of ["r1", "r2", "r3"]) {
      const { result } = await deploy(f, await withPassword(pw));
      expect(result.status, JSON.stringify(result.error)).toBe("succeeded");
      expectNoDanglingReferences(f);
      seen.push(apiSecrets(f).includes(first) ? "kept" : "gone");
    }
    // revisionHistoryLimit 2: r1 and r2 keep the first ReplicaSet; after r3 it is trimmed, and r3's plan still saw it.
    expect(seen).toEqual(["kept", "kept", "kept"]);
    const ctx = await withPassword("r3");
    const b = backendFor(f);
    const plan = await b.plan(ctx, renderFor(b, ctx), {});
    expect(plan.actions.filter((a) => a.kind === "delete").map((a) => resourceKey(a.resource))).toEqual([`Secret/${first}`]);
    expect((await b.apply(ctx, plan, {})).status).toBe("succeeded");
    expect(apiSecrets(f)).not.toContain(first);
    expect(apiSecrets(f)).toHaveLength(3); // current + the two ReplicaSets in the history
    expectNoDanglingReferences(f);
  });
});

describe("pruning a removed service", () => {
  it("deletes its Secret with its Deployment, although its ReplicaSets and pods still exist when it plans", async () => {
    const f = cluster();
    await deploy(f, base);
    const without = await contextForApp<K8sTarget>({ ...base.app, services: base.app.services.filter((s) => s.name !== "worker") }, { kind: "kubernetes" }, base.baseDir);
    const { plan, result } = await deploy(f, without);
    expect(plan.actions.filter((a) => a.kind === "delete").map((a) => resourceKey(a.resource)).sort()).toEqual([
      "Deployment/worker", "Deployment/worker-on-demand", "PodDisruptionBudget/worker", expect.stringMatching(/^Secret\/worker-secrets-/),
    ].sort());
    expect(result.status).toBe("succeeded");
    expect(result.remaining).toEqual([]);
    const left = [...f.objects.values()].filter((o) => o.metadata.labels?.["sdx.dev/service"] === "worker");
    // Only the terminating pods are left (their ReplicaSets went first); then they go too.
    expect(left.length).toBeGreaterThan(0);
    expect(left.every((o) => o.kind === "Pod" && o.metadata.deletionTimestamp)).toBe(true);
    f.tick();
    expect([...f.objects.values()].filter((o) => o.metadata.labels?.["sdx.dev/service"] === "worker")).toEqual([]);
    expectNoDanglingReferences(f);
  });
});

describe("autoscaler seed", () => {
  it("a failed first scale is planned again on the re-run and lands", async () => {
    const f = cluster();
    const faulty = injectFaults(f as K8sClient, { method: "scale" });
    const first = await deploy(faulty.client, base);
    expect(first.result.status).toBe("failed");
    expect(first.result.failed.map((x) => resourceKey(x.action.resource))).toEqual(["Deployment/web"]);
    const web = (): Record<string, any> => f.objects.get(FakeK8s.key("Deployment", NS, "web"))!;
    expect(web().spec.replicas).toBe(1); // the API server's default, nobody owns it

    const b = backendFor(f);
    const plan = await b.plan(base, renderFor(b, base), {});
    const upd = plan.actions.find((a) => resourceKey(a.resource) === "Deployment/web")!;
    expect(upd).toMatchObject({ kind: "update", changes: [{ path: "spec.replicas", before: 1, after: 2 }], reason: "the autoscaler's initial scale was never applied" });
    expect((await b.apply(base, plan, {})).status).toBe("succeeded");
    expect(web().spec.replicas).toBe(2);
    const replan = await b.plan(base, renderFor(b, base), {});
    expect(replan.actions.filter((a) => a.kind !== "no-op")).toEqual([]);
  });

  it("never re-seeds once the HPA has scaled (replicas at or above its minimum), nor a Deployment scaled to zero", async () => {
    const f = cluster();
    await deploy(f, base);
    await f.scale("Deployment", "web", NS, 5, "kube-controller-manager");
    f.settle();
    const b = backendFor(f);
    const plan = await b.plan(base, renderFor(b, base), {});
    expect(plan.actions.filter((a) => a.kind !== "no-op")).toEqual([]);
    await b.apply(base, plan, {});
    expect(f.objects.get(FakeK8s.key("Deployment", NS, "web"))!.spec.replicas).toBe(5);
    await f.scale("Deployment", "web", NS, 0, "kubectl-scale");
    const off = await b.plan(base, renderFor(b, base), {});
    expect(off.actions.filter((a) => a.kind !== "no-op")).toEqual([]);
  });
});

describe("scale-only change beyond capacity", () => {
  it("fails fast with the scheduler's reason and rolls back replicas and revision label", async () => {
    const f = cluster();
    expect((await deploy(f, base)).result.status).toBe("succeeded");
    f.podCapacity = [...f.objects.values()].filter((o) => o.kind === "Pod").length; // the nodes are full
    const api = (): Record<string, any> => f.objects.get(FakeK8s.key("Deployment", NS, "api"))!;
    const before = { replicas: api().spec.replicas, label: api().metadata.labels["sdx.dev/revision"], template: JSON.stringify(api().spec.template) };
    const rsBefore = [...f.objects.values()].filter((o) => o.kind === "ReplicaSet" && o.metadata.name.startsWith("api-")).length;
    const scaled = await contextForApp<K8sTarget>({ ...base.app, services: base.app.services.map((s) => (s.name === "api" ? { ...s, scale: { kind: "fixed" as const, replicas: 4 } } : s)) }, { kind: "kubernetes" }, base.baseDir);
    const events: SdxEvent[] = [];
    const started = Date.now();
    const { plan, result } = await deploy(f, scaled, { onEvent: (e) => events.push(e) });
    expect(plan.actions.filter((a) => a.kind !== "no-op").map((a) => resourceKey(a.resource))).toEqual(["Deployment/api"]);
    expect(Date.now() - started).toBeLessThan(5_000); // not the 600 s deadline
    expect(result.status).toBe("rolled-back");
    const r = result.rollouts.find((x) => x.service === "api")!;
    expect(r.status).toBe("rolled-back");
    expect(r.reason).toMatch(/^unschedulable: 0\/3 nodes are available: 3 Insufficient cpu\..*waiting will not fix it/);
    expect(result.error).toMatchObject({ code: "SDX_ROLLOUT_FAILED", fault: "backend" });
    expect(events.map((e) => e.kind)).toEqual(expect.arrayContaining(["rollout-failed", "rollback-started", "rollback-finished"]));
    expect(api().spec.replicas).toBe(before.replicas);
    expect(api().metadata.labels["sdx.dev/revision"]).toBe(before.label);
    expect(JSON.stringify(api().spec.template)).toBe(before.template);
    // A scale is not a new revision: no ReplicaSet was created, none was rolled back to.
    expect([...f.objects.values()].filter((o) => o.kind === "ReplicaSet" && o.metadata.name.startsWith("api-"))).toHaveLength(rsBefore);
    expect([...f.objects.values()].filter((o) => o.kind === "Pod" && o.status.phase === "Pending")).toEqual([]);
  });
});
