import { ContainerModule } from "inversify";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { Backend, Billables, TargetKindSpec } from "../backend/backend.js";
import { BackendRegistry } from "../backend/backend-registry.js";
import { defineTargetKind } from "../backend/define-target-kind.js";
import { builtinBackendProviders } from "../di/builtin-providers.js";
import { createSdxContainer } from "../di/create-sdx-container.js";
import { TOKENS, type BackendProvider } from "../di/tokens.js";
import type { App, Target } from "../model/app.js";
import type { CostEstimator, EstimateOptions } from "../pricing/pricing-contract.js";
import { EXAMPLE_SECRET_ENV, exampleFile } from "../testing/testing.js";
import { plan } from "./plan.js";
import { resolveBillables } from "./cost-models.js";

const lb: Billables = { items: [{ kind: "load-balancer", service: "web", flavour: "network", count: 1, capacityUnits: 1, basis: "default" }], unpriced: [] };
const app = { name: "a", labels: {}, services: [], targets: [] } as App;
const target = (kind: string, name = kind): Target => ({ name, kind, overrides: [] });

/** A kind whose spec may declare billables, and whose backend may (or may fail to load). */
function provider(kind: string, o: { spec?: TargetKindSpec["billables"]; backend?: Backend["billables"] | "fails"; costModel?: boolean }): BackendProvider & { loads: number } {
  const spec = defineTargetKind({
    kind, settings: z.strictObject({}), normalize: (_s, common) => ({ ok: true, target: common }),
    ...(o.spec ? { billables: o.spec } : {}), ...(o.costModel ? { costModel: () => ({ kind: "flat", monthlyUsd: 5, description: "a box" }) } : {}),
  });
  const p = {
    kind, loads: 0,
    loadTarget: () => spec,
    load: () => {
      p.loads++;
      if (o.backend === "fails") throw new Error("module not found");
      return { kind, target: spec, ...(o.backend ? { billables: o.backend } : {}) } as unknown as Backend;
    },
  };
  return p;
}

describe("resolveBillables", () => {
  it("asks the target spec first, without loading the backend, and falls back to the loaded backend's", async () => {
    const fromSpec = provider("spec", { spec: (a, t) => ({ items: [], unpriced: [`${a.name}/${t.name}`] }) });
    const fromBackend = provider("loaded", { backend: () => lb });
    const r = await resolveBillables(app, [target("spec", "one"), target("loaded", "two")], new BackendRegistry([fromSpec, fromBackend]));
    expect([...r.entries()]).toEqual([["one", { items: [], unpriced: ["a/one"] }], ["two", lb]]);
    expect(fromSpec.loads).toBe(0);
    expect(fromBackend.loads).toBe(1);
  });

  it("takes a spec that declares its cost model but no billables at its word, loading no backend", async () => {
    const declared = provider("declared", { costModel: true, backend: () => lb });
    const r = await resolveBillables(app, [target("declared")], new BackendRegistry([declared]));
    expect(r.get("declared")).toEqual({ items: [], unpriced: ["everything beside compute: the declared backend does not declare it"] });
    expect(declared.loads).toBe(0);
  });

  it("says why nothing beside compute is priced when a backend declares none, cannot load, or throws", async () => {
    const registry = new BackendRegistry([
      provider("silent", {}),
      provider("broken", { backend: "fails" }),
      provider("throws", { spec: () => { throw new Error("no subnets"); } }),
    ]);
    const r = await resolveBillables(app, [target("silent"), target("broken"), target("throws"), target("unknown")], registry);
    expect(r.get("silent")).toEqual({ items: [], unpriced: ["everything beside compute: the silent backend does not declare it"] });
    expect(r.get("broken")).toEqual({ items: [], unpriced: ["everything beside compute: the broken backend cannot be loaded (module not found)"] });
    expect(r.get("throws")).toEqual({ items: [], unpriced: ["everything beside compute: the throws backend could not list it for target throws (no subnets)"] });
    expect(r.get("unknown")!.unpriced[0]).toMatch(/^everything beside compute: the unknown backend cannot be loaded \(no backend is registered for target kind "unknown"\)/);
  });
});

describe("the API passes each target's billables to the estimator beside its cost model", () => {
  it("fills EstimateOptions.billables for every candidate target of the shop, from the built-in backends", async () => {
    const seen: EstimateOptions[] = [];
    const estimator: CostEstimator = { estimate: async (_app, o) => (seen.push(o), { estimates: [], rejected: [], diagnostics: [] }) };
    const container = createSdxContainer({
      builtins: false,
      runtime: { env: EXAMPLE_SECRET_ENV },
      modules: [new ContainerModule(({ bind }) => {
        for (const p of builtinBackendProviders()) bind(TOKENS.BackendProvider).toConstantValue(p);
        bind(TOKENS.CostEstimatorProvider).toConstantValue({ load: () => estimator });
      })],
    });
    await plan(exampleFile("shop"), { container, offline: true, target: "all" });
    expect(seen).toHaveLength(1);
    const o = seen[0]!;
    expect([...o.billables!.keys()]).toEqual([...o.costModels!.keys()]);
    expect([...o.billables!.keys()]).toEqual(["k8s", "swarm", "ecs"]);
    expect(o.billables!.get("ecs")!.items).toContainEqual({ kind: "nat-gateway", count: 1, processedGiBPerMonth: 0, basis: "default" });
    expect(o.billables!.get("k8s")!.items).toContainEqual({ kind: "load-balancer", service: "web", flavour: "network", count: 1, capacityUnits: 1, basis: "default" });
    expect(o.billables!.get("swarm")!.items).toContainEqual({ kind: "public-ipv4", count: 1, perNode: true });
  });
});
