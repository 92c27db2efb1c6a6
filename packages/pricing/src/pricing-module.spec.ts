import { Container } from "inversify";
import { TOKENS, type PriceSource } from "@sdx/sdk";
import { describe, expect, it } from "vitest";
import { costModelsOf } from "./__fixtures__/backend-cost-models.js";
import { makeApp, svc } from "./__fixtures__/make-app.js";
import { pricingModule } from "./pricing-module.js";

describe("pricingModule", () => {
  it("binds the estimator provider, which collects every registered price source", async () => {
    const container = new Container();
    await container.load(pricingModule({ cacheDir: false }));
    const source: PriceSource = {
      id: "flat",
      lookup: async (q) => (q.kind === "vm" ? { unit: "instance-hour", onDemandUsd: 1, provenance: { source: "flat", asOf: "2026-11-01" } } : undefined),
    };
    // Bound after the module: still seen, because sources are resolved on first load.
    container.bind(TOKENS.PriceSource).toConstantValue(source);
    const estimator = await container.get(TOKENS.CostEstimatorProvider).load();
    const app = makeApp({ a: svc(1, "2Gi") }, { k: { kind: "kubernetes", pricing: { provider: "aws", region: "us-east-1", nodeTypes: ["m6i.large"] } } });
    const r = await estimator.estimate(app, { costModels: costModelsOf(app.targets) });
    expect(r.estimates[0]).toMatchObject({ hourlyUsd: 1, lines: [expect.objectContaining({ provenance: { source: "flat", asOf: "2026-11-01" } })] });
  });
});
