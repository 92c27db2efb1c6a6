import type { App, ChoosePolicy, CostEstimate, RejectedCandidate } from "@sdx/sdk";
import type { Candidate, PricedCandidate } from "../estimate/candidate.js";
import { usd } from "../estimate/candidate.js";

/** What {@link choose} decided. */
export interface ChooseResult {
  /** The cheapest estimate that meets the policy (marked `chosen`). */
  readonly chosen?: CostEstimate;
  /** Why, in one sentence. */
  readonly reason?: string;
  /** Every priced candidate, cheapest first (ties keep input order), the chosen one marked. */
  readonly considered: readonly CostEstimate[];
  /** Candidates that could not be priced or do not meet the policy, with reasons. */
  readonly rejected: readonly RejectedCandidate[];
}

/**
 * Picks the cheapest candidate that meets the policy, SkyPilot-style: every
 * candidate is listed, priced ones as considered, and each one that cannot be
 * chosen with the reasons why. Pure.
 *
 * A candidate with `blockers` (the app does not fit its fixed hosts, a host
 * has no price) is listed but never chosen, like one that breaks the policy.
 *
 * Policy checks: allowed regions; the architecture (a policy for arm64 needs
 * every service to be arm64-capable, i.e. `placement.arch: arm64`, and likewise
 * for amd64); spot (a candidate that still runs replicas on spot, because a
 * service is spot-only, is rejected when the policy forbids spot); the minimum
 * on-demand share of replicas; and the monthly budget.
 */
export function choose(app: App, candidates: readonly Candidate[], policy: ChoosePolicy = {}): ChooseResult {
  const rejected: RejectedCandidate[] = [];
  const archProblem = archMismatch(app, policy);
  const feasible: PricedCandidate[] = [];
  const priced: PricedCandidate[] = [];
  for (const c of candidates) {
    if (c.kind === "unpriced") {
      rejected.push({ target: c.target, reason: c.reason });
      continue;
    }
    priced.push(c);
    const reasons = policyProblems(c, policy, archProblem);
    if (reasons.length) rejected.push({ target: c.estimate.target, reason: reasons.join("; ") });
    else feasible.push(c);
  }

  const byCost = (a: PricedCandidate, b: PricedCandidate): number =>
    a.estimate.hourlyUsd - b.estimate.hourlyUsd || a.spotReplicas - b.spotReplicas;
  const best = [...feasible].sort(byCost)[0];
  const considered = [...priced].sort(byCost).map((c) => (c === best ? { ...c.estimate, chosen: true } : { ...c.estimate, chosen: false }));
  if (!best) return { considered, rejected };

  const chosen = considered.find((e) => e.chosen)!;
  const next = [...feasible].sort(byCost)[1];
  const reason =
    feasible.length === 1
      ? `${chosen.target} is the only target that meets the policy (${usd(chosen.monthlyUsd)}/month)`
      : `${chosen.target} is the cheapest of ${feasible.length} targets that meet the policy: ${usd(chosen.monthlyUsd)}/month` +
        (next ? `, next ${next.estimate.target} at ${usd(next.estimate.monthlyUsd)}/month` : "");
  return { chosen, reason, considered, rejected };
}

function archMismatch(app: App, policy: ChoosePolicy): string | undefined {
  if (!policy.arch) return undefined;
  const others = app.services.filter((s) => s.placement.arch !== policy.arch).map((s) => s.name);
  if (others.length === 0) return undefined;
  return `the policy wants ${policy.arch} but ${others.join(", ")} ${others.length === 1 ? "is" : "are"} not ${policy.arch}-capable (placement.arch)`;
}

function policyProblems(c: PricedCandidate, policy: ChoosePolicy, archProblem: string | undefined): string[] {
  const out: string[] = [...(c.blockers ?? [])];
  const e = c.estimate;
  if (policy.regions && !policy.regions.includes(e.region)) {
    out.push(`region ${e.region} is not among the allowed regions (${policy.regions.join(", ")})`);
  }
  if (archProblem) out.push(archProblem);
  if (policy.allowSpot === false && c.spotReplicas > 0) {
    out.push(`${c.spotReplicas} replica(s) must run on spot (placement.spot: only) but the policy forbids spot`);
  }
  const total = c.onDemandReplicas + c.spotReplicas;
  const share = policy.minOnDemandShare ?? 0;
  if (share > 0 && total > 0 && c.onDemandReplicas / total < share - 1e-9) {
    out.push(`${Math.round((100 * c.onDemandReplicas) / total)}% of replicas on on-demand capacity, the policy needs ${Math.round(share * 100)}%`);
  }
  if (policy.maxMonthlyUsd !== undefined && e.monthlyUsd > policy.maxMonthlyUsd) {
    out.push(`${usd(e.monthlyUsd)}/month is over the ${usd(policy.maxMonthlyUsd)}/month budget`);
  }
  return out;
}
