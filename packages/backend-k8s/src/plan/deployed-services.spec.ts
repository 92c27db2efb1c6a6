import { describe, expect, it } from "vitest";
import { ownershipLabels } from "@sdx/sdk";
import type { KubeObject } from "../client/k8s-client.js";
import { deployedServices } from "./deployed-services.js";

const dep = (name: string, service: string, replicas: number, cpu: string, memory: string, app = "shop"): KubeObject =>
  ({
    apiVersion: "apps/v1", kind: "Deployment",
    metadata: { name, labels: ownershipLabels(app, service, "abc") },
    spec: { replicas, template: { spec: { containers: [{ resources: { requests: { cpu, memory } } }] } } },
  }) as unknown as KubeObject;

describe("deployedServices", () => {
  it("sums a service's base and on-demand Deployments and reads its requests", () => {
    const out = deployedServices([
      dep("worker", "worker", 2, "500m", "1Gi"),
      dep("worker-on-demand", "worker", 1, "500m", "1Gi"),
      dep("web", "web", 3, "1", "536870912"),
      dep("other", "web", 9, "4", "8Gi", "not-this-app"),
    ], "shop");
    expect(out).toEqual([
      { service: "web", replicas: 3, cpuMillis: 1000, memoryMiB: 512 },
      { service: "worker", replicas: 3, cpuMillis: 500, memoryMiB: 1024 },
    ]);
  });
});
