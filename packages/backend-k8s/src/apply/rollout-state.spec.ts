import type { SdxEvent } from "@sdx/sdk";
import { describe, expect, it } from "vitest";
import type { K8sClient, KubeObject } from "../client/k8s-client.js";
import { classifyFailure, evaluateRollout, schedulerVerdict, unconvergedReason, unresolvableCause, type StallEvidence } from "./rollout-state.js";
import { waitForRollout } from "./wait-rollouts.js";

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

// Messages as kube-scheduler 1.30+ writes them into the pod's PodScheduled
// condition and the FailedScheduling event (copied from real clusters).
const MSG = {
  cpuEverywhere: "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
  mixedResources: "0/3 nodes are available: 1 Insufficient memory, 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
  selector: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
  taintAndSelector: "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
  oldTaintWording: "0/2 nodes are available: 2 node(s) had taint {dedicated: gpu}, that the pod didn't tolerate.",
  notReadyNodes: "0/3 nodes are available: 3 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
  unboundClaim: "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
  cordoned: "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) were unschedulable. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
  // kube-scheduler 1.36 on the KWOK test cluster (api pods avoid the spot node; the two others are full).
  v136: "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 Insufficient cpu. no new claims to deallocate, preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.",
  partial: "0/3 nodes are available: 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
};

describe("schedulerVerdict (the one reader of scheduler messages)", () => {
  it.each([
    ["cpuEverywhere", { permanent: true, resources: true }],
    ["mixedResources", { permanent: true, resources: true }],
    ["selector", { permanent: true, resources: false }],
    ["taintAndSelector", { permanent: true, resources: false }],
    ["oldTaintWording", { permanent: true, resources: false }],
    ["notReadyNodes", { permanent: false, resources: false }],
    ["unboundClaim", { permanent: false, resources: false }],
    ["cordoned", { permanent: false, resources: false }],
    ["v136", { permanent: true, resources: true }],
    ["partial", { permanent: false, resources: true }],
  ] as const)("%s", (name, verdict) => {
    expect(schedulerVerdict(MSG[name])).toEqual(verdict);
  });
  it("kube-scheduler 1.36's keyless `untolerated taint(s)` is permanent only when the nodes were read and none has a node-lifecycle taint", () => {
    const msg = "0/4 nodes are available: 1 node(s) had untolerated taint(s), 3 Insufficient cpu. no new claims to deallocate, preemption: 0/4 nodes are available: 1 Preemption is not helpful for scheduling, 3 No preemption victims found for incoming pod.";
    expect(schedulerVerdict(msg)).toEqual({ permanent: false, resources: false });
    expect(schedulerVerdict(msg, [["sdx.dev/real-node"], [], [], []])).toEqual({ permanent: true, resources: true });
    expect(schedulerVerdict(msg, [["sdx.dev/real-node"], ["node.kubernetes.io/not-ready"], [], []])).toEqual({ permanent: false, resources: false });
  });
  it("anything else is not permanent", () => {
    expect(schedulerVerdict("")).toMatchObject({ permanent: false });
    expect(schedulerVerdict("pod is being scheduled")).toMatchObject({ permanent: false });
  });
});

describe("unresolvableCause", () => {
  const deployment = neverReady[3]!;
  const pending = (message: string, extra: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: "v1", kind: "Pod", metadata: { name: "api-7c4b-x", uid: "p1", labels: { "pod-template-hash": "7c4b" } },
    status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message, lastProbeTime: null, lastTransitionTime: "2025-01-01T00:00:00Z" }], qosClass: "Burstable", ...extra },
  });
  const waiting = (reason: string, message: string): KubeObject => ({
    apiVersion: "v1", kind: "Pod", metadata: { name: "api-7c4b-y", uid: "p2" },
    status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "True" }], containerStatuses: [{ name: "api", ready: false, restartCount: 0, image: "x", imageID: "", state: { waiting: { reason, message } } }] },
  });
  const ev = (reason: string, type: string, message: string): KubeObject => ({
    apiVersion: "v1", kind: "Event", metadata: { name: `api-7c4b-x.${reason}`, namespace: "shop" }, type, reason, message,
    involvedObject: { kind: "Pod", namespace: "shop", name: "api-7c4b-x", uid: "p1" }, source: { component: "cluster-autoscaler" }, count: 1,
  });
  const evidence = (pods: KubeObject[], more: Partial<StallEvidence> = {}): StallEvidence => ({ pods, allPods: pods, events: [], normalEvents: [], deployment, ...more });

  it("no node can ever fit: fails fast with the scheduler's words", () => {
    expect(unresolvableCause(evidence([pending(MSG.cpuEverywhere)]))).toEqual({
      kind: "unschedulable", reason: expect.stringMatching(/^unschedulable: 0\/3 nodes are available: 3 Insufficient cpu\..*waiting will not fix it\)$/),
    });
    expect(unresolvableCause(evidence([pending(MSG.selector)]))?.kind).toBe("unschedulable");
  });
  it("the cluster autoscaler is adding a node: keep waiting", () => {
    expect(unresolvableCause(evidence([pending(MSG.cpuEverywhere)], { normalEvents: [ev("TriggeredScaleUp", "Normal", "pod triggered scale-up: [{eks-ng-1 2->3 (max: 10)}]")] }))).toBeUndefined();
  });
  it("an old pod of the Deployment is terminating (a rolling surge): keep waiting", () => {
    const old: KubeObject = { apiVersion: "v1", kind: "Pod", metadata: { name: "api-6d9f-a", uid: "p0", deletionTimestamp: "2025-01-01T00:00:05Z", deletionGracePeriodSeconds: 30 }, status: { phase: "Running" } };
    const p = pending(MSG.cpuEverywhere);
    expect(unresolvableCause({ ...evidence([p]), allPods: [p, old] })).toBeUndefined();
    // A selector mismatch does not depend on capacity: still final.
    const q = pending(MSG.selector);
    expect(unresolvableCause({ ...evidence([q]), allPods: [q, old] })?.kind).toBe("unschedulable");
  });
  it("preemption nominated a node, or only some nodes are full: keep waiting", () => {
    expect(unresolvableCause(evidence([pending(MSG.cpuEverywhere, { nominatedNodeName: "sdx-node-2" })]))).toBeUndefined();
    expect(unresolvableCause(evidence([pending(MSG.partial)]))).toBeUndefined();
    expect(unresolvableCause(evidence([pending(MSG.notReadyNodes)]))).toBeUndefined();
  });
  it("image pull errors and a missing Secret key are final", () => {
    expect(unresolvableCause(evidence([waiting("ErrImagePull", 'failed to pull and unpack image "docker.io/library/nope:1": not found')]))?.kind).toBe("image-pull");
    expect(unresolvableCause(evidence([waiting("InvalidImageName", 'Failed to apply default image tag "Bad:Image": invalid reference format')]))?.kind).toBe("image-pull");
    expect(unresolvableCause(evidence([waiting("CreateContainerConfigError", "couldn't find key db-password in Secret shop/api-secrets-1a2b3c")]))).toEqual({
      kind: "container-config", reason: "container api cannot be created (CreateContainerConfigError: couldn't find key db-password in Secret shop/api-secrets-1a2b3c); waiting will not fix it",
    });
  });
  it("a pod still starting is not a cause", () => {
    expect(unresolvableCause(evidence([waiting("ContainerCreating", "")]))).toBeUndefined();
  });
});

describe("waitForRollout fail-fast", () => {
  const stuck = neverReady.slice(0, 3);
  const cause = { kind: "unschedulable" as const, reason: "unschedulable: 0/3 nodes are available: 3 Insufficient cpu." };
  it("gives up once the same cause held for failFastAfterMs with nothing moving, long before the deadline", async () => {
    let t = 0;
    const out = await waitForRollout(fakeClient(stuck), "shop", "api", {
      target: "k8s", service: "api", timeoutMs: 600_000, now: () => (t += 100), sleep: async () => undefined,
      stallCheck: async () => cause, failFastAfterMs: 2_000, stallCheckEveryMs: 500,
    });
    expect(out).toMatchObject({ kind: "failed", reason: cause.reason });
    expect(t).toBeLessThan(10_000);
  });
  it("does not give up while the cause comes and goes", async () => {
    let t = 0;
    let n = 0;
    const out = await waitForRollout(fakeClient(stuck), "shop", "api", {
      target: "k8s", service: "api", timeoutMs: 30_000, now: () => (t += 100), sleep: async () => undefined,
      stallCheck: async () => (n++ % 2 === 0 ? cause : undefined), failFastAfterMs: 2_000, stallCheckEveryMs: 500,
    });
    expect(out.kind).toBe("timeout");
  });
});

describe("unconvergedReason", () => {
  it("a rollout left half-way, a paused one, a finished one", () => {
    expect(unconvergedReason(neverReady[1]!)).toBe("1 of 2 new replicas updated");
    expect(unconvergedReason(healthy[1]!)).toBe("1 old replicas pending termination");
    expect(unconvergedReason({ ...healthy[2]!, spec: { replicas: 2, paused: true } })).toBe("rollout paused");
    expect(unconvergedReason(healthy[2]!)).toBeUndefined();
  });
});
