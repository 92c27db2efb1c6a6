import { describe, expect, it } from "vitest";
import { ownershipLabels } from "@sdx/sdk";
import type { SwarmService } from "../client/swarm-client.js";
import { deployedServices } from "./deployed-services.js";

const svc = (name: string, app: string, replicas: number, nano: number, bytes: number): SwarmService => ({
  ID: name, Version: { Index: 1 },
  Spec: { Name: `${app}_${name}`, Labels: ownershipLabels(app, name, "abc"), Mode: { Replicated: { Replicas: replicas } }, TaskTemplate: { Resources: { Reservations: { NanoCPUs: nano, MemoryBytes: bytes } } } },
});

describe("deployedServices", () => {
  it("reads replicas and reservations of this app's services only", () => {
    expect(deployedServices([svc("web", "shop", 3, 500_000_000, 512 * 2 ** 20), svc("web", "other", 9, 4e9, 2 ** 33)], "shop")).toEqual([
      { service: "web", replicas: 3, cpuMillis: 500, memoryMiB: 512 },
    ]);
  });
});
