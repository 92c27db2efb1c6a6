import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import type { Deployment, Service } from "@aws-sdk/client-ecs";
import { EXAMPLE_SECRET_ENV, REPO_ROOT, exampleContext } from "@sdx/sdk/testing";
import { summarize, type BackendContext, type BackendPlan, type PlannedAction, type SdxEvent } from "@sdx/sdk";
import type { EcsTarget } from "../ecs-target.js";
import { EcsBackend } from "../ecs-backend.js";
import type { EcsPort } from "../client/ecs-port.js";

// apply end to end over a fake port: an image update whose deployment the
// circuit breaker fails and rolls back must end "rolled-back" with the reason.
const FIXTURE = resolve(REPO_ROOT, "packages/backend-ecs/test/fixtures/shop-ecs/sdx.yaml");
const OLD = "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-ecs-api:7";
const NEW = "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-ecs-api:8";

function fakePort(outcome: "rolled-back" | "completed" = "rolled-back"): EcsPort & { log: string[] } {
  const log: string[] = [];
  let polls = 0;
  const dep = (d: Partial<Deployment>): Deployment => ({ status: "PRIMARY", desiredCount: 2, runningCount: 0, pendingCount: 0, failedTasks: 0, ...d });
  const svc = (deployments: Deployment[]): Service => ({ serviceName: "api", serviceArn: "arn:aws:ecs:us-east-1:123456789012:service/shop-ecs/api", desiredCount: 2, deployments });
  const port: Partial<EcsPort> & { log: string[] } = {
    log,
    registerTaskDefinition: async (input) => { log.push(`register ${String(input.family)}`); return { taskDefinitionArn: NEW }; },
    updateService: async (input) => {
      log.push(`update ${String(input.service)} ${String(input.taskDefinition)}`);
      return svc([dep({ id: "ecs-svc/new", taskDefinition: NEW, rolloutState: "IN_PROGRESS" }), dep({ id: "ecs-svc/old", status: "ACTIVE", taskDefinition: OLD, runningCount: 2 })]);
    },
    listTaskDefinitions: async () => [NEW, OLD],
    deregisterTaskDefinition: async (arn) => { log.push(`deregister ${arn}`); },
    describeServices: async () => {
      polls++;
      if (outcome === "completed") return { services: [svc([dep({ id: "ecs-svc/new", taskDefinition: NEW, runningCount: 2, rolloutState: "COMPLETED" })])], missing: [] };
      const failed = dep({ id: "ecs-svc/new", status: polls > 1 ? "ACTIVE" : "PRIMARY", taskDefinition: NEW, failedTasks: 2, rolloutState: polls > 1 ? "FAILED" : "IN_PROGRESS", rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start." });
      const rollback = dep({ id: "ecs-svc/rb", taskDefinition: OLD, runningCount: 2, rolloutState: polls > 2 ? "COMPLETED" : "IN_PROGRESS" });
      return { services: [svc(polls > 1 ? [rollback, failed] : [failed])], missing: [] };
    },
    listTasks: async () => ["arn:aws:ecs:us-east-1:123456789012:task/shop-ecs/abc"],
    describeTasks: async () => [{ stoppedReason: "Essential container in task exited", containers: [{ name: "api", exitCode: 1 }] }],
    putParameter: async (input) => { log.push(`put ${input.Name} overwrite=${input.Overwrite === true} tags=${input.Tags?.length ?? 0} value=${input.Value}`); return { version: 2 }; },
    addParameterTags: async (name, tags) => { log.push(`tag ${name} digest=${tags["sdx:digest"]}`); },
    deleteParameter: async (name) => { log.push(`delete ${name}`); },
  };
  return port as EcsPort & { log: string[] };
}

const paramDelete = (name: string, service: string): PlannedAction => ({
  kind: "delete", resource: { kind: "ssm-parameter", name, service }, changes: [], reason: "no longer in the app",
  live: { kind: "ssm-parameter", name, service, owned: true, body: {} },
});

describe("EcsBackend.apply", () => {
  it("returns rolled-back with the circuit breaker's reason and the stopped tasks'", async () => {
    const ctx = (await exampleContext<EcsTarget>(FIXTURE, { kind: "ecs" })) as BackendContext<EcsTarget>;
    const port = fakePort();
    let t = 0;
    const backend = new EcsBackend({ portFactory: () => port, waitSeams: { clock: { now: () => t, sleep: async (ms) => { t += ms; } } } });
    const rendered = backend.render({ ...ctx, target: { ...ctx.target, keepRevisions: 1 } });
    const td = rendered.find((r) => r.kind === "task-definition" && r.service === "api")!;
    const sv = rendered.find((r) => r.kind === "service" && r.name === "api")!;
    const actions: PlannedAction[] = [
      { kind: "update", resource: { kind: "task-definition", name: td.name, service: "api" }, changes: [{ path: "containerDefinitions[name=api].image", before: "a", after: "b" }], desired: td },
      { kind: "update", resource: { kind: "service", name: "api", service: "api" }, changes: [{ path: "taskDefinition", before: OLD, after: "new" }], desired: sv, live: { ...sv, owned: true, version: OLD } },
    ];
    // A removed secret's parameter: kept while the rolled-back revision may still read it.
    actions.push(paramDelete("/sdx/shop-ecs/shop-ecs/api/old-key", "api"));
    const plan: BackendPlan = { target: "ecs", backend: "ecs", mode: "live", actions, summary: summarize(actions), diagnostics: [] };
    const events: SdxEvent[] = [];
    const r = await backend.apply({ ...ctx, target: { ...ctx.target, keepRevisions: 1 } }, plan, { onEvent: (e) => events.push(e) });
    expect(r.remaining.map((a) => `${a.kind} ${a.resource.name}`)).toEqual(["delete /sdx/shop-ecs/shop-ecs/api/old-key"]);
    expect(r.status).toBe("rolled-back");
    expect(r.rollouts).toEqual([{ service: "api", status: "rolled-back", desired: 2, ready: 0, reason: expect.stringContaining("ECS deployment circuit breaker: tasks failed to start.; stopped task: Essential container in task exited; api: exit code 1") }]);
    // A rollout the circuit breaker had to roll back is the backend's fault, as on every backend (it was "user" on ECS alone).
    expect(r.error).toMatchObject({ code: "SDX_ROLLOUT_FAILED", fault: "backend", details: { status: "rolled-back" } });
    // The revision the circuit breaker rolled back to must survive pruning.
    expect(port.log).toEqual([`register shop-ecs-api`, `update api ${NEW}`]);
    expect(events.map((e) => e.kind)).toEqual(expect.arrayContaining(["action-succeeded", "rollout-progress", "rollout-failed", "rollback-started", "rollback-finished"]));
  });
});

describe("EcsBackend.apply with sdx-stored secrets", () => {
  it("writes parameters before task definitions and deletes removed ones only after the rollout", async () => {
    const ctx = (await exampleContext<EcsTarget>("shop", { kind: "ecs" }, { ...EXAMPLE_SECRET_ENV, SHOP_DB_PASSWORD: "rotated-password" })) as BackendContext<EcsTarget>;
    const port = fakePort("completed");
    let t = 0;
    const backend = new EcsBackend({ portFactory: () => port, waitSeams: { clock: { now: () => t, sleep: async (ms) => { t += ms; } } } });
    const rendered = backend.render(ctx);
    const param = (n: string) => rendered.find((r) => r.kind === "ssm-parameter" && r.name.endsWith(n))!;
    const td = rendered.find((r) => r.kind === "task-definition" && r.service === "api")!;
    const sv = rendered.find((r) => r.kind === "service" && r.name === "api")!;
    const ref = (r: { kind: string; name: string; service?: string }) => ({ kind: r.kind, name: r.name, ...(r.service ? { service: r.service } : {}) });
    const actions: PlannedAction[] = [
      { kind: "update", resource: ref(param("api/db-password")), changes: [{ path: "digest", before: "0000000000000000", after: "1111111111111111" }], desired: param("api/db-password"), live: { ...param("api/db-password"), owned: true } },
      { kind: "create", resource: ref(param("worker/queue-token")), changes: [], desired: param("worker/queue-token") },
      { kind: "update", resource: ref(td), changes: [{ path: "containerDefinitions[name=api].dockerLabels", before: "a", after: "b" }], desired: td },
      { kind: "update", resource: ref(sv), changes: [{ path: "taskDefinition", before: OLD, after: "new" }], desired: sv, live: { ...sv, owned: true, version: OLD } },
      paramDelete("/sdx/shop/shop/api/old-key", "api"),
    ];
    const plan: BackendPlan = { target: "ecs", backend: "ecs", mode: "live", actions, summary: summarize(actions), diagnostics: [] };
    const events: SdxEvent[] = [];
    const r = await backend.apply(ctx, plan, { onEvent: (e) => events.push(e) });
    expect(r.status).toBe("succeeded");
    expect(r.remaining).toEqual([]);
    const digest = ctx.secrets.get("api/db-password")!.digest;
    const writes = port.log.filter((l) => !l.startsWith("deregister"));
    // The update overwrites without tags (AWS refuses both at once), then re-tags with the new digest; the create tags at once.
    expect(writes.slice(0, 3).sort()).toEqual([
      "put /sdx/shop/shop/api/db-password overwrite=true tags=0 value=rotated-password",
      "put /sdx/shop/shop/worker/queue-token overwrite=false tags=8 value=example-queue-token",
      `tag /sdx/shop/shop/api/db-password digest=${digest}`,
    ]);
    expect(writes.slice(3)).toEqual(["register shop-api", `update api ${NEW}`, "delete /sdx/shop/shop/api/old-key"]);
    // Values reach the port only; events carry none.
    expect(JSON.stringify(events)).not.toContain("rotated-password");
    expect(JSON.stringify(r)).not.toContain("rotated-password");
  });
});
