import { summarize, type BackendPlan, type PlannedAction, type SdxEvent } from "@sdx/sdk";
import { exampleContext } from "@sdx/sdk/testing";
import { describe, expect, it } from "vitest";
import type { K8sClient, KubeObject } from "../client/k8s-client.js";
import { renderK8s } from "../render/render-k8s.js";
import { applyK8s } from "./apply-k8s.js";
import type { K8sTarget } from "../k8s-target.js";

// Fault injection through the client port: a rollout whose readiness probe
// never passes (which KWOK cannot produce, since it fakes readiness), in the
// status shapes the Deployment controller writes.
const cond = (type: string, status: string, reason: string) => ({ type, status, reason, message: "" });
const dep = (gen: number, obs: number, st: Record<string, number>, progressing: string, template: unknown): KubeObject => ({
  apiVersion: "apps/v1", kind: "Deployment",
  metadata: { name: "api", namespace: "shop", uid: "u1", generation: gen, annotations: { "deployment.kubernetes.io/revision": gen >= 3 ? "3" : "2" }, labels: {} },
  spec: { replicas: 2, selector: { matchLabels: { "app.kubernetes.io/name": "api" } }, template },
  status: { observedGeneration: obs, ...st, conditions: [cond("Available", "True", "MinimumReplicasAvailable"), cond("Progressing", progressing === "ProgressDeadlineExceeded" ? "False" : "True", progressing)] },
});

const goodTemplate = { metadata: { labels: { "app.kubernetes.io/name": "api", "pod-template-hash": "6d9f" } }, spec: { containers: [{ name: "api", image: "api:1" }] } };

function scriptedClient(): { client: K8sClient; applied: KubeObject[] } {
  const applied: KubeObject[] = [];
  let polls = 0;
  const stuck = [
    dep(2, 1, { replicas: 2, updatedReplicas: 0, readyReplicas: 2, availableReplicas: 2 }, "NewReplicaSetAvailable", {}),
    dep(2, 2, { replicas: 3, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2 }, "ReplicaSetUpdated", {}),
    dep(2, 2, { replicas: 3, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2 }, "ProgressDeadlineExceeded", {}),
  ];
  const recovered = [
    dep(3, 3, { replicas: 3, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 }, "ReplicaSetUpdated", goodTemplate),
    dep(3, 3, { replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 }, "NewReplicaSetAvailable", goodTemplate),
  ];
  const rs = (rev: string, hash: string, template: unknown): KubeObject => ({
    kind: "ReplicaSet",
    metadata: { name: `api-${hash}`, uid: `rs-${hash}`, labels: { "pod-template-hash": hash }, annotations: { "deployment.kubernetes.io/revision": rev }, ownerReferences: [{ uid: "u1", kind: "Deployment", name: "api", controller: true }] },
    spec: { template },
  });
  const notReadyPod: KubeObject = {
    kind: "Pod", metadata: { name: "api-7c4b-x", uid: "p1", labels: { "app.kubernetes.io/name": "api", "pod-template-hash": "7c4b" }, ownerReferences: [{ uid: "rs-7c4b", kind: "ReplicaSet", name: "api-7c4b", controller: true }] },
    status: { conditions: [cond("PodScheduled", "True", ""), cond("Ready", "False", "ContainersNotReady")], containerStatuses: [{ name: "api", ready: false, state: { running: {} } }] },
  };
  const client: K8sClient = {
    server: "https://fake",
    probe: async () => undefined,
    get: async () => {
      const rolledBack = applied.length > 1;
      const seq = rolledBack ? recovered : stuck;
      const i = rolledBack ? Math.min(polls++ - 3, seq.length - 1) : Math.min(polls++, seq.length - 1);
      return seq[Math.max(0, i)];
    },
    list: async (kind) => (kind === "ReplicaSet" ? [rs("1", "6d9f", goodTemplate), rs("2", "7c4b", { metadata: { labels: { "pod-template-hash": "7c4b" } } })] : kind === "Pod" ? [notReadyPod] : []),
    apply: async (o) => {
      applied.push(o);
      return o;
    },
    scale: async () => undefined,
    delete: async () => true,
  };
  return { client, applied };
}

describe("applyK8s rollback", () => {
  it("rolls back a readiness failure to the previous ReplicaSet's template and says why", async () => {
    const ctx = await exampleContext<K8sTarget>("shop", { kind: "kubernetes" });
    const desired = renderK8s(ctx).find((r) => r.kind === "Deployment" && r.name === "api")!;
    const action: PlannedAction = {
      kind: "update", resource: { kind: "Deployment", name: "api", service: "api" }, changes: [{ path: "spec.template.spec.containers[name=api].image", before: "a", after: "b" }],
      desired, live: { ...desired, owned: true, body: { metadata: { uid: "u1", labels: { "sdx.dev/revision": "0123456789ab" } } } },
    };
    const plan: BackendPlan = { target: "k8s", backend: "kubernetes", mode: "live", actions: [action], summary: summarize([action]), diagnostics: [] };
    const { client, applied } = scriptedClient();
    const events: SdxEvent[] = [];
    const result = await applyK8s(client, ctx, plan, { onEvent: (e) => events.push(e) }, { minPollMs: 1, maxPollMs: 1 });
    expect(result.status).toBe("rolled-back");
    expect(result.rollouts).toEqual([expect.objectContaining({ service: "api", status: "rolled-back", reason: "readiness never reached: 1 pod(s) running but not ready" })]);
    expect(result.error).toMatchObject({ code: "SDX_ROLLOUT_FAILED" });
    // The second apply is the rollback: the old template without its hash label, the old revision label.
    const back = applied[1] as unknown as { metadata: { labels: Record<string, string> }; spec: { template: { metadata: { labels: Record<string, string> } } } };
    expect(back.spec.template.metadata.labels).toEqual({ "app.kubernetes.io/name": "api" });
    expect(back.metadata.labels["sdx.dev/revision"]).toBe("0123456789ab");
    expect(events.map((e) => e.kind)).toEqual(expect.arrayContaining(["rollout-failed", "rollback-started", "rollback-finished"]));
    expect(events.find((e) => e.kind === "rollback-finished")).toMatchObject({ succeeded: true });
  });
});
