/**
 * Convergence: real waiting on real tasks. ministack (scripts/testenv/ecs-tasks.sh) runs
 * each ECS task as a container on the swarm test engine, so runningCount, rolloutState,
 * the circuit breaker and stopped-task reasons come from containers that really started
 * (or exited). moto (ecs.integ.spec.ts) has no scheduler; this suite covers what it cannot.
 *
 * Emulator facts the app below is written around (ministack 1.5.33, read in its source):
 * - it ignores `entryPoint` (sdx's `command`), so the services put their process in `args`;
 * - it stops a task with `docker stop -t 5` inside the API call, so the process exits on TERM
 *   (a bare `sleep 3600` as PID 1 ignores TERM and would cost 5 s per task on every scale-down);
 * - it has no Application Auto Scaling API: the two Describe calls sdx makes for it are
 *   answered empty by a client middleware (the app has no autoscaled service);
 * - nothing can be pulled: tasks use the swarm engine's local image.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DescribeServicesCommand, DescribeTasksCommand, ECSClient, ListTasksCommand } from "@aws-sdk/client-ecs";
import { exampleContext, renderFor, testenvDir, withTarget } from "@sdx/sdk/testing";
import type { BackendApplyResult, BackendContext, BackendPlan, SdxEvent } from "@sdx/sdk";
import type { EcsTarget } from "../src/ecs-target.js";
import { EcsBackend } from "../src/ecs-backend.js";
import type { AwsClients } from "../src/client/aws-ecs-port.js";

/** requireTestenv's semantics for "ecs-tasks": a missing backend fails under CI and is skipped loudly elsewhere. */
function requireEcsTasks(): Record<string, string> | undefined {
  const file = resolve(testenvDir(), "ecs-tasks.env");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    const msg = `ecs-tasks test backend is NOT running (no ${file}). Start it with: bash scripts/testenv/swarm.sh up && bash scripts/testenv/ecs-tasks.sh up`;
    if (process.env.CI === "true" || process.env.CI === "1") throw new Error(`[sdx] ${msg}. CI must run every integration suite.`);
    process.stderr.write(`\n${"!".repeat(78)}\n[sdx] SKIPPING ecs-tasks (ECS convergence) integration tests: ${msg}\n${"!".repeat(78)}\n\n`);
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = process.env[m[1]!] ?? m[2]!.replace(/^"(.*)"$/, "$1");
  }
  return out;
}

const env = requireEcsTasks();
const APP = "conv";
const CLUSTER = `sdx-conv-${process.pid}-${Date.now().toString(36)}`;
const TIMEOUT_S = 60;
// PID 1 that exits on TERM at once (see the header).
const LONG_RUNNING = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"];

interface DockerContainer { Id: string; State: string; Labels: Record<string, string> }

describe.skipIf(!env)("ECS backend convergence against ministack (tasks are real containers)", () => {
  const e: Record<string, string> = env ?? {}; // the body is still collected when skipped
  const credentials = { accessKeyId: e.SDX_ECS_TASKS_ACCESS_KEY_ID!, secretAccessKey: e.SDX_ECS_TASKS_SECRET_ACCESS_KEY! };
  const ecs = new ECSClient({ endpoint: e.SDX_ECS_TASKS_ENDPOINT, region: e.SDX_ECS_TASKS_REGION, credentials, maxAttempts: 1 });
  const clusterArn = `arn:aws:ecs:${e.SDX_ECS_TASKS_REGION}:${e.SDX_ECS_TASKS_ACCOUNT_ID}:cluster/${CLUSTER}`;
  let dir: string;
  let base: BackendContext<EcsTarget>;

  /** ministack has no Application Auto Scaling: answer sdx's two look-ups with "nothing registered", refuse anything else. */
  const noAutoscaling = (c: AwsClients): void => {
    (c.autoscaling.middlewareStack as { add: (mw: unknown, o: unknown) => void }).add(
      (_next: unknown, context: { commandName: string }) => async () => {
        if (context.commandName === "DescribeScalableTargetsCommand") return { output: { ScalableTargets: [], $metadata: {} } };
        if (context.commandName === "DescribeScalingPoliciesCommand") return { output: { ScalingPolicies: [], $metadata: {} } };
        throw new Error(`ministack has no Application Auto Scaling API (${context.commandName})`);
      },
      { step: "initialize", name: "sdxNoAutoscaling" },
    );
  };
  // 0.5 s polls instead of 5 s: same code path, shorter tests.
  const backend = () => new EcsBackend({ credentials, configureClients: noAutoscaling, waitSeams: { pollMs: 500 }, retryBaseDelayMs: 50 });

  /** The app as last deployed; each test changes a copy and keeps it once deployed. */
  let app: Record<string, Record<string, unknown>> = {
    web: { image: e.SDX_ECS_TASKS_IMAGE, args: LONG_RUNNING, replicas: 2, resources: { cpu: "250m", memory: "512Mi" } },
    // Default rollout (maxSurge 25%, maxUnavailable 0).
    worker: { image: e.SDX_ECS_TASKS_IMAGE, args: LONG_RUNNING, replicas: 2, placement: { spot: "prefer", minOnDemand: 1 } },
  };
  const ctxFor = async (services: Record<string, Record<string, unknown>>): Promise<BackendContext<EcsTarget>> => {
    const file = join(dir, `sdx-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, JSON.stringify({ name: APP, services, targets: { ecs: { kind: "ecs", region: e.SDX_ECS_TASKS_REGION, cluster: CLUSTER } } }));
    return withTarget<EcsTarget>(await exampleContext<EcsTarget>(file, { kind: "ecs" }), {
      endpoint: e.SDX_ECS_TASKS_ENDPOINT, region: e.SDX_ECS_TASKS_REGION, cluster: CLUSTER, createCluster: true,
      subnets: [e.SDX_ECS_TASKS_SUBNET!], securityGroups: [e.SDX_ECS_TASKS_SECURITY_GROUP!],
      // ministack stores absent roles as "" (ECS omits them), which the next plan would see as a change.
      executionRoleArn: `arn:aws:iam::${e.SDX_ECS_TASKS_ACCOUNT_ID}:role/sdx-conv-execution`,
      taskRoleArn: `arn:aws:iam::${e.SDX_ECS_TASKS_ACCOUNT_ID}:role/sdx-conv-task`,
    });
  };
  const withService = (name: string, patch: Record<string, unknown>) => ({ ...app, [name]: { ...app[name], ...patch } });
  const planFor = async (ctx: BackendContext<EcsTarget>, b = backend()): Promise<BackendPlan> => b.plan(ctx, renderFor(b, ctx), {});
  const changed = (p: BackendPlan) => p.actions.filter((a) => a.kind !== "no-op").map((a) => `${a.kind} ${a.resource.kind}/${a.resource.name}`);
  const deploy = async (ctx: BackendContext<EcsTarget>, timeoutSeconds = TIMEOUT_S): Promise<{ r: BackendApplyResult; events: SdxEvent[]; ms: number }> => {
    const b = backend();
    const plan = await planFor(ctx, b);
    const events: SdxEvent[] = [];
    const t0 = Date.now();
    const r = await b.apply(ctx, plan, { wait: true, timeoutSeconds, onEvent: (ev) => events.push(ev) });
    return { r, events, ms: Date.now() - t0 };
  };
  const progressOf = (events: SdxEvent[], service: string) =>
    events.flatMap((ev) => (ev.kind === "rollout-progress" && ev.service === service ? [ev] : []));

  /** This cluster's task containers on the swarm engine (Engine API over its unix socket). */
  const containers = (family?: string): Promise<DockerContainer[]> => {
    const labels = [e.SDX_ECS_TASKS_CONTAINER_LABEL!, `com.amazonaws.ecs.cluster=${clusterArn}`, ...(family ? [`com.amazonaws.ecs.task-definition-family=${family}`] : [])];
    const path = `/v1.41/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: labels }))}`;
    return new Promise((ok, fail) => {
      const req = request({ socketPath: e.SDX_ECS_TASKS_DOCKER_HOST!.replace(/^unix:\/\//, ""), path, timeout: 10_000 }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => (res.statusCode === 200 ? ok(JSON.parse(body) as DockerContainer[]) : fail(new Error(`docker ${res.statusCode}: ${body}`))));
      });
      req.on("error", fail);
      req.on("timeout", () => req.destroy(new Error("docker API timeout")));
      req.end();
    });
  };
  const running = async (family: string) => (await containers(family)).filter((c) => c.State === "running");
  const VERSION = "com.amazonaws.ecs.task-definition-version";
  /** Retries `check` for up to 10 s: ministack stops and removes a task's container in a background thread after it reports the task STOPPED. */
  const eventually = async (check: () => Promise<void>): Promise<void> => {
    for (let i = 0; ; i++) {
      try {
        return await check();
      } catch (err) {
        if (i >= 40) throw err;
        await new Promise((ok) => setTimeout(ok, 250));
      }
    }
  };
  const services = async (...names: string[]) => (await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: names }))).services!;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "sdx-conv-"));
    base = await ctxFor(app);
  });
  afterAll(async () => {
    await backend().destroy({ appName: APP, target: base.target }, {}).catch(() => undefined);
    ecs.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it("deploy returns succeeded only after every task runs as a container", async () => {
    const { r, events, ms } = await deploy(base);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe("succeeded");
    expect(r.rollouts.map((x) => [x.service, x.status, x.desired, x.ready]).sort()).toEqual([["web", "succeeded", 2, 2], ["worker", "succeeded", 2, 2]]);
    for (const svc of ["web", "worker"]) {
      const progress = progressOf(events, svc);
      // Real waiting: the first look saw fewer running tasks than desired, the last one all of them.
      expect(progress[0]!.ready).toBeLessThan(2);
      expect(progress.at(-1)).toMatchObject({ desired: 2, ready: 2 });
      const done = events.findIndex((ev) => ev.kind === "rollout-succeeded" && ev.service === svc);
      expect(done).toBeGreaterThan(events.lastIndexOf(progress.at(-1)!));
    }
    process.stdout.write(`[ecs-convergence] first deploy (2 services x 2 tasks) converged in ${ms} ms\n`);

    // What ECS reports, and what really runs.
    expect((await services("web", "worker")).map((s) => [s.serviceName, s.desiredCount, s.runningCount])).toEqual([["web", 2, 2], ["worker", 2, 2]]);
    expect(await running("conv-web")).toHaveLength(2);
    expect(await running("conv-worker")).toHaveLength(2);

    // placement spot: prefer + minOnDemand: 1 → [FARGATE base 1 w0, FARGATE_SPOT w1], stored as sent.
    const [worker] = await services("worker");
    expect(worker!.capacityProviderStrategy).toEqual([{ capacityProvider: "FARGATE", base: 1, weight: 0 }, { capacityProvider: "FARGATE_SPOT", base: 0, weight: 1 }]);
    expect(worker!.deploymentConfiguration?.deploymentCircuitBreaker).toEqual({ enable: true, rollback: true });
    const arns = (await ecs.send(new ListTasksCommand({ cluster: CLUSTER, serviceName: "worker" }))).taskArns!;
    const tasks = (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: arns }))).tasks!;
    expect(tasks.map((t) => t.lastStatus)).toEqual(["RUNNING", "RUNNING"]);
    // ministack places every task on the strategy's provider with the highest base (it does not
    // split by base/weight as ECS would: 1 FARGATE + 1 FARGATE_SPOT), so this proves the strategy
    // reaches the scheduler, not ECS's split.
    expect(tasks.map((t) => t.capacityProviderName)).toEqual(["FARGATE", "FARGATE"]);
  });

  it("re-plans with no changes", async () => {
    expect(changed(await planFor(base))).toEqual([]);
  });

  it("a rolling update (default maxSurge 25% of 2 replicas) replaces every container", async () => {
    const old = (await running("conv-worker")).map((c) => c.Id);
    const next = withService("worker", { env: { RELEASE: "2" } });
    const ctx = await ctxFor(next);
    expect(changed(await planFor(ctx))).toEqual(["update task-definition/conv-worker", "update service/worker"]);
    const { r, events } = await deploy(ctx, 30);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe("succeeded");
    expect(r.rollouts).toEqual([{ service: "worker", status: "succeeded", desired: 2, ready: 2 }]);
    // The old deployment still ran while the new one started.
    expect(progressOf(events, "worker").some((p) => p.message?.includes("IN_PROGRESS (2 deployments)"))).toBe(true);
    // Checked the moment apply returns: two containers of the new revision run...
    const revision = (await services("worker"))[0]!.taskDefinition!.split(":").pop();
    expect((await running("conv-worker")).filter((c) => c.Labels[VERSION] === revision && !old.includes(c.Id))).toHaveLength(2);
    // ...and the old ones are gone (ECS already counts them as stopped; their removal trails by a moment).
    await eventually(async () => expect((await running("conv-worker")).map((c) => c.Labels[VERSION])).toEqual([revision, revision]));
    expect(changed(await planFor(ctx))).toEqual([]);
    app = next;
  });

  it("a scale-up waits until the new containers run", async () => {
    const next = withService("web", { replicas: 4 });
    const ctx = await ctxFor(next);
    const plan = await planFor(ctx);
    expect(changed(plan)).toEqual(["update service/web"]);
    const { r, events } = await deploy(ctx);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe("succeeded");
    expect(r.rollouts).toEqual([{ service: "web", status: "succeeded", desired: 4, ready: 4 }]);
    // Checked the moment apply returns: the two new tasks are running containers already.
    expect(await running("conv-web")).toHaveLength(4);
    const progress = progressOf(events, "web");
    expect(progress[0]!.ready).toBeLessThan(4);
    expect(progress.at(-1)).toMatchObject({ desired: 4, ready: 4 });
    expect(changed(await planFor(ctx))).toEqual([]);
    app = next;
  });

  it("a revision whose container exits at once trips the circuit breaker and is rolled back", async () => {
    const before = (await services("web"))[0]!.taskDefinition!;
    const good = (await running("conv-web")).map((c) => c.Id).sort();
    const ctx = await ctxFor(withService("web", { args: ["false"] }));
    const { r, events } = await deploy(ctx);
    expect(r.status).toBe("rolled-back");
    expect(r.error).toMatchObject({ code: "SDX_ROLLOUT_FAILED", fault: "backend", details: { status: "rolled-back" } });
    expect(r.rollouts).toMatchObject([{ service: "web", status: "rolled-back" }]);
    const failed = events.find((ev) => ev.kind === "rollout-failed" && ev.service === "web");
    expect(failed).toBeDefined();
    const reason = failed!.kind === "rollout-failed" ? failed!.reason : "";
    // ministack's breaker reason, then the stopped tasks' reasons with the container's exit code.
    expect(reason).toMatch(/circuit breaker was triggered after \d+ consecutive task failures/);
    expect(reason).toContain("stopped task: Essential container exited; web: exit code 1");
    expect(events.some((ev) => ev.kind === "log" && ev.level === "warning" && ev.message === "web: task stopped: Essential container exited; web: exit code 1")).toBe(true);
    expect(events.filter((ev) => ev.kind === "rollback-started" || ev.kind === "rollback-finished").map((ev) => ev.kind)).toEqual(["rollback-started", "rollback-finished"]);
    expect(events.find((ev) => ev.kind === "rollback-finished")).toMatchObject({ succeeded: true });
    // Four containers of the previous revision run. (The scheduler may replace an old task while a
    // new one is briefly RUNNING before it exits, as ECS may; most of the old containers stay.)
    expect((await services("web"))[0]).toMatchObject({ taskDefinition: before, desiredCount: 4, runningCount: 4 });
    await eventually(async () => expect((await running("conv-web")).map((c) => c.Labels[VERSION])).toEqual(Array(4).fill(before.split(":").pop())));
    expect((await running("conv-web")).filter((c) => good.includes(c.Id)).length).toBeGreaterThanOrEqual(2);
    // The next plan still wants the new revision.
    expect(changed(await planFor(ctx))).toEqual(["update task-definition/conv-web", "update service/web"]);
  });

  it("a new service whose image cannot be pulled does not report success", async () => {
    // web as it runs again (the rollback restored it), plus a service nothing can start.
    const ctx = await ctxFor({ ...app, ghost: { image: "sdx-missing-image:1", args: LONG_RUNNING, replicas: 1 } });
    const plan = await planFor(ctx);
    expect(changed(plan).sort()).toEqual(["create service/ghost", "create task-definition/conv-ghost", "update service/web"]);
    // web: only its sdx revision tags, which the rolled-back deploy had already moved to the failed revision.
    expect(plan.actions.find((a) => a.resource.name === "web")!.changes.map((c) => c.path)).toEqual(['tags["sdx.dev/revision"]', 'tags["sdx:revision"]']);
    const { r, events, ms } = await deploy(ctx, 20);
    expect(r.status).toBe("failed");
    // With nothing to roll back to the breaker's failure is final: SDX_ROLLOUT_FAILED at once when the
    // backend sees that, SDX_ROLLOUT_TIMEOUT at the rollout timeout when it waits for a rollback that never comes.
    // The code follows the typed outcome: failed → SDX_ROLLOUT_FAILED, timed-out → SDX_ROLLOUT_TIMEOUT.
    const ghost = r.rollouts.find((x) => x.service === "ghost");
    expect(ghost).toMatchObject({ status: expect.stringMatching(/^(failed|timed-out)$/), ready: 0 });
    expect(r.error?.code).toBe(ghost?.status === "timed-out" ? "SDX_ROLLOUT_TIMEOUT" : "SDX_ROLLOUT_FAILED");
    expect(r.error?.fault).toBe("backend");
    expect(r.error!.message).toContain("circuit breaker was triggered after three unsuccessful image digest resolution attempts");
    expect(events.some((ev) => ev.kind === "rollout-failed" && ev.service === "ghost")).toBe(true);
    // The task really tried: its pull failed (the engine has no route out) and no container was created.
    let reasons: string[] = [];
    for (let i = 0; i < 40 && !reasons.some((x) => x.startsWith("CannotPullContainerError")); i++) {
      const arns = (await ecs.send(new ListTasksCommand({ cluster: CLUSTER, serviceName: "ghost", desiredStatus: "STOPPED" }))).taskArns!;
      reasons = arns.length ? (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: arns }))).tasks!.map((t) => t.stoppedReason ?? "") : [];
      if (!reasons.length) await new Promise((ok) => setTimeout(ok, 250));
    }
    expect(reasons.some((x) => x.startsWith("CannotPullContainerError"))).toBe(true);
    expect(await containers("conv-ghost")).toEqual([]);
    process.stdout.write(`[ecs-convergence] unpullable new service ended ${r.error?.code} after ${ms} ms\n`);
  });

  it("destroy removes every task container", async () => {
    const r = await backend().destroy({ appName: APP, target: base.target }, {});
    expect(r.failed).toEqual([]);
    expect(r.deleted.map((d) => `${d.kind}/${d.name}`).sort()).toEqual([
      `cluster/${CLUSTER}`, "service/ghost", "service/web", "service/worker",
      "task-definition/conv-ghost", "task-definition/conv-web", "task-definition/conv-worker",
    ]);
    // Every running task's container is gone. Containers of tasks that had already exited on their own
    // (the `false` revision) stay as exited containers until ministack's reaper (2 min grace) or `ecs-tasks.sh down`.
    const left = await containers();
    expect(left.filter((c) => c.State !== "exited")).toEqual([]);
    expect([...new Set(left.map((c) => c.Labels["com.amazonaws.ecs.task-definition-family"]))]).toEqual(left.length ? ["conv-web"] : []);
  });
});
