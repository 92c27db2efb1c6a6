import type { CostEstimate, CostLine, PriceProvenance } from "@sdx/sdk";

/** Hours in a billing month, as AWS's calculator and the issue take it. */
export const HOURS_PER_MONTH = 730;

/**
 * What an estimate leaves out when the target's backend declares no billable
 * items beside compute (`EstimateOptions.billables`), named so nobody is
 * surprised. When it declares them, they are priced or listed one by one and
 * these entries are dropped. One wording per thing, so that a list merged
 * over targets never repeats it.
 */
export const NOT_PRICED_COMMON: readonly string[] = [
  "load balancers",
  "NAT gateways",
  "data transfer (egress)",
  "public IPv4 addresses",
  "logs and metrics",
  "persistent volumes and disks",
];

/** The same wording for nodes and hosts, so a merged "Not priced" list says it once. */
export const NOT_PRICED_CPU_CREDITS = "CPU credits above the baseline of burstable instance types";

/** An estimate that has been priced, with the facts `choose` needs beside it. */
export interface PricedCandidate {
  readonly kind: "priced";
  readonly estimate: CostEstimate;
  /** Replicas on on-demand capacity (at minimum scale). */
  readonly onDemandReplicas: number;
  /** Replicas on spot capacity (at minimum scale). */
  readonly spotReplicas: number;
  /**
   * Why the target cannot run the app as priced, whatever the policy: the app
   * does not fit its fixed hosts, or a host has no price (the total leaves it
   * out). `choose` lists such a candidate but never picks it. @default []
   */
  readonly blockers?: readonly string[];
  /**
   * The machines the estimate runs, for billable items counted per node or
   * host (`perNode`): nodes packed, hosts declared, or Fargate tasks (each its
   * own micro-VM). `onDemandCount` is the count in the all-on-demand fallback
   * behind `onDemandHourlyUsd`. @default none: `perNode` items count once
   */
  readonly machines?: { readonly kind: "node" | "host" | "task"; readonly count: number; readonly onDemandCount: number };
}

/** A target that could not be priced, and what to do about it. */
export interface UnpricedCandidate {
  readonly kind: "unpriced";
  readonly target: string;
  readonly reason: string;
}

/** What `choose` picks from. */
export type Candidate = PricedCandidate | UnpricedCandidate;

/** A cost line; `hourlyUsd` = quantity × unit price (per-month lines: see `priceBillables`). */
export function costLine(item: string, quantity: number, unit: string, unitPriceUsd: number, provenance: PriceProvenance, service?: string): CostLine {
  return { ...(service === undefined ? {} : { service }), item, quantity, unit, unitPriceUsd, hourlyUsd: quantity * unitPriceUsd, provenance };
}

/** Sum of line costs per hour. */
export function sumHourly(lines: readonly CostLine[]): number {
  let n = 0;
  for (const l of lines) n += l.hourlyUsd;
  return n;
}

/** The oldest `asOf` among the lines (ISO dates compare as strings). */
export function oldestAsOf(lines: readonly CostLine[], fallback: string): string {
  let oldest: string | undefined;
  for (const l of lines) if (oldest === undefined || l.provenance.asOf < oldest) oldest = l.provenance.asOf;
  return oldest ?? fallback;
}

/** USD for assumption text (never compared: numbers stay numbers everywhere else). */
export function usd(n: number): string {
  return `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}`;
}
