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

/** A budget that cannot be checked: the target it applies to has no estimate. */
export interface BudgetUnpriced {
  readonly target: string;
  /** The budget (`policy.maxMonthlyUsd`, the CLI's `--budget`). */
  readonly maxMonthlyUsd: number;
  /** Why the target has no estimate, as the estimator said (or that there is no estimator). */
  readonly reason: string;
  /** Whether a price estimator was available at all. */
  readonly estimator: boolean;
}

/**
 * Whether `target`'s estimate is over `policy.maxMonthlyUsd`. Undefined when
 * there is no budget, no estimate for the target (see {@link checkBudgetPriced}),
 * or it fits. Pure: `plan` reports an excess, `deploy` refuses it before
 * anything changes.
 */
export function checkBudget(estimates: EstimateReport | undefined, target: string, policy: ChoosePolicy | undefined): BudgetExcess | undefined {
  const budget = policy?.maxMonthlyUsd;
  if (budget === undefined) return undefined;
  const estimate = estimates?.estimates.find((e) => e.target === target);
  return estimate && estimate.monthlyUsd > budget ? { target, monthlyUsd: estimate.monthlyUsd, maxMonthlyUsd: budget } : undefined;
}

/**
 * Whether a budget is set that `target`'s cost cannot be compared with: the
 * target was not priced (no pricing profile, no price for its region, pricing
 * failed) or there is no estimator. Undefined when there is no budget or the
 * target has an estimate. Pure. A budget nobody can check must not pass
 * silently: `plan` reports it and `deploy` refuses, as for an excess.
 */
export function checkBudgetPriced(estimates: EstimateReport | undefined, target: string, policy: ChoosePolicy | undefined): BudgetUnpriced | undefined {
  const budget = policy?.maxMonthlyUsd;
  if (budget === undefined) return undefined;
  if (!estimates) return { target, maxMonthlyUsd: budget, reason: "no price estimator is available", estimator: false };
  if (estimates.estimates.some((e) => e.target === target)) return undefined;
  const rejected = estimates.rejected.find((r) => r.target === target)?.reason;
  // Pricing that failed as a whole leaves its reason in a diagnostic, not in `rejected`.
  const failed = estimates.diagnostics.find((d) => d.severity !== "info" && d.code === "SDX_PRICING")?.message;
  return { target, maxMonthlyUsd: budget, reason: rejected ?? failed ?? "the estimator returned no price for it", estimator: true };
}

/** `SDX_BUDGET_EXCEEDED` for a deploy that would cost more than its budget. */
export function budgetExceededError(x: BudgetExcess): SdxError {
  return new SdxError("SDX_BUDGET_EXCEEDED", `${x.target} would cost $${x.monthlyUsd.toFixed(2)}/month, over the budget of $${x.maxMonthlyUsd}/month`, {
    fault: "user", hint: "Raise --budget, pick a cheaper target (--target cheapest), or reduce replicas/resources.",
    details: { monthlyUsd: x.monthlyUsd, budget: x.maxMonthlyUsd },
  });
}

/**
 * `SDX_BUDGET_UNPRICED` when a budget is set and no price of the target can
 * be compared with it. `plan` prints it, `deploy` throws it before anything changes.
 */
export function budgetUnpricedError(x: BudgetUnpriced): SdxError {
  return new SdxError("SDX_BUDGET_UNPRICED", `no priced target to compare with the budget of $${x.maxMonthlyUsd}/month: ${x.target} could not be priced (${x.reason})`, {
    fault: "user",
    hint: x.estimator
      ? `Make ${x.target} priceable (see the reason), pick a priced target with --target, or drop --budget.`
      : "Install @sdx/pricing to price targets, or drop --budget.",
    details: { target: x.target, budget: x.maxMonthlyUsd, reason: x.reason },
  });
}
