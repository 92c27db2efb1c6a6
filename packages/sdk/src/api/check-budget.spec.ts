import { describe, expect, it } from "vitest";
import type { CostEstimate, EstimateReport } from "../pricing/pricing-contract.js";
import { budgetUnpricedError, checkBudget, checkBudgetPriced } from "./check-budget.js";

const estimate = (target: string, hourlyUsd: number): CostEstimate => ({
  target, backend: "swarm", provider: "aws", region: "us-east-1", capacity: "1× t3.medium (on-demand)",
  hourlyUsd, monthlyUsd: hourlyUsd * 730, onDemandHourlyUsd: hourlyUsd, lines: [], assumptions: [], notPriced: [], priceAsOf: "2026-04-02", chosen: false,
});
const report = (r: Partial<EstimateReport>): EstimateReport => ({ estimates: [], rejected: [], diagnostics: [], ...r });
const NO_PROFILE = "target k8s (kubernetes) has no pricing profile";

describe("checkBudgetPriced: a budget with nothing to compare it to", () => {
  it("is nothing to report without a budget, or when the target is priced", () => {
    expect(checkBudgetPriced(report({ rejected: [{ target: "k8s", reason: NO_PROFILE }] }), "k8s", undefined)).toBeUndefined();
    expect(checkBudgetPriced(undefined, "k8s", {})).toBeUndefined();
    expect(checkBudgetPriced(report({ estimates: [estimate("local", 0.0416)] }), "local", { maxMonthlyUsd: 1 })).toBeUndefined();
  });

  it("gives the estimator's reason for the target", () => {
    const r = report({ estimates: [estimate("local", 0.0416)], rejected: [{ target: "k8s", reason: NO_PROFILE }] });
    expect(checkBudgetPriced(r, "k8s", { maxMonthlyUsd: 1 })).toEqual({ target: "k8s", maxMonthlyUsd: 1, reason: NO_PROFILE, estimator: true });
  });

  it("gives the failure when pricing failed as a whole, and says when there is no estimator", () => {
    const failed = report({ diagnostics: [{ code: "SDX_PRICING", severity: "warning", path: "", message: "pricing failed: boom" }] });
    expect(checkBudgetPriced(failed, "k8s", { maxMonthlyUsd: 0 })?.reason).toBe("pricing failed: boom");
    expect(checkBudgetPriced(undefined, "k8s", { maxMonthlyUsd: 5 })).toEqual({ target: "k8s", maxMonthlyUsd: 5, reason: "no price estimator is available", estimator: false });
  });

  it("is SDX_BUDGET_UNPRICED, fault user, naming the budget, the target and why", () => {
    const e = budgetUnpricedError({ target: "k8s", maxMonthlyUsd: 1, reason: NO_PROFILE, estimator: true });
    expect([e.code, e.fault]).toEqual(["SDX_BUDGET_UNPRICED", "user"]);
    expect(e.message).toBe(`no priced target to compare with the budget of $1/month: k8s could not be priced (${NO_PROFILE})`);
    expect(e.hint).toBe("Make k8s priceable (see the reason), pick a priced target with --target, or drop --budget.");
    expect(budgetUnpricedError({ target: "k8s", maxMonthlyUsd: 1, reason: "no price estimator is available", estimator: false }).hint).toBe("Install @sdx/pricing to price targets, or drop --budget.");
  });
});

describe("checkBudget", () => {
  it("reports an estimate over the budget and nothing for one within it", () => {
    // t3.medium at $0.0416/h × 730 h = $30.368/month.
    const r = report({ estimates: [estimate("local", 0.0416)] });
    expect(checkBudget(r, "local", { maxMonthlyUsd: 30 })).toEqual({ target: "local", monthlyUsd: 0.0416 * 730, maxMonthlyUsd: 30 });
    expect(checkBudget(r, "local", { maxMonthlyUsd: 31 })).toBeUndefined();
  });
});
