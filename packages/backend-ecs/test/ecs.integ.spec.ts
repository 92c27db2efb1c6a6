import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ListTaskDefinitionsCommand } from "@aws-sdk/client-ecs";
import { DescribeScalableTargetsCommand } from "@aws-sdk/client-application-auto-scaling";
import { DeleteLogGroupCommand, DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { GetParametersCommand, ListTagsForResourceCommand } from "@aws-sdk/client-ssm";
import { EXAMPLE_SECRET_ENV, REPO_ROOT, contextForApp, exampleContext, renderFor, requireTestenv, withTarget } from "@sdx/sdk/testing";
import type { App, BackendContext, BackendPlan, SdxEvent } from "@sdx/sdk";
import type { EcsTarget } from "../src/ecs-target.js";
import { EcsBackend, type EcsBackendOptions } from "../src/ecs-backend.js";
import { AwsEcsPort, type AwsClients } from "../src/client/aws-ecs-port.js";

const te = requireTestenv("ecs");
const FIXTURE = resolve(REPO_ROOT, "packages/backend-ecs/test/fixtures/shop-ecs/sdx.yaml");
// Own cluster per run: moto is shared, and `ecs.sh up` resets it, so never rely on leftovers.
const CLUSTER = `sdx-it-${process.pid}-${Date.now().toString(36)}`;

type Failure = { command: string; times: number; error: () => Error };
/** SDK middleware counting every request by command name; optionally fails the first `times` calls of one command. */
const counting = (counts: Map<string, number>, fail?: Failure) => (c: AwsClients) => {
  for (const client of [c.ecs, c.autoscaling, c.logs, c.ssm]) {
    (client.middlewareStack as { add: (mw: unknown, o: unknown) => void }).add(
      (next: (a: unknown) => Promise<unknown>, context: { commandName: string }) => async (args: unknown) => {
        const name = context.commandName.replace(/Command$/, "");
        counts.set(name, (counts.get(name) ?? 0) + 1);
        if (fail && name === fail.command && fail.times > 0) {
          fail.times--;
          throw fail.error();
        }
        return next(args);
      },
      { step: "initialize", name: "sdxTestCounter" },
    );
  }
};

describe.skipIf(!te.env)("ECS backend against moto", () => {
  // Read lazily-safe: without a backend the suite is skipped, not crashed.
  const env = te.env ?? {};
  const credentials = { accessKeyId: env.SDX_ECS_ACCESS_KEY_ID!, secretAccessKey: env.SDX_ECS_SECRET_ACCESS_KEY! };
  const counts = new Map<string, number>();
  let clients: AwsClients | undefined;
  const middleware = (fail?: Failure) => counting(counts, fail);
  const backend = (o: EcsBackendOptions = {}) => new EcsBackend({ credentials, configureClients: middleware(), retryBaseDelayMs: 10, ...o });
  const target = (t: Partial<EcsTarget> = {}): Partial<EcsTarget> => ({
    endpoint: env.SDX_ECS_ENDPOINT, region: env.SDX_ECS_REGION, subnets: [env.SDX_ECS_SUBNET!], securityGroups: [env.SDX_ECS_SECURITY_GROUP!], cluster: CLUSTER, createCluster: true, ...t,
  });
  let base: BackendContext<EcsTarget>;
  const ctxWith = async (edit: (app: App) => App = (a) => a, t: Partial<EcsTarget> = {}): Promise<BackendContext<EcsTarget>> =>
    withTarget<EcsTarget>(await contextForApp(edit(base.app), { kind: "ecs" }, base.baseDir), target(t));
  const planFor = async (ctx: BackendContext<EcsTarget>, b = backend()): Promise<BackendPlan> => b.plan(ctx, renderFor(b, ctx), {});
  const changed = (p: BackendPlan) => p.actions.filter((a) => a.kind !== "no-op").map((a) => `${a.kind} ${a.resource.kind}/${a.resource.name}`);
  const aws = () => new AwsEcsPort({ ...(base.target as EcsTarget), ...target() } as EcsTarget, { credentials, configureClients: (c) => (clients = c) });

  beforeAll(async () => {
    base = await exampleContext<EcsTarget>(FIXTURE, { kind: "ecs" });
  });
  afterAll(async () => {
    // Leave moto as we found it even when a test failed half-way.
    await backend().destroy({ appName: "shop-ecs", target: { ...(base.target as EcsTarget), ...target() } as EcsTarget }, {}).catch(() => undefined);
    aws();
    await clients!.logs.send(new DeleteLogGroupCommand({ logGroupName: "/sdx/shop-ecs" })).catch(() => undefined);
  });

  it("deploys the shop (ECS variant): cluster, log group, task definitions, services, scaling", async () => {
    const ctx = await ctxWith();
    const b = backend();
    expect(b.check(ctx).diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const plan = await planFor(ctx, b);
    expect(plan.mode).toBe("live");
    expect(plan.summary).toMatchObject({ create: 9, update: 0, delete: 0 });
    expect(plan.actions.find((a) => a.resource.kind === "task-definition" && a.resource.name === "shop-ecs-web")?.reason).toBe("Fargate size 0.5 vCPU / 1 GB (requested 0.5 vCPU / 512 MiB)");
    expect(plan.diagnostics.filter((d) => d.code === "SDX_FARGATE_ROUNDED").map((d) => d.path)).toEqual(["services.web.resources", "services.api.resources"]);
    const events: SdxEvent[] = [];
    const r = await b.apply(ctx, plan, { wait: false, onEvent: (e) => events.push(e) });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe("succeeded");
    expect(r.completed).toHaveLength(9);
    expect(events.filter((e) => e.kind === "action-succeeded")).toHaveLength(9);

    // What the user sees on the backend.
    const p = aws();
    const { services } = await clients!.ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ["web", "api", "worker"], include: ["TAGS"] }));
    // Revision numbers continue across deregistrations (in ECS as in moto), so compare families only.
    expect(services!.map((s) => [s.serviceName, s.desiredCount, s.taskDefinition?.split("/").pop()?.split(":")[0]])).toEqual([["web", 2, "shop-ecs-web"], ["api", 2, "shop-ecs-api"], ["worker", 3, "shop-ecs-worker"]]);
    const worker = services!.find((s) => s.serviceName === "worker")!;
    expect(worker.capacityProviderStrategy).toEqual([{ capacityProvider: "FARGATE", base: 1, weight: 0 }, { capacityProvider: "FARGATE_SPOT", base: 0, weight: 1 }]);
    expect(worker.deploymentConfiguration?.deploymentCircuitBreaker).toEqual({ enable: true, rollback: true });
    expect(Object.fromEntries(worker.tags!.map((t) => [t.key, t.value]))).toMatchObject({ "sdx:app": "shop-ecs", "sdx:service": "worker", "sdx:revision": ctx.revision.services.worker });
    const api = await clients!.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "shop-ecs-api", include: ["TAGS"] }));
    expect(api.taskDefinition).toMatchObject({ cpu: "1024", memory: "2048", networkMode: "awsvpc", requiresCompatibilities: ["FARGATE"], runtimePlatform: { cpuArchitecture: "ARM64" } });
    expect(api.taskDefinition!.containerDefinitions![0]!.secrets).toEqual([{ name: "DB_PASSWORD", valueFrom: "arn:aws:secretsmanager:us-east-1:123456789012:secret:shop/db-password-AbCdEf" }]);
    const st = await clients!.autoscaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: "ecs", ResourceIds: [`service/${CLUSTER}/web`] }));
    expect(st.ScalableTargets!.map((t) => [t.MinCapacity, t.MaxCapacity])).toEqual([[2, 6]]);
    const lg = await clients!.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/sdx/shop-ecs" }));
    expect(lg.logGroups!.map((g) => g.logGroupName)).toEqual(["/sdx/shop-ecs"]);
    p.destroy();
  });

  it("re-plans with no changes, within one Describe per resource kind per service", async () => {
    counts.clear();
    const plan = await planFor(await ctxWith());
    expect(changed(plan)).toEqual([]);
    expect(plan.summary).toMatchObject({ create: 0, update: 0, replace: 0, delete: 0, noop: 9 });
    // 3 services: DescribeTaskDefinition has no batch form, everything else is one batched call. DescribeParameters
    // runs even though this variant stores no secrets: it finds parameters of secrets the app no longer has.
    expect(Object.fromEntries(counts)).toEqual({
      DescribeClusters: 1, DescribeLogGroups: 1, DescribeParameters: 1, ListServices: 1, DescribeServices: 1, DescribeTaskDefinition: 3, DescribeScalableTargets: 1, DescribeScalingPolicies: 1,
    });
  });

  it("an env change registers exactly one new revision and updates one service", async () => {
    const ctx = await ctxWith((a) => ({ ...a, services: a.services.map((s) => (s.name === "web" ? { ...s, env: { ...s.env, LOG_LEVEL: "debug" } } : s)) }));
    const b = backend();
    const plan = await planFor(ctx, b);
    expect(changed(plan)).toEqual(["update task-definition/shop-ecs-web", "update service/web"]);
    expect(plan.actions.find((a) => a.resource.kind === "task-definition" && a.kind === "update")!.changes).toEqual([
      { path: "containerDefinitions[name=web].environment[name=LOG_LEVEL].value", before: "info", after: "debug" },
    ]);
    aws();
    const before = (await clients!.ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ["web"] }))).services![0]!.taskDefinition!;
    const rev = Number(before.split(":").pop());
    counts.clear();
    const r = await b.apply(ctx, plan, { wait: false });
    expect(r.status).toBe("succeeded");
    expect(counts.get("RegisterTaskDefinition")).toBe(1);
    expect(counts.get("UpdateService")).toBe(1);
    const revs = await clients!.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: "shop-ecs-web", status: "ACTIVE" }));
    expect(revs.taskDefinitionArns!.map((a) => a.split("/").pop())).toEqual([`shop-ecs-web:${rev}`, `shop-ecs-web:${rev + 1}`]);
    const { services } = await clients!.ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ["web"] }));
    expect(services![0]!.taskDefinition).toBe(before.replace(/:\d+$/, `:${rev + 1}`));
    expect(changed(await planFor(ctx))).toEqual([]);
  });

  it("scales a service without a new revision", async () => {
    const ctx = await ctxWith((a) => ({
      ...a,
      services: a.services.map((s) => (s.name === "web" ? { ...s, env: { ...s.env, LOG_LEVEL: "debug" } } : s.name === "api" ? { ...s, scale: { kind: "fixed" as const, replicas: 4 } } : s)),
    }));
    const b = backend();
    const plan = await planFor(ctx, b);
    expect(changed(plan)).toEqual(["update service/api"]);
    expect(plan.actions.find((a) => a.kind === "update")!.changes).toContainEqual({ path: "desiredCount", before: 2, after: 4 });
    expect((await b.apply(ctx, plan, { wait: false })).status).toBe("succeeded");
    aws();
    const { services } = await clients!.ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ["api"] }));
    expect(services![0]!.desiredCount).toBe(4);
    expect(changed(await planFor(ctx))).toEqual([]);
    const st = await b.status({ appName: "shop-ecs", target: ctx.target }, {});
    expect(st.services.map((s) => [s.service, s.desired])).toEqual(expect.arrayContaining([["api", 4], ["web", 2], ["worker", 3]]));
  });

  it("retries injected throttling and then succeeds", async () => {
    counts.clear();
    const throttle = () => Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException", $fault: "client", $metadata: { httpStatusCode: 400 } });
    const b = backend({ configureClients: middleware({ command: "DescribeServices", times: 2, error: throttle }) });
    const plan = await planFor(await ctxWith((a) => ({ ...a, services: a.services.map((s) => (s.name === "web" ? { ...s, env: { ...s.env, LOG_LEVEL: "debug" } } : s.name === "api" ? { ...s, scale: { kind: "fixed" as const, replicas: 4 } } : s)) })), b);
    expect(plan.mode).toBe("live");
    expect(counts.get("DescribeServices")).toBe(3);
    // Throttling that outlasts the retry bound surfaces as SDX_BACKEND_THROTTLED.
    const stuck = backend({ configureClients: middleware({ command: "DescribeClusters", times: 99, error: throttle }) });
    await expect(planFor(await ctxWith(), stuck)).rejects.toMatchObject({ code: "SDX_BACKEND_THROTTLED", fault: "backend" });
  });

  it("gives clear errors for bad input", async () => {
    // Unknown cluster.
    await expect(planFor(await ctxWith(undefined, { cluster: `${CLUSTER}-nope`, createCluster: false }))).rejects.toMatchObject({
      code: "SDX_BACKEND_REJECTED", fault: "user", message: `cluster "${CLUSTER}-nope" does not exist in us-east-1`, hint: expect.stringContaining("createCluster: true"),
    });
    // Invalid CPU/memory pair (through an override): the plan names the nearest valid size and deploy would refuse.
    const bad = await ctxWith(undefined, { overrides: [{ match: { kind: "task-definition", name: "shop-ecs-worker" }, patch: { cpu: "256", memory: "4096" } }] });
    const plan = await planFor(bad);
    const d = plan.diagnostics.find((x) => x.code === "SDX_FARGATE_SIZE")!;
    expect(d.severity).toBe("error");
    expect(d.message).toBe("task definition shop-ecs-worker: cpu 256 / memory 4096 MiB is not a valid Fargate size; the nearest valid size is cpu 512 / memory 4096 MiB (0.5 vCPU / 4 GB)");
    // Missing subnets: check() blocks; a subnet that does not exist is rejected by the API with its id.
    expect(backend().check(await ctxWith(undefined, { subnets: [] })).diagnostics.find((x) => x.code === "SDX_ECS_SUBNETS")?.severity).toBe("error");
    const ghost = await ctxWith(undefined, { cluster: `${CLUSTER}-ghost`, subnets: ["subnet-does-not-exist"] });
    const gb = backend();
    const r = await gb.apply(ghost, await planFor(ghost, gb), { wait: false });
    expect(r.status).toBe("failed");
    expect(r.error).toMatchObject({ code: "SDX_BACKEND_REJECTED", fault: "user" });
    expect(r.error!.message).toContain("subnet-does-not-exist");
    expect(r.remaining.length).toBeGreaterThan(0);
    await gb.destroy({ appName: "shop-ecs", target: ghost.target }, {});
    // A secret that is not an ARN.
    const notArn = await ctxWith((a) => ({ ...a, services: a.services.map((s) => (s.name === "worker" ? { ...s, secrets: [{ name: "queue-token", source: { kind: "aws-secrets-manager" as const, arn: "shop/queue-token" }, asEnv: "QUEUE_TOKEN" }] } : s)) }));
    expect(backend().check(notArn).diagnostics.find((x) => x.code === "SDX_ECS_SECRET_ARN")?.message).toBe('secret "queue-token": "shop/queue-token" is not a Secrets Manager or SSM parameter ARN');
    // A Kubernetes Secret is something ECS cannot read (env/file secrets are stored in SSM: see the shop suite below).
    const k8s = await ctxWith((a) => ({ ...a, services: a.services.map((s) => (s.name === "worker" ? { ...s, secrets: [{ name: "queue-token", source: { kind: "kubernetes-secret" as const, name: "shop", key: "token" }, asEnv: "QUEUE_TOKEN" }] } : s)) }));
    expect(backend().check(k8s).diagnostics.filter((x) => x.severity === "error").map((x) => x.code)).toEqual(["SDX_ECS_SECRET_SOURCE"]);
  });

  it("fails fast on missing or expired credentials and an unreachable endpoint", async () => {
    const ctx = await ctxWith();
    // No credentials anywhere (no AWS_* variables, no ~/.aws, metadata service not consulted).
    const noCreds = new EcsBackend({ env: {} });
    let t = Date.now();
    await expect(planFor(ctx, noCreds)).rejects.toMatchObject({ code: "SDX_BACKEND_AUTH", fault: "user", hint: expect.stringContaining("AWS_PROFILE") });
    expect(Date.now() - t).toBeLessThan(3000);
    const expired = () => Object.assign(new Error("The security token included in the request is expired"), { name: "ExpiredTokenException", $fault: "client", $metadata: { httpStatusCode: 400 } });
    await expect(planFor(ctx, backend({ configureClients: middleware({ command: "DescribeClusters", times: 1, error: expired }) }))).rejects.toMatchObject({ code: "SDX_BACKEND_AUTH" });
    t = Date.now();
    await expect(planFor(await ctxWith(undefined, { endpoint: "http://127.0.0.1:9" }))).rejects.toMatchObject({ code: "SDX_BACKEND_UNREACHABLE" });
    expect(Date.now() - t).toBeLessThan(3000);
  });

  it("destroys everything it created and nothing else", async () => {
    const ctx = await ctxWith();
    const r = await backend().destroy({ appName: "shop-ecs", target: ctx.target }, {});
    expect(r.failed).toEqual([]);
    expect(r.deleted.map((d) => `${d.kind}/${d.name}`).sort()).toEqual([
      "cluster/" + CLUSTER, "scaling/web", "service/api", "service/web", "service/worker",
      "task-definition/shop-ecs-api", "task-definition/shop-ecs-web", "task-definition/shop-ecs-worker",
    ]);
    aws();
    const revs = await clients!.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: "shop-ecs-", status: "ACTIVE" }));
    expect(revs.taskDefinitionArns).toEqual([]);
    // The log group stays: logs outlive the app, and other clusters running the same app share it.
    const lg = await clients!.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/sdx/shop-ecs" }));
    expect(lg.logGroups!.map((g) => g.logGroupName)).toEqual(["/sdx/shop-ecs"]);
    const st = await backend().status({ appName: "shop-ecs", target: ctx.target }, {});
    expect(st.services).toEqual([]);
  });
});

// The plain examples/shop, whose secrets come from environment variables and a file: sdx stores
// them in SSM Parameter Store (SecureString) and the task definitions reference the parameters.
describe.skipIf(!te.env)("ECS backend against moto: examples/shop with env/file secrets", () => {
  // Read lazily-safe: without a backend the suite is skipped, not crashed.
  const env = te.env ?? {};
  const credentials = { accessKeyId: env.SDX_ECS_ACCESS_KEY_ID!, secretAccessKey: env.SDX_ECS_SECRET_ACCESS_KEY! };
  const cluster = `${CLUSTER}-shop`;
  const names = ["api/db-password", "api/payments-key", "worker/queue-token"].map((n) => `/sdx/shop/${cluster}/${n}`);
  const paymentsKey = readFileSync(resolve(REPO_ROOT, "examples/shop/secrets/payments-key"), "utf8");
  const counts = new Map<string, number>();
  const backend = () => new EcsBackend({ credentials, configureClients: counting(counts), retryBaseDelayMs: 10 });
  const t: Partial<EcsTarget> = {
    endpoint: env.SDX_ECS_ENDPOINT, region: env.SDX_ECS_REGION, subnets: [env.SDX_ECS_SUBNET!], securityGroups: [env.SDX_ECS_SECURITY_GROUP!], cluster, createCluster: true,
  };
  const shop = async (secretEnv: Record<string, string> = EXAMPLE_SECRET_ENV, edit: (a: App) => App = (a) => a): Promise<BackendContext<EcsTarget>> => {
    const loaded = await exampleContext<EcsTarget>("shop", { kind: "ecs" }, secretEnv);
    return withTarget<EcsTarget>(await contextForApp(edit(loaded.app), { kind: "ecs" }, loaded.baseDir, secretEnv), t);
  };
  const planFor = async (ctx: BackendContext<EcsTarget>, b = backend()): Promise<BackendPlan> => b.plan(ctx, renderFor(b, ctx), {});
  const changed = (p: BackendPlan) => p.actions.filter((a) => a.kind !== "no-op").map((a) => `${a.kind} ${a.resource.kind}/${a.resource.name}`);
  let clients: AwsClients;
  let port: AwsEcsPort;
  /** What moto holds: values decrypted (the test may; sdx never reads them back) and the sdx tags. */
  const stored = async () => {
    const r = await clients.ssm.send(new GetParametersCommand({ Names: names, WithDecryption: true }));
    return Object.fromEntries((r.Parameters ?? []).map((p) => [p.Name!.split("/").slice(-2).join("/"), { type: p.Type, value: p.Value, version: p.Version }]));
  };
  const tagsOf = async (name: string) =>
    Object.fromEntries(((await clients.ssm.send(new ListTagsForResourceCommand({ ResourceType: "Parameter", ResourceId: name }))).TagList ?? []).map((x) => [x.Key, x.Value]));
  const taskDef = async (family: string) => (await clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: family }))).taskDefinition!;

  beforeAll(() => {
    port = new AwsEcsPort({ kind: "ecs", name: "ecs", ...t } as EcsTarget, { credentials, configureClients: (c) => (clients = c) });
  });
  afterAll(async () => {
    await backend().destroy({ appName: "shop", target: { kind: "ecs", name: "ecs", ...t } as EcsTarget }, {}).catch(() => undefined);
    await clients.logs.send(new DeleteLogGroupCommand({ logGroupName: "/sdx/shop" })).catch(() => undefined);
    port.destroy();
  });

  it("deploys: the values are in SecureString parameters and the task definitions reference them", async () => {
    const ctx = await shop();
    const b = backend();
    expect(b.check(ctx).diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const plan = await planFor(ctx, b);
    expect(plan.actions.filter((a) => a.resource.kind === "ssm-parameter").map((a) => `${a.kind} ${a.resource.name}`)).toEqual(names.map((n) => `create ${n}`));
    const events: SdxEvent[] = [];
    const r = await b.apply(ctx, plan, { wait: false, onEvent: (e) => events.push(e) });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe("succeeded");
    expect(await stored()).toEqual({
      "api/db-password": { type: "SecureString", value: EXAMPLE_SECRET_ENV.SHOP_DB_PASSWORD, version: 1 },
      "api/payments-key": { type: "SecureString", value: paymentsKey, version: 1 },
      "worker/queue-token": { type: "SecureString", value: EXAMPLE_SECRET_ENV.SHOP_QUEUE_TOKEN, version: 1 },
    });
    expect(await tagsOf(names[0]!)).toMatchObject({ "sdx:app": "shop", "sdx:service": "api", "sdx:revision": ctx.revision.services.api, "sdx:digest": ctx.secrets.get("api/db-password")!.digest });
    const api = await taskDef("shop-api");
    expect(api.containerDefinitions!.find((c) => c.name === "api")!.secrets).toEqual([{ name: "DB_PASSWORD", valueFrom: names[0] }]);
    expect(api.containerDefinitions!.find((c) => c.name === "sdx-init")!.secrets).toEqual([{ name: "SDX_SECRET_1", valueFrom: names[1] }]);
    expect((await taskDef("shop-worker")).containerDefinitions![0]!.secrets).toEqual([{ name: "QUEUE_TOKEN", valueFrom: names[2] }]);
    // Values reach AWS and nothing else: not the plan, not the events, not the result.
    for (const v of [...Object.values(EXAMPLE_SECRET_ENV), paymentsKey.trim()]) expect(JSON.stringify([plan, events, r])).not.toContain(v);
  });

  it("re-plans with no changes, reading parameter metadata and tags only", async () => {
    counts.clear();
    const plan = await planFor(await shop());
    expect(changed(plan)).toEqual([]);
    // 14 requests: one per resource kind (batched), one DescribeTaskDefinition per service (no batch API; 4 services),
    // plus one ListTagsForResource per stored secret (SSM has no batch tag read).
    expect(Object.fromEntries(counts)).toEqual({
      DescribeClusters: 1, DescribeLogGroups: 1, DescribeParameters: 1, ListTagsForResource: 3, ListServices: 1, DescribeServices: 1, DescribeTaskDefinition: 4, DescribeScalableTargets: 1, DescribeScalingPolicies: 1,
    });
  });

  it("a changed secret value updates its parameter and rolls only its service", async () => {
    const ctx = await shop({ ...EXAMPLE_SECRET_ENV, SHOP_DB_PASSWORD: "rotated-db-password" });
    const b = backend();
    const plan = await planFor(ctx, b);
    expect(changed(plan)).toEqual([`update ssm-parameter/${names[0]}`, "update task-definition/shop-api", "update service/api"]);
    expect(plan.actions.find((a) => a.resource.kind === "ssm-parameter" && a.kind === "update")!.changes).toEqual([
      { path: "digest", before: (await shop()).secrets.get("api/db-password")!.digest, after: ctx.secrets.get("api/db-password")!.digest },
    ]);
    expect(JSON.stringify(plan)).not.toContain("rotated-db-password");
    const before = Number((await taskDef("shop-api")).revision);
    counts.clear();
    const r = await b.apply(ctx, plan, { wait: false });
    expect(r.status).toBe("succeeded");
    expect([counts.get("PutParameter"), counts.get("AddTagsToResource"), counts.get("RegisterTaskDefinition"), counts.get("UpdateService")]).toEqual([1, 1, 1, 1]);
    expect(await stored()).toMatchObject({ "api/db-password": { value: "rotated-db-password", version: 2 }, "api/payments-key": { version: 1 }, "worker/queue-token": { version: 1 } });
    const api = await taskDef("shop-api");
    expect(api.revision).toBe(before + 1);
    expect(api.containerDefinitions![0]!.dockerLabels).toMatchObject({ "sdx.dev/secret-digest.db-password": ctx.secrets.get("api/db-password")!.digest });
    expect(changed(await planFor(ctx))).toEqual([]);
  });

  it("keeps the parameter of a removed secret until a waited rollout has gone through", async () => {
    const env2 = { ...EXAMPLE_SECRET_ENV, SHOP_DB_PASSWORD: "rotated-db-password" };
    const ctx = await shop(env2, (a) => ({ ...a, services: a.services.map((s) => (s.name === "worker" ? { ...s, secrets: [] } : s)) }));
    const b = backend();
    const plan = await planFor(ctx, b);
    expect(changed(plan)).toEqual(["update task-definition/shop-worker", "update service/worker", `delete ssm-parameter/${names[2]}`]);
    // Without a wait the parameter stays: the previous task definition (a rollback target) still reads it.
    const kept = await b.apply(ctx, plan, { wait: false });
    expect(kept.status).toBe("succeeded");
    expect(Object.keys(await stored()).sort()).toEqual(["api/db-password", "api/payments-key", "worker/queue-token"]);
    // moto has no scheduler, so no rollout converges here: a waited deploy's collection of
    // the parameter is proven by the fault-injection suite (test/ecs-faults.spec.ts). The
    // re-plan still wants it gone, and only it.
    expect(changed(await planFor(ctx))).toEqual([`delete ssm-parameter/${names[2]}`]);
  });

  it("destroy removes the app's parameters", async () => {
    const r = await backend().destroy({ appName: "shop", target: (await shop()).target }, {});
    expect(r.failed).toEqual([]);
    expect(r.deleted.filter((d) => d.kind === "ssm-parameter").map((d) => d.name).sort()).toEqual([...names].sort());
    expect(await stored()).toEqual({});
  });
});
