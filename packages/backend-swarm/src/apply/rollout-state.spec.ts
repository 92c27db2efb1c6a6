import { describe, expect, it } from "vitest";
import type { SwarmService, SwarmTask } from "../client/swarm-client.js";
import { assessRollout, lastTaskError } from "./rollout-state.js";

const svc = (replicas: number, UpdateStatus?: SwarmService["UpdateStatus"]): SwarmService => ({
  ID: "s1", Version: { Index: 10 }, Spec: { Name: "app_web", Mode: { Replicated: { Replicas: replicas } } }, ...(UpdateStatus ? { UpdateStatus } : {}),
});
let n = 0;
const task = (state: string, desired = "running", extra: Partial<SwarmTask["Status"]> = {}): SwarmTask => ({
  ID: `t${++n}`, ServiceID: "s1", Slot: n, DesiredState: desired, Status: { State: state, Timestamp: `2026-01-01T00:00:${String(n).padStart(2, "0")}Z`, ...extra },
});

describe("assessRollout", () => {
  it("waits for every desired task on the new spec, then succeeds", () => {
    const starting = [task("starting"), task("running")];
    expect(assessRollout({ service: svc(2), tasks: starting, upToDate: starting }).kind).toBe("progressing");
    const up = [task("running"), task("running")];
    expect(assessRollout({ service: svc(2), tasks: up, upToDate: up })).toMatchObject({ kind: "succeeded", desired: 2, ready: 2 });
  });

  it("is not done while a task of the old spec still runs (start-first)", () => {
    const old = task("running");
    const up = [task("running")];
    expect(assessRollout({ service: svc(1, { State: "completed", StartedAt: "b" }), tasks: [old, ...up], upToDate: up, baseline: { State: "completed", StartedAt: "a" } }).kind).toBe("progressing");
  });

  it("reports a completed rollback as rolled back with the task error, never as success", () => {
    const failed = task("failed", "shutdown", { Err: "task: non-zero exit (3)", ContainerStatus: { ExitCode: 3 } });
    const back = [task("running")];
    const s = assessRollout({ service: svc(1, { State: "rollback_completed", StartedAt: "b", Message: "rollback completed" }), tasks: [failed, ...back], upToDate: back });
    expect(s.kind).toBe("rolled-back");
    expect(s.kind === "rolled-back" && s.reason).toContain("non-zero exit (3)");
    expect(assessRollout({ service: svc(1, { State: "rollback_started", StartedAt: "b" }), tasks: [failed], upToDate: [] }).kind).toBe("rolling-back");
  });

  it("treats a paused update as a failure", () => {
    const s = assessRollout({ service: svc(1, { State: "paused", StartedAt: "b", Message: "update paused due to failure" }), tasks: [task("failed", "shutdown", { Err: "boom" })], upToDate: [] });
    expect(s).toMatchObject({ kind: "failed" });
    expect(s.kind === "failed" && s.reason).toContain("boom");
  });

  it("ignores the UpdateStatus left by an earlier update", () => {
    const stale = { State: "rollback_completed", StartedAt: "a", CompletedAt: "a2" };
    const up = [task("running")];
    expect(assessRollout({ service: svc(1, stale), tasks: up, upToDate: up, baseline: stale }).kind).toBe("succeeded");
  });

  it("names the newest failed task", () => {
    expect(lastTaskError([task("failed", "shutdown", { Err: "old" }), task("rejected", "shutdown", { Err: "no suitable node" })])).toMatch(/rejected: no suitable node$/);
    expect(lastTaskError([task("running")])).toBeUndefined();
  });
});
