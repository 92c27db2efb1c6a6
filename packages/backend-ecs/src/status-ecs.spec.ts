import type { Service } from "@aws-sdk/client-ecs";
import { describe, expect, it } from "vitest";
import { serviceStatus } from "./status-ecs.js";

// serviceStatus is pure: a DescribeServices entry in the shape the ECS API
// returns it, what `sdx status` prints out.
const td = (rev: number): string => `arn:aws:ecs:us-east-1:123456789012:task-definition/shop-api:${rev}`;
function described(over: Partial<Service>): Service {
  return {
    serviceName: "api", desiredCount: 2, runningCount: 2, pendingCount: 0,
    tags: [{ key: "sdx:app", value: "shop" }, { key: "sdx:revision", value: "rev-7" }],
    deployments: [{ id: "ecs-svc/1", status: "PRIMARY", taskDefinition: td(7), desiredCount: 2, runningCount: 2, pendingCount: 0, failedTasks: 0, rolloutState: "COMPLETED" }],
    events: [{ id: "e1", message: "(service api) has reached a steady state." }],
    ...over,
  };
}

describe("ECS status from a described service", () => {
  it("is healthy when the primary deployment completed with every task running, and carries the revision tag", () => {
    const s = serviceStatus(described({}));
    expect(s).toMatchObject({ service: "api", desired: 2, running: 2, ready: 2, updated: 2, revision: "rev-7", state: "healthy" });
    expect(s.messages).toEqual(["deployment ecs-svc/1 PRIMARY shop-api:7 2/2 running, 0 pending, 0 failed, COMPLETED", "(service api) has reached a steady state."]);
  });

  it("is progressing while two deployments run, degraded once the circuit breaker failed one, and stopped at zero", () => {
    const rolling = serviceStatus(described({
      runningCount: 3,
      deployments: [
        { id: "ecs-svc/2", status: "PRIMARY", taskDefinition: td(8), desiredCount: 2, runningCount: 1, pendingCount: 1, failedTasks: 0, rolloutState: "IN_PROGRESS" },
        { id: "ecs-svc/1", status: "ACTIVE", taskDefinition: td(7), desiredCount: 2, runningCount: 2, rolloutState: "COMPLETED" },
      ],
    }));
    expect(rolling).toMatchObject({ state: "progressing", updated: 1 });
    const failed = serviceStatus(described({
      runningCount: 1,
      deployments: [{ id: "ecs-svc/3", status: "PRIMARY", taskDefinition: td(9), desiredCount: 2, runningCount: 1, failedTasks: 4, rolloutState: "FAILED", rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start." }],
    }));
    expect(failed.state).toBe("degraded");
    expect(failed.messages[0]).toContain("(ECS deployment circuit breaker: tasks failed to start.)");
    expect(serviceStatus(described({ desiredCount: 0, runningCount: 0, deployments: [] })).state).toBe("stopped");
  });
});
