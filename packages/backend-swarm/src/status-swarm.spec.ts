import { describe, expect, it } from "vitest";
import { ownershipLabels } from "@sdx/sdk";
import type { SwarmService, SwarmTask } from "./client/swarm-client.js";
import { serviceStatus } from "./status-swarm.js";

const now = Date.parse("2026-11-21T12:00:00Z");
const svc: SwarmService = { ID: "s1", Version: { Index: 3 }, Spec: { Name: "shop_api", Labels: ownershipLabels("shop", "api", "abc"), Mode: { Replicated: { Replicas: 1 } } } };
const task = (id: string, desired: string, state: string, secondsAgo: number, err?: string): SwarmTask =>
  ({ ID: id, ServiceID: "s1", DesiredState: desired, Status: { State: state, Timestamp: new Date(now - secondsAgo * 1000).toISOString(), ...(err ? { Err: err } : {}) } }) as unknown as SwarmTask;

describe("serviceStatus", () => {
  it("is healthy when every replica runs and nothing failed lately", () => {
    const running = [task("a", "running", "running", 5), task("old", "shutdown", "failed", 600, "exit 1")];
    expect(serviceStatus(svc, running, running, now).state).toBe("healthy");
  });
  it("calls a crash-looping service degraded even when a replica is up at this instant", () => {
    const tasks = [task("b", "running", "running", 1), task("a", "shutdown", "failed", 8, "task: non-zero exit (7)")];
    const s = serviceStatus(svc, tasks, tasks, now);
    expect(s.state).toBe("degraded");
    expect(s.messages.join(" ")).toContain("non-zero exit (7)");
  });
});
