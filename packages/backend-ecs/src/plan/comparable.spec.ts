import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT, exampleContext } from "@sdx/sdk/testing";
import { diffValues, type BackendContext } from "@sdx/sdk";
import type { EcsTarget } from "../ecs-target.js";
import { comparableService, comparableTaskDefinition } from "./comparable.js";
import { renderService, renderTaskDefinition } from "../render/render-ecs.js";

const FIXTURE = resolve(REPO_ROOT, "packages/backend-ecs/test/fixtures/shop-ecs/sdx.yaml");

describe("comparable projections", () => {
  it("treat a task definition as ECS echoes it back as unchanged", async () => {
    const ctx = (await exampleContext<EcsTarget>(FIXTURE, { kind: "ecs" })) as BackendContext<EcsTarget>;
    const desired = renderTaskDefinition(ctx, ctx.app.services.find((s) => s.name === "web")!) as Record<string, any>;
    // What DescribeTaskDefinition returns: server fields, cpu 0, hostPort filled in for awsvpc, empty lists, no tags.
    const echoed = {
      ...desired,
      taskDefinitionArn: "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-ecs-web:3", revision: 3, status: "ACTIVE", compatibilities: ["EC2", "FARGATE"],
      registeredAt: new Date(0), requiresAttributes: [{ name: "com.amazonaws.ecs.capability.logging-driver.awslogs" }], placementConstraints: [],
      containerDefinitions: desired.containerDefinitions.map((c: Record<string, any>) => ({
        ...c, cpu: 0, volumesFrom: [], systemControls: [], secrets: c.secrets.length ? c.secrets : undefined,
        portMappings: c.portMappings?.map((p: Record<string, unknown>) => ({ ...p, hostPort: p.containerPort })),
      })).reverse(),
      tags: undefined,
    };
    expect(diffValues(comparableTaskDefinition(echoed, desired), comparableTaskDefinition(desired), "")).toEqual([]);
    // ECS echoes an empty label map for containers without labels.
    const labelled = { ...echoed, containerDefinitions: echoed.containerDefinitions.map((c: Record<string, unknown>) => ({ ...c, dockerLabels: {} })) };
    expect(diffValues(comparableTaskDefinition(labelled, desired), comparableTaskDefinition(desired), "")).toEqual([]);
    const changed = { ...echoed, memory: "2048" };
    expect(diffValues(comparableTaskDefinition(changed, desired), comparableTaskDefinition(desired), "")).toEqual([{ path: "memory", before: "2048", after: "1024" }]);
  });

  it("see a changed secret digest label as a task-definition change", async () => {
    const ctx = (await exampleContext<EcsTarget>("shop", { kind: "ecs" })) as BackendContext<EcsTarget>;
    const api = ctx.app.services.find((s) => s.name === "api")!;
    const desired = renderTaskDefinition(ctx, api) as Record<string, any>;
    const old = { ...desired, containerDefinitions: desired.containerDefinitions.map((c: Record<string, any>) => (c.dockerLabels ? { ...c, dockerLabels: { ...c.dockerLabels, "sdx.dev/secret-digest.db-password": "0000000000000000" } } : c)) };
    expect(diffValues(comparableTaskDefinition(old, desired), comparableTaskDefinition(desired), "")).toEqual([
      { path: 'containerDefinitions[name=api].dockerLabels["sdx.dev/secret-digest.db-password"]', before: "0000000000000000", after: ctx.secrets.get("api/db-password")!.digest },
    ]);
  });

  it("leave an autoscaled service's desiredCount to the scaler and fill ECS defaults", async () => {
    const ctx = (await exampleContext<EcsTarget>(FIXTURE, { kind: "ecs" })) as BackendContext<EcsTarget>;
    const desired = renderService(ctx, ctx.app.services.find((s) => s.name === "web")!);
    const live = {
      ...desired, desiredCount: 5, serviceArn: "arn:x", status: "ACTIVE", runningCount: 5, launchType: undefined, deployments: [], events: [],
      taskDefinition: "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-ecs-web:9",
      tags: [...(desired.tags as object[]), { key: "aws:ecs:clusterName", value: "shop-ecs" }, { key: "team", value: "x" }],
    };
    expect(diffValues(comparableService(live, "shop-ecs", true, desired), comparableService(desired, "shop-ecs", true), "")).toEqual([]);
    expect(diffValues(comparableService(live, "shop-ecs", false, desired), comparableService(desired, "shop-ecs", false), "")).toEqual([{ path: "desiredCount", before: 5, after: 2 }]);
  });
});
