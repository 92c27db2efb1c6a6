import { describe, expect, it } from "vitest";
import { loadApp, plan, type App } from "@sdx/sdk";
import { createSdxContainer } from "@sdx/sdk/di";
import { EXAMPLE_SECRET_ENV, builtinTargetKinds, exampleFile } from "@sdx/sdk/testing";
import { ecsModule } from "./ecs-module.js";

/** examples/shop with its ECS target only: the container under test knows no other kind. */
async function shopOnEcs(): Promise<{ app: App; baseDir: string }> {
  const loaded = await loadApp(exampleFile("shop"), { env: EXAMPLE_SECRET_ENV, targetKinds: await builtinTargetKinds() });
  return { app: { ...loaded.app!, targets: loaded.app!.targets.filter((t) => t.kind === "ecs") }, baseDir: loaded.baseDir };
}

describe("ecsModule", () => {
  it("registers the backend: a container with only this module plans the shop offline", async () => {
    const container = createSdxContainer({ builtins: false, modules: [ecsModule()], runtime: { env: EXAMPLE_SECRET_ENV } });
    const { app, baseDir } = await shopOnEcs();
    const p = await plan(app, { container, baseDir, offline: true });
    expect(p.plans.map((t) => [t.target, t.backend, t.displayName])).toEqual([["ecs", "ecs", "AWS ECS (Fargate)"]]);
    const actions = p.plans[0]!.plan.actions;
    expect(actions.every((a) => a.kind === "create")).toBe(true);
    expect(actions.filter((a) => a.resource.kind === "service").map((a) => a.resource.name).sort()).toEqual(["api", "quotes", "web", "worker"]);
  });
});
