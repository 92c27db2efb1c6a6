import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { App, BackendContext, Service } from "@sdx/sdk";
import { exampleContext } from "@sdx/sdk/testing";
import { checkEcs } from "../check-ecs.js";
import type { EcsTarget } from "../ecs-target.js";
import { renderService } from "./render-ecs.js";

// The stop-first default in the ECS service's deploymentConfiguration; the
// arithmetic of rolling updates is in render-ecs.spec.ts.
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const img = `registry.test/x@sha256:${"8".repeat(64)}`;
const DATA = "volumes: [{ name: data, path: /data, kind: persistent }]";

async function context(services: string): Promise<BackendContext<EcsTarget>> {
  const dir = mkdtempSync(join(tmpdir(), "sdx-ecs-deploy-config-"));
  dirs.push(dir);
  writeFileSync(join(dir, "sdx.yaml"), `name: store\nservices:\n${services}\ntargets:\n  ecs:\n    kind: ecs\n    region: us-east-1\n    cluster: store\n    subnets: [subnet-0a1b2c3d]\n    securityGroups: [sg-0a1b2c3d]\n`);
  return exampleContext<EcsTarget>(join(dir, "sdx.yaml"), { kind: "ecs" }, {});
}

/** The app wrote `strategy: rolling` itself (validation's `strategyGiven`). */
const givenStrategy = (ctx: BackendContext<EcsTarget>, name: string): BackendContext<EcsTarget> => ({
  ...ctx,
  app: { ...ctx.app, services: ctx.app.services.map((s) => (s.name === name ? { ...s, rollout: { ...s.rollout, strategyGiven: true } as Service["rollout"] } : s)) } as App,
});

const deploymentConfiguration = (ctx: BackendContext<EcsTarget>, name: string): unknown =>
  renderService(ctx, ctx.app.services.find((s) => s.name === name)!).deploymentConfiguration;

describe("ECS deploymentConfiguration", () => {
  it("stops the one task with a persistent volume before starting its replacement, keeping the circuit breaker's rollback", async () => {
    const ctx = await context([
      `  db:\n    image: "${img}"\n    replicas: 1\n    ${DATA}`,
      `  search:\n    image: "${img}"\n    autoscale: { min: 1, max: 1 }\n    ${DATA}\n    rollout: { autoRollback: false }`,
    ].join("\n"));
    expect(deploymentConfiguration(ctx, "db")).toEqual({ deploymentCircuitBreaker: { enable: true, rollback: true }, maximumPercent: 100, minimumHealthyPercent: 0 });
    expect(deploymentConfiguration(ctx, "search")).toEqual({ deploymentCircuitBreaker: { enable: true, rollback: false }, maximumPercent: 100, minimumHealthyPercent: 0 });
  });

  it("starts first for several tasks, for one task without a persistent volume, and for a surge the app asked for", async () => {
    const ctx = await context([
      `  shared:\n    image: "${img}"\n    replicas: 2\n    ${DATA}`,
      `  web:\n    image: "${img}"\n    replicas: 1`,
      `  db:\n    image: "${img}"\n    ${DATA}\n    rollout: { strategy: rolling, maxSurge: 1 }`,
    ].join("\n"));
    expect(deploymentConfiguration(ctx, "shared")).toMatchObject({ maximumPercent: 150, minimumHealthyPercent: 100 });
    expect(deploymentConfiguration(ctx, "web")).toMatchObject({ maximumPercent: 200, minimumHealthyPercent: 100 });
    expect(deploymentConfiguration(givenStrategy(ctx, "db"), "db")).toMatchObject({ maximumPercent: 200, minimumHealthyPercent: 100 });
  });

  it("reports the stop-first default with its reason, and warns when the app asks for a second task on the volume", async () => {
    const ctx = await context([
      `  db:\n    image: "${img}"\n    ${DATA}`,
      `  legacy:\n    image: "${img}"\n    ${DATA}\n    rollout: { strategy: rolling, maxSurge: 1 }`,
    ].join("\n"));
    const { diagnostics, fidelity } = checkEcs(givenStrategy(ctx, "legacy"));
    expect(fidelity.filter((f) => f.field.startsWith("rollout"))).toEqual([{
      service: "db", field: "rollout", level: "exact",
      note: "one replica with a persistent volume: stop-first (recreate) so two processes never share the volume (minimumHealthyPercent 0 / maximumPercent 100); set strategy: rolling with maxSurge: 1 to start the new one first",
    }]);
    expect(diagnostics.filter((d) => d.path.endsWith(".rollout"))).toEqual([
      expect.objectContaining({ code: "SDX_ROLLOUT_SHARED_VOLUME", severity: "warning", target: "ecs", path: "services.legacy.rollout" }),
    ]);
  });
});
