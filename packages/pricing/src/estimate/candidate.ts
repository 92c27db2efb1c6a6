import type { CostEstimate, CostLine, PriceProvenance } from "@sdx/sdk";

/** Hours in a billing month, as AWS's calculator and the issue take it. */
export const HOURS_PER_MONTH = 730;

/** Costs every estimate leaves out, named so nobody is surprised. */
export const NOT_PRICED_COMMON: readonly string[] = [
  "load balancers",
  "NAT gateways",
  "data transfer (egress)",
  "public IPv4 addresses",
  "logs and metrics",
];

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
}

/** A target that could not be priced, and what to do about it. */
export interface UnpricedCandidate {
  readonly kind: "unpriced";
  readonly target: string;
  readonly reason: string;
}

/** What `choose` picks from. */
export type Candidate = PricedCandidate | UnpricedCandidate;

/** A cost line; `hourlyUsd` = quantity × unit price. */
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
