import type { Billables, CostModel } from "../backend/backend.js";
import type { Target, App } from "../model/app.js";
import type { Diagnostic } from "../validation/diagnostic.js";

/** Where a price came from. Every figure sdx shows carries one. */
export interface PriceProvenance {
  /** e.g. `embedded-catalog`, `aws-pricing-api`, `aws-spot-history`, or a third-party source id. */
  readonly source: string;
  /** ISO date the price was published or fetched. */
  readonly asOf: string;
  /** SKU, usage type or instance type the figure is for. */
  readonly sku?: string;
}

/** One priced item of an estimate. */
export interface CostLine {
  /** The service, or undefined for shared items (nodes, control plane). */
  readonly service?: string;
  /** e.g. `Fargate vCPU (spot)`, `m6i.large node (on-demand)`, `EKS control plane`. */
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly unitPriceUsd: number;
  readonly hourlyUsd: number;
  readonly provenance: PriceProvenance;
}

/** What one target would cost for the app. Numbers are raw, never pre-formatted. */
export interface CostEstimate {
  readonly target: string;
  readonly backend: string;
  readonly provider: string;
  readonly region: string;
  /** e.g. `fargate`, `fargate+spot`, `3× m6i.large (spot)`. */
  readonly capacity: string;
  readonly hourlyUsd: number;
  /** hourly × 730. */
  readonly monthlyUsd: number;
  /** Hourly cost when every spot-tolerant replica runs on on-demand capacity (the fallback case). */
  readonly onDemandHourlyUsd: number;
  /** For node-based targets: the app's share of node cost by requests (OpenCost-style), beside the incremental nodes. */
  readonly allocatedHourlyUsd?: number;
  readonly lines: readonly CostLine[];
  readonly assumptions: readonly string[];
  /** Costs deliberately left out: load balancers, NAT, egress, public IPv4, logs. */
  readonly notPriced: readonly string[];
  /** Oldest price date used. */
  readonly priceAsOf: string;
  readonly chosen: boolean;
}

/** A target that was considered and not chosen, or could not be priced. */
export interface RejectedCandidate {
  readonly target: string;
  readonly reason: string;
}

/** The policy `choose` applies. */
export interface ChoosePolicy {
  /** Regions allowed. @default any */
  readonly regions?: readonly string[];
  /** Allow spot capacity at all. @default true */
  readonly allowSpot?: boolean;
  /** Maximum monthly cost in USD. @default no limit */
  readonly maxMonthlyUsd?: number;
  /** Architecture wanted; arm64 only when every image supports it. @default any */
  readonly arch?: "amd64" | "arm64";
  /** Minimum share (0–1) of replicas on on-demand capacity. @default 0 */
  readonly minOnDemandShare?: number;
}

/** Options for {@link CostEstimator.estimate}. */
export interface EstimateOptions {
  /** Targets to price. @default every target of the app */
  readonly targets?: readonly Target[];
  /**
   * Each target's cost model by target name, as its backend declares it
   * (`Backend.costModel`); the API fills it from the backend registry. The
   * estimator never guesses a model from the kind: a target without one is
   * reported unpriced.
   * @default none: every target is unpriced
   */
  readonly costModels?: ReadonlyMap<string, CostModel>;
  /**
   * Each target's billable things beside compute, by target name, as its
   * backend declares them (`billables(app, target)`); the API fills it from
   * the backend registry. @default none: only compute is priced
   */
  readonly billables?: ReadonlyMap<string, Billables>;
  readonly policy?: ChoosePolicy;
  /** Use only embedded prices. @default false */
  readonly offline?: boolean;
  readonly signal?: AbortSignal;
}

/** Estimates for the targets, the chosen one, and what was rejected and why. */
export interface EstimateReport {
  readonly estimates: readonly CostEstimate[];
  /** Name of the cheapest target that satisfies the policy. */
  readonly chosen?: string;
  /** Why it was chosen, in one sentence. */
  readonly reason?: string;
  readonly rejected: readonly RejectedCandidate[];
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Prices an app on its targets and picks the cheapest. Implemented by
 * @sdx/pricing; a third-party one can be registered in the container.
 */
export interface CostEstimator {
  estimate(app: App, options: EstimateOptions): Promise<EstimateReport>;
}
