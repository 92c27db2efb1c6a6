import { diffValues, isRedacted } from "@sdx/sdk";
import { describe, expect, it } from "vitest";
import { pricingFromNodes } from "./pricing-from-nodes.js";
import { projectObject } from "./plan-k8s.js";

describe("projectObject", () => {
  it("drops bookkeeping and status, keeps the uid, redacts Secret data", () => {
    const p = projectObject({
      apiVersion: "v1", kind: "Secret",
      metadata: { name: "s", uid: "u", resourceVersion: "7", generation: 1, managedFields: [{ manager: "sdx" }], labels: { a: "b" } },
      data: { k: "c2VjcmV0" }, status: { x: 1 },
    });
    expect(p.metadata).toEqual({ name: "s", uid: "u", labels: { a: "b" } });
    expect(p.status).toBeUndefined();
    expect(isRedacted((p.data as Record<string, unknown>).k)).toBe(true);
    const changes = diffValues(p, projectObject({ apiVersion: "v1", kind: "Secret", metadata: { name: "s", uid: "u", labels: { a: "b" } }, data: { k: "b3RoZXI=" } }), "");
    expect(changes).toHaveLength(1);
    expect(JSON.stringify(changes)).not.toContain("c2VjcmV0");
  });
});

describe("pricingFromNodes", () => {
  const node = (labels: Record<string, string>, providerID?: string) => ({ kind: "Node", metadata: { name: "n", labels }, ...(providerID ? { spec: { providerID } } : {}) });
  it("reads instance types, region and capacity type", () => {
    expect(pricingFromNodes([
      node({ "node.kubernetes.io/instance-type": "m6i.large", "topology.kubernetes.io/region": "us-east-1", "karpenter.sh/capacity-type": "on-demand" }, "aws:///us-east-1a/i-1"),
      node({ "node.kubernetes.io/instance-type": "m6i.xlarge", "topology.kubernetes.io/region": "us-east-1", "karpenter.sh/capacity-type": "spot" }),
    ])).toEqual({ nodeTypes: ["m6i.large", "m6i.xlarge"], region: "us-east-1", spot: true, provider: "aws" });
  });
  it("recognises managed offerings", () => {
    expect(pricingFromNodes([node({ "cloud.google.com/gke-nodepool": "p", "cloud.google.com/gke-spot": "true" })])).toMatchObject({ provider: "gcp", controlPlane: "gke", spot: true });
    expect(pricingFromNodes([node({ "eks.amazonaws.com/capacityType": "ON_DEMAND" })])).toMatchObject({ provider: "aws", controlPlane: "eks", spot: false });
  });
  it("says nothing about what it cannot see", () => {
    expect(pricingFromNodes([])).toEqual({});
  });
});
