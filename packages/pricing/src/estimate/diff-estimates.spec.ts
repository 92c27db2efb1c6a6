import { describe, expect, it } from "vitest";
import { makeApp, svc } from "../__fixtures__/make-app.js";
import { loadEmbeddedCatalog } from "../catalog/load-embedded-catalog.js";
import { diffEstimates } from "@sdx/sdk";
import { FARGATE_SIZE, KUBERNETES_RESERVE } from "../__fixtures__/backend-cost-models.js";
import { estimateFargate } from "./estimate-fargate.js";
import { estimateNodes } from "./estimate-nodes.js";

const catalog = loadEmbeddedCatalog();
const fargate = (services: Record<string, unknown>) =>
  estimateFargate({ app: makeApp(services), target: "ecs", region: "us-east-1", rates: { amd64: catalog.fargate("us-east-1", "amd64")! }, spotAvailable: false, size: FARGATE_SIZE }).estimate;

describe("diffEstimates", () => {
  it("gives the Δ $/month per service between the deployed and the new revision", () => {
    // api grows from 1 to 2 replicas of 1 vCPU / 2 GB: + (0.04048 + 2 × 0.004445) × 730 = +$36.0401/month; worker is new; old is gone.
    const before = fargate({ api: svc(1, "2Gi"), old: svc("250m", "512Mi") });
    const after = fargate({ api: svc(1, "2Gi", { replicas: 2 }), worker: svc("250m", "512Mi") });
    const d = diffEstimates(before, after);
    expect(d.map((x) => x.service)).toEqual(["api", "worker", "old"]);
    expect(d[0]!.deltaMonthlyUsd).toBeCloseTo(0.04937 * 730, 9);
    expect(d[1]!.beforeMonthlyUsd).toBe(0);
    expect(d[2]!.afterMonthlyUsd).toBe(0);
    expect(d[1]!.deltaMonthlyUsd + d[2]!.deltaMonthlyUsd).toBeCloseTo(0, 12);
  });

  it("puts node costs in one shared row", () => {
    const o = catalog.vm("aws", "us-east-1", "m6i.large")!;
    const est = (replicas: number) => estimateNodes({ app: makeApp({ a: svc(1, "2Gi", { replicas }) }), target: "k", backend: "kubernetes", provider: "aws", region: "us-east-1", nodeTypes: [o], spotAvailable: false, reserve: KUBERNETES_RESERVE }).estimate;
    // 1 → 2 replicas: one more m6i.large node, 0.096 × 730 = $70.08/month.
    expect(diffEstimates(est(1), est(2))).toEqual([{ beforeMonthlyUsd: 0.096 * 730, afterMonthlyUsd: 2 * 0.096 * 730, deltaMonthlyUsd: 0.096 * 730 }]);
  });
});
