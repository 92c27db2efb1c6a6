import { join } from "node:path";
import { loadApp, type App } from "@sdx/sdk";
import { beforeAll, describe, expect, it } from "vitest";
import { FARGATE_SIZE, KUBERNETES_RESERVE } from "../__fixtures__/backend-cost-models.js";
import { makeApp, svc } from "../__fixtures__/make-app.js";
import { loadEmbeddedCatalog } from "../catalog/load-embedded-catalog.js";
import { estimateNodes } from "../estimate/estimate-nodes.js";
import { chooseFromCatalog } from "./choose-from-catalog.js";
import { builtinTargetKinds } from "@sdx/sdk/testing";

// The built-in backends' target kinds: validation knows no kind by itself.
const targetKinds = await builtinTargetKinds();

const catalog = loadEmbeddedCatalog();
let shop: App;
beforeAll(async () => {
  shop = (await loadApp(join(import.meta.dirname, "../../../../examples/shop/sdx.yaml"), { targetKinds })).app!;
});

describe("chooseFromCatalog", () => {
  it("considers every type × region × capacity, plus Fargate", () => {
    const r = chooseFromCatalog(shop, { catalog, reserve: KUBERNETES_RESERVE, fargateSize: FARGATE_SIZE });
    let rows = 0;
    for (const p of catalog.providers()) catalog.forEachVmPrice(p, () => rows++);
    // Two capacities per (type, region) and per Fargate region.
    expect(r.considered).toBe(2 * rows + 2 * catalog.fargateRegions().length);
    expect(r.top).toHaveLength(10);
    expect(r.top.map((o) => o.hourlyUsd)).toEqual([...r.top.map((o) => o.hourlyUsd)].sort((a, b) => a - b));
    expect(r.cheapest).toEqual(r.top[0]);
  });

  it("agrees with estimateNodes on the node count and cost of its pick", () => {
    const best = chooseFromCatalog(shop, { catalog, reserve: KUBERNETES_RESERVE, policy: { allowSpot: false } }).cheapest!;
    const o = catalog.vm(best.provider, best.region, best.instanceType!)!;
    const { estimate } = estimateNodes({ app: shop, target: "x", backend: "kubernetes", provider: best.provider, region: best.region, nodeTypes: [o], spotAvailable: false, reserve: KUBERNETES_RESERVE });
    expect(estimate.hourlyUsd).toBeCloseTo(best.hourlyUsd, 12);
    expect(estimate.capacity).toBe(`${best.nodes}× ${best.instanceType} (on-demand)`);
  });

  it("applies the policy: regions, budget, spot, arch", () => {
    const inRegion = chooseFromCatalog(shop, { catalog, reserve: KUBERNETES_RESERVE, fargateSize: FARGATE_SIZE, policy: { regions: ["eu-west-1"] } });
    expect(inRegion.top.every((o) => o.region === "eu-west-1")).toBe(true);
    expect(chooseFromCatalog(shop, { catalog, reserve: KUBERNETES_RESERVE, fargateSize: FARGATE_SIZE, policy: { maxMonthlyUsd: 1 } }).cheapest).toBeUndefined();
    expect(chooseFromCatalog(shop, { catalog, reserve: KUBERNETES_RESERVE, fargateSize: FARGATE_SIZE, policy: { allowSpot: false } }).top.every((o) => o.capacity === "on-demand")).toBe(true);
    expect(chooseFromCatalog(shop, { catalog, reserve: KUBERNETES_RESERVE, fargateSize: FARGATE_SIZE, policy: { arch: "arm64" } }).cheapest).toBeUndefined();
    const arm = makeApp({ a: svc(1, "2Gi", { replicas: 2, placement: { arch: "arm64" } }) });
    const armBest = chooseFromCatalog(arm, { catalog, reserve: KUBERNETES_RESERVE, providers: ["aws"], policy: { arch: "arm64" } }).cheapest!;
    expect(catalog.vmShape("aws", armBest.instanceType!)?.arch).toBe("arm64");
  });
});
