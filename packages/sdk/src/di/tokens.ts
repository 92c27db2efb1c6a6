import type { ServiceIdentifier } from "inversify";
import type { Backend } from "../backend/backend.js";
import type { CostEstimator } from "../pricing/pricing-contract.js";

/**
 * A backend that is loaded on first use, so `sdx --version` and offline plans
 * don't pay for SDK clients they never call.
 */
export interface BackendProvider {
  /** The target kind it serves. */
  readonly kind: string;
  readonly load: () => Backend | Promise<Backend>;
}

/** A cost estimator loaded on first use. */
export interface CostEstimatorProvider {
  readonly load: () => CostEstimator | Promise<CostEstimator>;
}

/** Runtime settings the composition root passes down. */
export interface SdxRuntime {
  /** Environment for `${VAR}` interpolation and `fromEnv` secrets. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Current time, injectable for stable tests. */
  readonly now: () => Date;
}

/** Every injection token, in one place. Multi-bound tokens collect all registrations. */
export const TOKENS = {
  /** Multi-bound: one per target kind. Duplicates are rejected when the registry is built. */
  BackendProvider: Symbol.for("sdx.BackendProvider") as ServiceIdentifier<BackendProvider>,
  /** At most one. */
  CostEstimatorProvider: Symbol.for("sdx.CostEstimatorProvider") as ServiceIdentifier<CostEstimatorProvider>,
  /** Multi-bound: price sources, consumed by @sdx/pricing. Typed there as `PriceSource`. */
  PriceSource: Symbol.for("sdx.PriceSource") as ServiceIdentifier<unknown>,
  Runtime: Symbol.for("sdx.Runtime") as ServiceIdentifier<SdxRuntime>,
} as const;
