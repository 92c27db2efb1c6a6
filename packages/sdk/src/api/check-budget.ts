import { SdxError } from "../errors/sdx-error.js";
import type { ChoosePolicy, EstimateReport } from "../pricing/pricing-contract.js";

/** A target whose estimate is over the policy's budget. */
export interface BudgetExcess {
  readonly target: string;
  /** The target's estimate, in USD per month. */
  readonly monthlyUsd: number;
  /** The budget (`policy.maxMonthlyUsd`, the CLI's `--budget`). */
  readonly maxMonthlyUsd: number;
}

/**
 * Whether `target`'s estimate is over `policy.maxMonthlyUsd`. Undefined when
 * there is no budget, no estimate for the target (unpriced), or it fits. Pure:
 * `plan` reports an excess, `deploy` refuses it before anything changes.
 */
export function checkBudget(estimates: EstimateReport | undefined, target: string, policy: ChoosePolicy | undefined): BudgetExcess | undefined {
  const budget = policy?.maxMonthlyUsd;
  if (budget === undefined) return undefined;
  const estimate = estimates?.estimates.find((e) => e.target === target);
  return estimate && estimate.monthlyUsd > budget ? { target, monthlyUsd: estimate.monthlyUsd, maxMonthlyUsd: budget } : undefined;
}

/** `SDX_BUDGET_EXCEEDED` for a deploy that would cost more than its budget. */
export function budgetExceededError(x: BudgetExcess): SdxError {
  return new SdxError("SDX_BUDGET_EXCEEDED", `${x.target} would cost $${x.monthlyUsd.toFixed(2)}/month, over the budget of $${x.maxMonthlyUsd}/month`, {
    fault: "user", hint: "Raise --budget, pick a cheaper target (--target cheapest), or reduce replicas/resources.",
    details: { monthlyUsd: x.monthlyUsd, budget: x.maxMonthlyUsd },
  });
}
