import type { ServiceIdentifier } from "inversify";
import type { Backend, TargetKindSpec } from "../backend/backend.js";
import type { CostEstimator } from "../pricing/pricing-contract.js";
import type { SdxSession } from "../api/sdx-services.js";

/**
 * A backend that is loaded on first use, so `sdx --version` and offline plans
 * don't pay for SDK clients they never call.
 */
export interface BackendProvider {
  /** The target kind it serves. */
  readonly kind: string;
  readonly load: () => Backend | Promise<Backend>;
  /**
   * Its target kind alone, from a light module (e.g. `@sdx/backend-k8s/target`),
   * so validating an app or printing `sdx schema` does not load the backend.
   * @default `(await load()).target`
   */
  readonly loadTarget?: () => TargetKindSpec | Promise<TargetKindSpec>;
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
  /** At most one: the session API calls given this container use (bound by `createSdxContainer`), so loaded backends are shared. */
  Session: Symbol.for("sdx.Session") as ServiceIdentifier<SdxSession>,
} as const;
