import type { Container } from "inversify";
import { BackendRegistry } from "../backend/backend-registry.js";
import { createSdxContainer } from "../di/create-sdx-container.js";
import { TOKENS, type SdxRuntime } from "../di/tokens.js";
import type { CostEstimator } from "../pricing/pricing-contract.js";

/** What the API functions need, resolved once from a container. */
export interface SdxServices {
  readonly registry: BackendRegistry;
  readonly runtime: SdxRuntime;
  /** Undefined when no estimator is registered. */
  readonly estimator: () => Promise<CostEstimator | undefined>;
}

const cache = new WeakMap<Container, SdxServices>();
let defaultContainer: Container | undefined;

/** Resolves the API's services from `container`, or from a default container built on first use. */
export function sdxServices(container?: Container): SdxServices {
  const c = container ?? (defaultContainer ??= createSdxContainer());
  let s = cache.get(c);
  if (!s) {
    const registry = new BackendRegistry(c.isBound(TOKENS.BackendProvider) ? c.getAll(TOKENS.BackendProvider) : []);
    const runtime = c.get(TOKENS.Runtime);
    const provider = c.isBound(TOKENS.CostEstimatorProvider) ? c.get(TOKENS.CostEstimatorProvider) : undefined;
    let estimator: Promise<CostEstimator | undefined> | undefined;
    s = { registry, runtime, estimator: () => (estimator ??= provider ? Promise.resolve(provider.load()) : Promise.resolve(undefined)) };
    cache.set(c, s);
  }
  return s;
}
