import { describe, expect, it } from "vitest";
import { loadApp, plan, type App } from "@sdx/sdk";
import { createSdxContainer } from "@sdx/sdk/di";
import { EXAMPLE_SECRET_ENV, builtinTargetKinds, exampleFile } from "@sdx/sdk/testing";
import { k8sModule } from "./k8s-module.js";

/** examples/shop with its Kubernetes target only: the container under test knows no other kind. */
async function shopOnKubernetes(): Promise<{ app: App; baseDir: string }> {
  const loaded = await loadApp(exampleFile("shop"), { env: EXAMPLE_SECRET_ENV, targetKinds: await builtinTargetKinds() });
  return { app: { ...loaded.app!, targets: loaded.app!.targets.filter((t) => t.kind === "kubernetes") }, baseDir: loaded.baseDir };
}

describe("k8sModule", () => {
  it("registers the backend: a container with only this module plans the shop offline", async () => {
    const container = createSdxContainer({ builtins: false, modules: [k8sModule()], runtime: { env: EXAMPLE_SECRET_ENV } });
    const { app, baseDir } = await shopOnKubernetes();
    const p = await plan(app, { container, baseDir, offline: true });
    expect(p.plans.map((t) => [t.target, t.backend, t.displayName])).toEqual([["k8s", "kubernetes", "Kubernetes"]]);
    const actions = p.plans[0]!.plan.actions;
    expect(actions.every((a) => a.kind === "create")).toBe(true);
    expect(actions.filter((a) => a.resource.kind === "Deployment").map((a) => a.resource.name).sort()).toEqual(["api", "quotes", "web", "worker", "worker-on-demand"]);
  });
});
