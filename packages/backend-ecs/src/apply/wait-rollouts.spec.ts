import { describe, expect, it } from "vitest";
import type { Deployment, Service, Task } from "@aws-sdk/client-ecs";
import type { SdxEvent } from "@sdx/sdk";
import type { EcsPort } from "../client/ecs-port.js";
import { stoppedReasons, waitForRollouts, type Clock, type RolloutWatch } from "./wait-rollouts.js";

// DescribeServices / DescribeTasks responses in the API reference's shapes
// (Deployment.rolloutState / rolloutStateReason / failedTasks, ServiceEvent.message,
// Task.stoppedReason / stopCode / containers[].exitCode), played back tick by tick.
const TD1 = "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-api:1";
const TD2 = "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-api:2";

const dep = (d: Partial<Deployment>): Deployment => ({ status: "PRIMARY", desiredCount: 2, pendingCount: 0, runningCount: 0, failedTasks: 0, ...d });
const svc = (deployments: Deployment[], extra: Partial<Service> = {}): Service => ({
  serviceName: "api", status: "ACTIVE", desiredCount: 2, runningCount: deployments.reduce((n, d) => n + (d.runningCount ?? 0), 0), deployments, events: [], ...extra,
});
const stopped = (reason: string, exitCode?: number): Task => ({
  taskArn: `arn:aws:ecs:us-east-1:123456789012:task/shop/${Math.random().toString(16).slice(2)}`, lastStatus: "STOPPED", stopCode: "EssentialContainerExited",
  stoppedReason: reason, stoppedAt: new Date("2026-01-01T00:00:00Z"), containers: [{ name: "api", exitCode, ...(exitCode === undefined ? {} : {}) }],
});

/** A port whose DescribeServices replays a script, one entry per poll; the last entry repeats. */
function scriptedPort(script: Service[][], tasks: Task[] = [], onUpdate?: (input: Record<string, unknown>) => Service): EcsPort & { calls: string[]; updates: Record<string, unknown>[] } {
  let i = 0;
  const calls: string[] = [];
  const updates: Record<string, unknown>[] = [];
  const port = {
    calls, updates,
    describeServices: async () => {
      calls.push("DescribeServices");
      const s = script[Math.min(i++, script.length - 1)]!;
      return { services: s, missing: [] };
    },
    listTasks: async () => { calls.push("ListTasks"); return tasks.map((t) => t.taskArn!); },
    describeTasks: async () => { calls.push("DescribeTasks"); return tasks; },
    updateService: async (input: Record<string, unknown>) => { calls.push("UpdateService"); updates.push(input); return onUpdate!(input); },
  };
  return port as unknown as EcsPort & { calls: string[]; updates: Record<string, unknown>[] };
}

/** A clock that advances only when slept on: no real waiting. */
function fakeClock(): Clock & { slept: number } {
  let t = 0;
  const c = { slept: 0, now: () => t, sleep: async (ms: number) => { t += ms; c.slept += ms; } };
  return c;
}

const watch = (w: Partial<RolloutWatch> = {}): RolloutWatch => ({ service: "api", deploymentId: "ecs-svc/2", taskDefinitionArn: TD2, autoRollback: true, spot: false, timeoutSeconds: 600, ...w });
const opts = (events: SdxEvent[], clock: Clock, extra: Record<string, unknown> = {}) => ({ target: "ecs", cluster: "shop", spotFallbackSeconds: 60, spotFallback: true, pollMs: 5000, clock, onEvent: (e: SdxEvent) => events.push(e), ...extra });

describe("waitForRollouts", () => {
  it("succeeds when the new deployment completes, reporting progress on the way", async () => {
    const events: SdxEvent[] = [];
    const clock = fakeClock();
    const port = scriptedPort([
      [svc([dep({ id: "ecs-svc/2", taskDefinition: TD2, runningCount: 0, pendingCount: 2, rolloutState: "IN_PROGRESS" }), dep({ id: "ecs-svc/1", status: "ACTIVE", taskDefinition: TD1, runningCount: 2 })])],
      [svc([dep({ id: "ecs-svc/2", taskDefinition: TD2, runningCount: 1, pendingCount: 1, rolloutState: "IN_PROGRESS" }), dep({ id: "ecs-svc/1", status: "ACTIVE", taskDefinition: TD1, runningCount: 1 })])],
      [svc([dep({ id: "ecs-svc/2", taskDefinition: TD2, runningCount: 2, rolloutState: "COMPLETED", rolloutStateReason: "ECS deployment ecs-svc/2 completed." })])],
    ]);
    const settled: unknown[] = [];
    const [r] = await waitForRollouts(port, [watch()], { ...opts(events, clock), settle: (w, o) => settled.push([w.service, o.kind]) });
    expect(r).toEqual({ kind: "succeeded", desired: 2, ready: 2 });
    expect(settled).toEqual([["api", "succeeded"]]);
    const progress = events.filter((e) => e.kind === "rollout-progress");
    expect(progress.map((e) => e.kind === "rollout-progress" && e.ready)).toEqual([0, 1, 2]);
    expect(clock.slept).toBe(10_000);
  });

  it("does not call a scale-up done while its deployment is COMPLETED but the new tasks are not running yet", async () => {
    // A desiredCount-only UpdateService leaves the deployment's rolloutState as it was (COMPLETED).
    const events: SdxEvent[] = [];
    const clock = fakeClock();
    const scaled = (running: number) => svc([dep({ id: "ecs-svc/2", taskDefinition: TD2, desiredCount: 4, runningCount: running, pendingCount: 4 - running, rolloutState: "COMPLETED" })], { desiredCount: 4 });
    const port = scriptedPort([[scaled(2)], [scaled(3)], [scaled(4)]]);
    const [r] = await waitForRollouts(port, [watch()], opts(events, clock));
    expect(r).toMatchObject({ kind: "succeeded", desired: 4, ready: 4 });
    expect(events.filter((e) => e.kind === "rollout-progress").map((e) => e.kind === "rollout-progress" && e.ready)).toEqual([2, 3, 4]);
    expect(clock.slept).toBe(10_000);
  });

  it("fails at once when a first deployment fails: there is nothing to roll back to", async () => {
    const events: SdxEvent[] = [];
    const clock = fakeClock();
    const port = scriptedPort([[svc([dep({ id: "ecs-svc/2", taskDefinition: TD2, runningCount: 0, failedTasks: 3, rolloutState: "FAILED", rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start." })])]], [stopped("CannotPullContainerError: pull image manifest has been retried 5 time(s)")]);
    const [r] = await waitForRollouts(port, [watch()], opts(events, clock));
    expect(r).toMatchObject({ kind: "failed", reason: expect.stringContaining("no earlier deployment to roll back to") });
    expect(r!.kind === "failed" && r!.reason).toContain("CannotPullContainerError");
    expect(clock.slept).toBeLessThan(60_000); // not the 600 s rollout timeout
  });

  it("reports the circuit breaker's rollback with the stopped tasks' reasons", async () => {
    const events: SdxEvent[] = [];
    const port = scriptedPort([
      [svc([dep({ id: "ecs-svc/2", taskDefinition: TD2, pendingCount: 2, rolloutState: "IN_PROGRESS" }), dep({ id: "ecs-svc/1", status: "ACTIVE", taskDefinition: TD1, runningCount: 2 })])],
      [svc([dep({ id: "ecs-svc/2", taskDefinition: TD2, pendingCount: 2, failedTasks: 3, rolloutState: "IN_PROGRESS" }), dep({ id: "ecs-svc/1", status: "ACTIVE", taskDefinition: TD1, runningCount: 2 })])],
      [svc([
        dep({ id: "ecs-svc/3", taskDefinition: TD1, runningCount: 2, rolloutState: "IN_PROGRESS" }),
        dep({ id: "ecs-svc/2", status: "ACTIVE", taskDefinition: TD2, failedTasks: 3, rolloutState: "FAILED", rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start." }),
      ])],
      [svc([
        dep({ id: "ecs-svc/3", taskDefinition: TD1, runningCount: 2, rolloutState: "COMPLETED" }),
        dep({ id: "ecs-svc/2", status: "INACTIVE", taskDefinition: TD2, failedTasks: 3, rolloutState: "FAILED", rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start." }),
      ])],
    ], [stopped("Essential container in task exited", 1), stopped("CannotPullContainerError: pull image manifest has been retried 5 time(s)")]);
    const [r] = await waitForRollouts(port, [watch()], opts(events, fakeClock()));
    expect(r!.kind).toBe("rolled-back");
    const reason = r!.kind === "rolled-back" ? r!.reason : "";
    expect(reason).toContain("circuit breaker: tasks failed to start");
    expect(reason).toContain("Essential container in task exited; api: exit code 1");
    expect(reason).toContain("rolled back to " + TD1);
    // What the wait observed; the engine reports the failure itself (rollout-failed) when the watch settles.
    expect(events.map((e) => e.kind).filter((k) => k.startsWith("rollback") || k === "rollout-failed")).toEqual(["rollback-started", "rollback-finished"]);
    expect(events.find((e) => e.kind === "rollback-finished")).toMatchObject({ succeeded: true });
    expect(port.calls).toContain("DescribeTasks");
  });

  it("fails without waiting for a rollback when autoRollback is off", async () => {
    const events: SdxEvent[] = [];
    const port = scriptedPort([[svc([dep({ id: "ecs-svc/2", taskDefinition: TD2, failedTasks: 2, rolloutState: "FAILED", rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start." })])]], [stopped("Task failed container health checks")]);
    const [r] = await waitForRollouts(port, [watch({ autoRollback: false })], opts(events, fakeClock()));
    expect(r).toMatchObject({ kind: "failed", reason: expect.stringContaining("Task failed container health checks") });
    expect(events.some((e) => e.kind === "rollback-started")).toBe(false);
  });

  it("reports a failed rollback as failed", async () => {
    const port = scriptedPort([[svc([
      dep({ id: "ecs-svc/3", taskDefinition: TD1, rolloutState: "FAILED", rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start." }),
      dep({ id: "ecs-svc/2", status: "ACTIVE", taskDefinition: TD2, rolloutState: "FAILED", rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start." }),
    ])]]);
    const events: SdxEvent[] = [];
    const [r] = await waitForRollouts(port, [watch()], opts(events, fakeClock()));
    expect(r).toMatchObject({ kind: "failed", reason: expect.stringContaining("the rollback failed too") });
    expect(events.find((e) => e.kind === "rollback-finished")).toMatchObject({ succeeded: false });
  });

  it("times out with the last ECS event in the reason", async () => {
    const clock = fakeClock();
    const port = scriptedPort([[svc([dep({ id: "ecs-svc/2", taskDefinition: TD2, runningCount: 1, pendingCount: 1, rolloutState: "IN_PROGRESS" })], {
      events: [{ id: "e1", createdAt: new Date(0), message: "(service api) has reached a steady state." }],
    })]]);
    const [r] = await waitForRollouts(port, [watch({ timeoutSeconds: 30 })], opts([], clock));
    // A timeout is its own outcome, not a failure recognised by its message.
    expect(r).toMatchObject({ kind: "timed-out", reason: expect.stringMatching(/^timed out after 30s with 1\/2 tasks running/) });
    expect(r).toMatchObject({ reason: expect.stringContaining("last ECS event: (service api) has reached a steady state.") });
    expect(clock.now()).toBe(30_000);
  });

  it("falls back from FARGATE_SPOT to FARGATE when spot tasks stay unplaced", async () => {
    const events: SdxEvent[] = [];
    const unplaced = svc([dep({ id: "ecs-svc/2", taskDefinition: TD2, desiredCount: 3, runningCount: 1, pendingCount: 2, rolloutState: "IN_PROGRESS",
      capacityProviderStrategy: [{ capacityProvider: "FARGATE", base: 1, weight: 0 }, { capacityProvider: "FARGATE_SPOT", base: 0, weight: 1 }] })], {
      desiredCount: 3,
      events: [{ id: "e2", createdAt: new Date(0), message: "(service worker) was unable to place a task. Reason: Capacity is unavailable at this time. Please try again later or in a different availability zone." }],
    });
    let afterFallback = 0;
    const onDemand = (): Service => svc([dep({ id: "ecs-svc/4", taskDefinition: TD2, runningCount: 0, pendingCount: 3, rolloutState: "IN_PROGRESS" })], { desiredCount: 3 });
    const script: Service[][] = [];
    for (let i = 0; i < 14; i++) script.push([unplaced]);
    const port = scriptedPort(script, [], onDemand);
    const base = port.describeServices.bind(port);
    // After the strategy update, the new on-demand deployment converges.
    (port as { describeServices: EcsPort["describeServices"] }).describeServices = async (c, n) => {
      if (port.updates.length === 0) return base(c, n);
      afterFallback++;
      return { services: [svc([dep({ id: "ecs-svc/4", taskDefinition: TD2, desiredCount: 3, runningCount: afterFallback >= 2 ? 3 : 1, pendingCount: afterFallback >= 2 ? 0 : 2, rolloutState: afterFallback >= 2 ? "COMPLETED" : "IN_PROGRESS" })], { desiredCount: 3 })], missing: [] };
    };
    const [r] = await waitForRollouts(port, [watch({ spot: true })], opts(events, fakeClock()));
    const fb = events.find((e) => e.kind === "spot-fallback");
    expect(fb).toBeDefined();
    expect(fb!.kind === "spot-fallback" && fb!.reason).toMatch(/2 of 3 tasks not placed on FARGATE_SPOT for 60s .*unable to place a task.*moving the service to FARGATE/);
    expect(port.updates).toEqual([{ cluster: "shop", service: "api", capacityProviderStrategy: [{ capacityProvider: "FARGATE", base: 0, weight: 1 }], forceNewDeployment: true }]);
    expect(r).toMatchObject({ kind: "succeeded", ready: 3 });
  });

  it("only reports spot trouble when the target's spotFallback is off", async () => {
    const events: SdxEvent[] = [];
    const port = scriptedPort([[svc([dep({ id: "ecs-svc/2", taskDefinition: TD2, runningCount: 0, pendingCount: 2, rolloutState: "IN_PROGRESS" })])]]);
    const [r] = await waitForRollouts(port, [watch({ spot: true, timeoutSeconds: 120 })], opts(events, fakeClock(), { spotFallback: false }));
    expect(events.filter((e) => e.kind === "spot-fallback")).toHaveLength(1);
    expect(port.updates).toEqual([]);
    expect(r!.kind).toBe("timed-out");
  });

  it("polls every service in one DescribeServices call per tick", async () => {
    const done = (name: string) => ({ ...svc([dep({ id: "d", taskDefinition: TD2, runningCount: 2, rolloutState: "COMPLETED" })]), serviceName: name });
    const port = scriptedPort([[done("a"), done("b"), done("c")]]);
    const rs = await waitForRollouts(port, ["a", "b", "c"].map((s) => watch({ service: s, deploymentId: "d" })), opts([], fakeClock()));
    expect(rs.map((r) => r.kind)).toEqual(["succeeded", "succeeded", "succeeded"]);
    expect(port.calls).toEqual(["DescribeServices"]);
  });

  it("honours an aborted signal", async () => {
    const ac = new AbortController();
    ac.abort();
    const port = scriptedPort([[svc([dep({ id: "ecs-svc/2", taskDefinition: TD2, rolloutState: "IN_PROGRESS" })])]]);
    await expect(waitForRollouts(port, [watch()], { ...opts([], fakeClock()), signal: ac.signal })).rejects.toMatchObject({ code: "SDX_ABORTED" });
  });
});

describe("stoppedReasons", () => {
  it("merges task and container reasons, newest first, without duplicates", () => {
    const a = { ...stopped("Essential container in task exited", 137), stoppedAt: new Date(2) };
    const b = { ...stopped("Essential container in task exited", 137), stoppedAt: new Date(1) };
    const c: Task = { stoppedReason: "ResourceInitializationError: unable to pull secrets", stoppedAt: new Date(3), containers: [{ name: "api", reason: "CannotPullContainerError" }] };
    expect(stoppedReasons([a, b, c])).toEqual(["ResourceInitializationError: unable to pull secrets; api: CannotPullContainerError", "Essential container in task exited; api: exit code 137"]);
  });
});
