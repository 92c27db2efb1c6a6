import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { EXAMPLE_SECRET_ENV, REPO_ROOT, exampleContext, renderFor, withTarget } from "@sdx/sdk/testing";
import { isRedacted, revealDeep, type Service } from "@sdx/sdk";
import type { EcsTarget } from "../ecs-target.js";
import { EcsBackend } from "../ecs-backend.js";
import { capacityStrategy, deploymentConfiguration, healthCommand } from "./render-ecs.js";
import { isValidFargateSize, nearestFargateSize, roundUpFargate } from "./fargate-size.js";

const backend = new EcsBackend();
const FIXTURE = resolve(REPO_ROOT, "packages/backend-ecs/test/fixtures/shop-ecs/sdx.yaml");

// Goldens, determinism and ownership tags of every example app: test/conformance.spec.ts.
describe("task definitions", () => {
  it("rounds cpu/memory up to a valid Fargate size", async () => {
    const ctx = await exampleContext<EcsTarget>("shop", { kind: "ecs" });
    const tds = Object.fromEntries(backend.render(ctx).filter((r) => r.kind === "task-definition").map((r) => [r.service, r.body as Record<string, unknown>]));
    // web 500m/512Mi -> 0.5 vCPU / 1 GB; api 1/1Gi -> 1 vCPU / 2 GB; worker 500m/1Gi -> 0.5 vCPU / 1 GB
    expect([tds.web?.cpu, tds.web?.memory]).toEqual(["512", "1024"]);
    expect([tds.api?.cpu, tds.api?.memory]).toEqual(["1024", "2048"]);
    expect([tds.worker?.cpu, tds.worker?.memory]).toEqual(["512", "1024"]);
    for (const t of Object.values(tds) as Record<string, unknown>[]) expect(isValidFargateSize(Number(t.cpu), Number(t.memory))).toBe(true);
  });

  it("knows the Fargate table", () => {
    expect(roundUpFargate(250, 256)).toEqual({ cpuUnits: 256, memoryMiB: 512 });
    expect(roundUpFargate(250, 3000)).toEqual({ cpuUnits: 512, memoryMiB: 3072 });
    expect(roundUpFargate(8000, 17 * 1024)).toEqual({ cpuUnits: 8192, memoryMiB: 20 * 1024 });
    expect(roundUpFargate(16000, 121 * 1024)).toBeUndefined();
    expect(isValidFargateSize(256, 4096)).toBe(false);
    expect(nearestFargateSize(256, 4096)).toEqual({ cpuUnits: 512, memoryMiB: 4096 });
    expect(nearestFargateSize(99999, 1)).toEqual({ cpuUnits: 16384, memoryMiB: 120 * 1024 });
  });

  it("uses ARM64 when the service asks for it, and secrets as valueFrom", async () => {
    const ctx = await exampleContext<EcsTarget>(FIXTURE, { kind: "ecs" });
    const api = backend.render(ctx).find((r) => r.kind === "task-definition" && r.service === "api")!.body as Record<string, any>;
    expect(api.runtimePlatform).toEqual({ cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX" });
    expect(api.executionRoleArn).toMatch(/^arn:aws:iam::/);
    expect(api.containerDefinitions[0].secrets).toEqual([{ name: "DB_PASSWORD", valueFrom: expect.stringMatching(/^arn:aws:secretsmanager:/) }]);
    // The file secret is written by the init container into a volume at its directory.
    const init = api.containerDefinitions.find((c: { name: string }) => c.name === "sdx-init");
    expect(init.secrets[0].valueFrom).toMatch(/^arn:aws:ssm:/);
    expect(init.command[0]).toContain("/run/secrets/payments-key");
    expect(api.containerDefinitions[0].dependsOn).toEqual([{ containerName: "sdx-init", condition: "SUCCESS" }]);
  });

  it("stores env/file secrets in SSM SecureString parameters that the containers reference by name", async () => {
    const ctx = await exampleContext<EcsTarget>("shop", { kind: "ecs" });
    const rs = backend.render(ctx);
    const params = rs.filter((r) => r.kind === "ssm-parameter");
    expect(params.map((r) => [r.name, r.service])).toEqual([
      ["/sdx/shop/shop/api/db-password", "api"], ["/sdx/shop/shop/api/payments-key", "api"], ["/sdx/shop/shop/worker/queue-token", "worker"],
    ]);
    const db = params[0]!.body as Record<string, any>;
    expect(db).toMatchObject({ Name: "/sdx/shop/shop/api/db-password", Type: "SecureString", Tier: "Standard", Description: expect.stringContaining("Managed by sdx") });
    // The value stays Redacted in the render; only the port reveals it.
    expect(isRedacted(db.Value)).toBe(true);
    expect(revealDeep(db.Value)).toBe(EXAMPLE_SECRET_ENV.SHOP_DB_PASSWORD);
    const digest = ctx.secrets.get("api/db-password")!.digest;
    expect(Object.fromEntries((db.Tags as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value]))).toMatchObject({
      "sdx:app": "shop", "sdx:service": "api", "sdx:revision": ctx.revision.services.api, "sdx:digest": digest, "sdx.dev/app": "shop",
    });
    // Apply order: parameters before the task definitions that reference them.
    expect(rs.findIndex((r) => r.kind === "ssm-parameter")).toBeLessThan(rs.findIndex((r) => r.kind === "task-definition" && r.service === "api"));
    const api = rs.find((r) => r.kind === "task-definition" && r.service === "api")!.body as Record<string, any>;
    expect(api.containerDefinitions[0].secrets).toEqual([{ name: "DB_PASSWORD", valueFrom: "/sdx/shop/shop/api/db-password" }]);
    expect(api.containerDefinitions[1].secrets).toEqual([{ name: "SDX_SECRET_1", valueFrom: "/sdx/shop/shop/api/payments-key" }]);
    expect(api.containerDefinitions[0].dockerLabels).toEqual({ "sdx.dev/secret-digest.db-password": digest, "sdx.dev/secret-digest.payments-key": ctx.secrets.get("api/payments-key")!.digest });
    // No sdx-stored secrets, no labels.
    expect((rs.find((r) => r.kind === "task-definition" && r.service === "web")!.body as Record<string, any>).containerDefinitions[0].dockerLabels).toBeUndefined();
  });

  it("changes only the digest tag and label of the secret whose value changed", async () => {
    const before = renderFor(backend, await exampleContext<EcsTarget>("shop", { kind: "ecs" }));
    const after = renderFor(backend, await exampleContext<EcsTarget>("shop", { kind: "ecs" }, { ...EXAMPLE_SECRET_ENV, SHOP_DB_PASSWORD: "rotated-password" }));
    const changed = before.filter((r, i) => JSON.stringify(r) !== JSON.stringify(after[i])).map((r) => `${r.kind}/${r.name}`);
    // payments-key and the api service differ only by their sdx:revision tag (plans compare the digest, not
    // the revision, for parameters); web and worker do not change at all.
    expect(changed).toEqual(["ssm-parameter//sdx/shop/shop/api/db-password", "ssm-parameter//sdx/shop/shop/api/payments-key", "task-definition/shop-api", "service/api"]);
    expect(JSON.stringify(after)).not.toContain("rotated-password");
  });

  it("turns http and tcp probes into command checks", () => {
    const t = { intervalSeconds: 10, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 0 };
    expect(healthCommand({ ...t, probe: { kind: "exec", command: ["true"] } })).toEqual(["CMD", "true"]);
    expect(healthCommand({ ...t, probe: { kind: "tcp", port: 9090 } })).toEqual(["CMD-SHELL", "nc -z 127.0.0.1 9090 || exit 1"]);
    expect(healthCommand({ ...t, probe: { kind: "http", path: "/healthz", port: 8080 } })[1]).toContain("http://127.0.0.1:8080/healthz");
  });
});

describe("services", () => {
  const svc = (spot: "never" | "prefer" | "only", minOnDemand = 0) => ({ placement: { spot, minOnDemand, arch: "amd64", constraints: {} } }) as unknown as Service;
  it("maps spot policies to capacity provider strategies", () => {
    expect(capacityStrategy(svc("never"))).toEqual([{ capacityProvider: "FARGATE", base: 0, weight: 1 }]);
    expect(capacityStrategy(svc("only"))).toEqual([{ capacityProvider: "FARGATE_SPOT", base: 0, weight: 1 }]);
    expect(capacityStrategy(svc("prefer", 1))).toEqual([
      { capacityProvider: "FARGATE", base: 1, weight: 0 },
      { capacityProvider: "FARGATE_SPOT", base: 0, weight: 1 },
    ]);
  });

  it("derives deployment percentages from the rollout", () => {
    expect(deploymentConfiguration({ strategy: "rolling", maxSurge: 1, maxUnavailable: 0, autoRollback: true, timeoutSeconds: 60 }, 2))
      .toEqual({ deploymentCircuitBreaker: { enable: true, rollback: true }, maximumPercent: 150, minimumHealthyPercent: 100 });
    expect(deploymentConfiguration({ strategy: "rolling", maxSurge: "25%", maxUnavailable: "50%", autoRollback: false, timeoutSeconds: 60 }, 4))
      .toEqual({ deploymentCircuitBreaker: { enable: true, rollback: false }, maximumPercent: 125, minimumHealthyPercent: 50 });
    expect(deploymentConfiguration({ strategy: "recreate", maxSurge: 1, maxUnavailable: 0, autoRollback: true, timeoutSeconds: 60 }, 3))
      .toMatchObject({ maximumPercent: 100, minimumHealthyPercent: 0 });
  });

  it("attaches a target group and renders autoscaling", async () => {
    const ctx = await exampleContext<EcsTarget>("shop", { kind: "ecs" });
    const withTg = withTarget<EcsTarget>(ctx, { targetGroups: { web: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/abc" } });
    const rs = backend.render(withTg);
    const web = rs.find((r) => r.kind === "service" && r.name === "web")!.body as Record<string, any>;
    expect(web.loadBalancers).toEqual([{ targetGroupArn: expect.stringContaining("targetgroup/web"), containerName: "web", containerPort: 8080 }]);
    expect(web.desiredCount).toBe(2);
    const scaling = rs.find((r) => r.kind === "scaling")!.body as Record<string, any>;
    expect(scaling).toMatchObject({ resourceId: "service/shop/web", minCapacity: 2, maxCapacity: 6 });
    expect(scaling.policy.targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType).toBe("ECSServiceAverageCPUUtilization");
    const tags = Object.fromEntries((web.tags as { key: string; value: string }[]).map((t) => [t.key, t.value]));
    expect(tags).toMatchObject({ "sdx:app": "shop", "sdx:service": "web", "sdx:revision": ctx.revision.services.web, "sdx.dev/app": "shop" });
  });
});
