import { describe, expect, it } from "vitest";
import type { KubeObject } from "./client/k8s-client.js";
import { statusOf } from "./status-k8s.js";

// statusOf is pure: real-format Deployments (one service split into an
// on-demand and a spot Deployment) and Warning events in, what `sdx status` prints out.
function deployment(name: string, service: string, spec: number, status: Record<string, unknown>, generation = 2): KubeObject {
  return {
    apiVersion: "apps/v1", kind: "Deployment",
    metadata: { name, namespace: "shop", uid: `uid-${name}`, generation, labels: { "sdx.dev/app": "shop", "sdx.dev/service": service, "sdx.dev/revision": "rev-1" } },
    spec: { replicas: spec, progressDeadlineSeconds: 300 },
    status: { observedGeneration: generation, ...status },
  } as unknown as KubeObject;
}

function warning(object: string, reason: string, message: string, at: string): KubeObject {
  return {
    apiVersion: "v1", kind: "Event", type: "Warning", reason, message, lastTimestamp: at,
    metadata: { name: `${object}.${at}`, namespace: "shop" }, involvedObject: { kind: "Pod", name: `${object}-7d9f8-abcde` },
  } as unknown as KubeObject;
}

const available = { type: "Available", status: "True" };
const progressing = { type: "Progressing", status: "True", reason: "NewReplicaSetAvailable" };

describe("Kubernetes status from inspected objects", () => {
  it("adds a service's on-demand and spot Deployments and reports it healthy when every replica is ready", () => {
    const s = statusOf([
      deployment("web", "web", 1, { replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1, conditions: [available, progressing] }),
      deployment("web-spot", "web", 2, { replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2, conditions: [available, progressing] }),
    ], []);
    expect(s.services).toEqual([expect.objectContaining({ service: "web", desired: 3, running: 3, ready: 3, updated: 3, pending: 0, revision: "rev-1", state: "healthy" })]);
    expect(s.warnings).toEqual([]);
  });

  it("reports a stuck rollout as degraded with its newest warnings first, and a scaled-to-zero service as stopped", () => {
    const s = statusOf([
      deployment("api", "api", 3, {
        replicas: 3, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2,
        conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }],
      }),
      deployment("worker", "worker", 0, { replicas: 0, conditions: [available] }),
    ], [
      warning("api", "FailedScheduling", "0/3 nodes are available: 3 Insufficient cpu.", "2026-12-02T01:00:00Z"),
      warning("api", "BackOff", "Back-off restarting failed container", "2026-12-02T01:05:00Z"),
      warning("other", "BackOff", "not ours", "2026-12-02T01:06:00Z"),
    ]);
    const api = s.services.find((x) => x.service === "api")!;
    expect(api).toMatchObject({ desired: 3, ready: 2, pending: 1, state: "degraded" });
    expect(api.messages).toEqual(["BackOff: Back-off restarting failed container", "FailedScheduling: 0/3 nodes are available: 3 Insufficient cpu."]);
    expect(s.services.find((x) => x.service === "worker")).toMatchObject({ desired: 0, state: "stopped" });
    expect(s.warnings.every((w) => w.startsWith("api: "))).toBe(true);
  });
});
