import { ContainerModule } from "inversify";
import { TOKENS, type CostEstimatorProvider, type PriceSource } from "@sdx/sdk";
import type { CreateCostEstimatorOptions } from "./create-cost-estimator.js";

/**
 * Registers @sdx/pricing as the container's cost estimator, for containers
 * built with `builtins: false`. Price sources bound to `TOKENS.PriceSource`
 * (by any module, before or after this one) are collected when the estimator
 * is first loaded; the estimator module itself is imported lazily.
 */
export function pricingModule(options: Omit<CreateCostEstimatorOptions, "sources"> = {}): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(TOKENS.CostEstimatorProvider)
      .toDynamicValue((ctx): CostEstimatorProvider => ({
        load: async () => {
          const { createCostEstimator } = await import("./create-cost-estimator.js");
          const sources = ctx.getAll(TOKENS.PriceSource, { optional: true }) as PriceSource[];
          return createCostEstimator({ ...options, sources });
        },
      }))
      .inSingletonScope();
  });
}
