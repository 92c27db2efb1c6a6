import type { SdxEvent } from "@sdx/sdk";
import { describe, expect, it } from "vitest";
import type { K8sClient, KubeObject } from "../client/k8s-client.js";
import { classifyFailure, evaluateRollout } from "./rollout-state.js";
import { waitForRollout } from "./wait-rollout.js";

// Status sequences in the shape the apps/v1 Deployment controller writes them
// (captured field for field from a real cluster, times shortened). KWOK fakes
// readiness, so "readiness never passes" is covered here rather than in the
// integration suite.
const dep = (generation: number, spec: { replicas: number }, status: Record<string, unknown>): KubeObject => ({
  apiVersion: "apps/v1", kind: "Deployment",
  metadata: { name: "api", namespace: "shop", generation, uid: "u1", annotations: { "deployment.kubernetes.io/revision": "2" } },
  spec, status,
});
const progressing = (reason: string, message: string) => ({ type: "Progressing", status: reason === "ProgressDeadlineExceeded" ? "False" : "True", reason, message });
const available = (s: "True" | "False") => ({ type: "Available", status: s, reason: s === "True" ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable", message: "" });

/** A readiness probe that never passes: new pods run, never become ready, the deadline passes. */
const neverReady: KubeObject[] = [
  dep(2, { replicas: 2 }, { observedGeneration: 1, replicas: 2, updatedReplicas: 0, readyReplicas: 2, availableReplicas: 2, conditions: [available("True"), progressing("NewReplicaSetAvailable", 'ReplicaSet "api-6d9f" has successfully progressed.')] }),
  dep(2, { replicas: 2 }, { observedGeneration: 2, replicas: 3, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2, unavailableReplicas: 1, conditions: [available("True"), progressing("ReplicaSetUpdated", 'ReplicaSet "api-7c4b" is progressing.')] }),
  dep(2, { replicas: 2 }, { observedGeneration: 2, replicas: 3, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2, unavailableReplicas: 1, conditions: [available("True"), progressing("ReplicaSetUpdated", 'ReplicaSet "api-7c4b" is progressing.')] }),
  dep(2, { replicas: 2 }, { observedGeneration: 2, replicas: 3, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2, unavailableReplicas: 1, conditions: [available("True"), progressing("ProgressDeadlineExceeded", 'ReplicaSet "api-7c4b" has timed out progressing.')] }),
];

const healthy: KubeObject[] = [
  dep(3, { replicas: 2 }, { observedGeneration: 3, replicas: 3, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2, conditions: [available("True"), progressing("ReplicaSetUpdated", "")] }),
  dep(3, { replicas: 2 }, { observedGeneration: 3, replicas: 3, updatedReplicas: 2, readyReplicas: 3, availableReplicas: 3, conditions: [available("True"), progressing("ReplicaSetUpdated", "")] }),
  dep(3, { replicas: 2 }, { observedGeneration: 3, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2, conditions: [available("True"), progressing("NewReplicaSetAvailable", "")] }),
];

function fakeClient(seq: KubeObject[]): K8sClient {
  let i = 0;
  const no = (): never => {
    throw new Error("not used");
  };
  return {
    server: "https://fake", probe: async () => undefined, list: async () => [], apply: no, scale: no, delete: no,
    get: async () => seq[Math.min(i++, seq.length - 1)],
  };
}

describe("evaluateRollout", () => {
  it("waits for the controller to observe the new generation", () => {
    expect(evaluateRollout(neverReady[0]!).phase).toBe("progressing");
    expect(evaluateRollout(neverReady[0]!).message).toMatch(/observed/);
  });
  it("reports old replicas pending, then success", () => {
    expect(evaluateRollout(healthy[1]!)).toMatchObject({ phase: "progressing", message: "1 old replicas pending termination" });
    expect(evaluateRollout(healthy[2]!)).toMatchObject({ phase: "succeeded", desired: 2, updated: 2, ready: 2 });
  });
  it("fails on ProgressDeadlineExceeded", () => {
    expect(evaluateRollout(neverReady[3]!)).toMatchObject({ phase: "failed" });
  });
});

describe("waitForRollout", () => {
  const fast = { target: "k8s", service: "api", timeoutMs: 60_000, sleep: async () => undefined };
  it("follows a healthy rollout to success and reports progress", async () => {
    const events: SdxEvent[] = [];
    const out = await waitForRollout(fakeClient(healthy), "shop", "api", { ...fast, onEvent: (e) => events.push(e) });
    expect(out.kind).toBe("succeeded");
    const progress = events.filter((e) => e.kind === "rollout-progress").map((e) => (e.kind === "rollout-progress" ? [e.updated, e.ready] : []));
    expect(progress).toEqual([[1, 2], [2, 3], [2, 2]]);
  });
  it("a readiness probe that never passes ends in failure at the progress deadline", async () => {
    const out = await waitForRollout(fakeClient(neverReady), "shop", "api", fast);
    expect(out.kind).toBe("failed");
  });
  it("sdx's own deadline ends a rollout the controller never judges", async () => {
    let t = 0;
    const out = await waitForRollout(fakeClient(neverReady.slice(0, 3)), "shop", "api", { ...fast, timeoutMs: 1000, now: () => (t += 400) });
    expect(out.kind).toBe("timeout");
  });
  it("honours the abort signal", async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(waitForRollout(fakeClient(neverReady.slice(0, 3)), "shop", "api", { target: "k8s", service: "api", timeoutMs: 60_000, signal: ac.signal }))
      .rejects.toMatchObject({ code: "SDX_ABORTED" });
  });
});

describe("classifyFailure", () => {
  const pod = (status: Record<string, unknown>): KubeObject => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "api-7c4b-x", uid: "p1" }, status });
  const deployment = neverReady[3]!;
  it("readiness never reached", () => {
    const p = pod({
      phase: "Running",
      conditions: [{ type: "PodScheduled", status: "True" }, { type: "Ready", status: "False", reason: "ContainersNotReady" }],
      containerStatuses: [{ name: "api", ready: false, state: { running: { startedAt: "2025-01-01T00:00:00Z" } } }],
    });
    expect(classifyFailure({ pods: [p], events: [], deployment })).toBe("readiness never reached: 1 pod(s) running but not ready");
  });
  it("unschedulable", () => {
    const p = pod({ phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes are available: 3 Insufficient cpu." }] });
    expect(classifyFailure({ pods: [p], events: [], deployment })).toBe("unschedulable: 0/3 nodes are available: 3 Insufficient cpu.");
  });
  it("image pull", () => {
    const p = pod({ phase: "Pending", containerStatuses: [{ name: "api", state: { waiting: { reason: "ImagePullBackOff", message: 'Back-off pulling image "x"' } } }] });
    expect(classifyFailure({ pods: [p], events: [], deployment })).toMatch(/^image pull failed \(ImagePullBackOff/);
  });
  it("quota (ReplicaSet FailedCreate)", () => {
    const rs: KubeObject = {
      kind: "ReplicaSet", metadata: { name: "api-7c4b" },
      status: { conditions: [{ type: "ReplicaFailure", status: "True", reason: "FailedCreate", message: 'pods "api-7c4b-z" is forbidden: exceeded quota: q, requested: cpu=1, used: cpu=2, limited: cpu=2' }] },
    };
    expect(classifyFailure({ replicaSet: rs, pods: [], events: [], deployment })).toMatch(/^pods could not be created \(FailedCreate: .*exceeded quota/);
  });
});
