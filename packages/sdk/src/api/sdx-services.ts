import type { Container } from "inversify";
import { BackendRegistry } from "../backend/backend-registry.js";
import { builtinBackendProviders, builtinEstimatorProvider } from "../di/builtin-providers.js";
import { TOKENS, type CostEstimatorProvider, type SdxRuntime } from "../di/tokens.js";
import type { CostEstimator } from "../pricing/pricing-contract.js";

/** What the API functions need, resolved once from a container. */
export interface SdxServices {
  readonly registry: BackendRegistry;
  readonly runtime: SdxRuntime;
  /** Undefined when no estimator is registered. */
  readonly estimator: () => Promise<CostEstimator | undefined>;
}

const cache = new WeakMap<Container, SdxServices>();
let defaults: SdxServices | undefined;

function services(registry: BackendRegistry, runtime: SdxRuntime, provider: CostEstimatorProvider | undefined): SdxServices {
  let estimator: Promise<CostEstimator | undefined> | undefined;
  return { registry, runtime, estimator: () => (estimator ??= provider ? Promise.resolve(provider.load()) : Promise.resolve(undefined)) };
}

/**
 * Resolves the API's services from `container`. Without one, composes the
 * built-ins directly: the same providers `builtinsModule()` binds, without
 * loading inversify (its ~245 modules are half of the CLI's start-up budget).
 */
export function sdxServices(container?: Container): SdxServices {
  if (!container) {
    if (!defaults) {
      const runtime: SdxRuntime = { env: process.env, now: () => new Date() };
      defaults = services(new BackendRegistry(builtinBackendProviders()), runtime, builtinEstimatorProvider(() => [], runtime));
    }
    return defaults;
  }
  let s = cache.get(container);
  if (!s) {
    s = services(
      new BackendRegistry(container.isBound(TOKENS.BackendProvider) ? container.getAll(TOKENS.BackendProvider) : []),
      container.isBound(TOKENS.Runtime) ? container.get(TOKENS.Runtime) : { env: process.env, now: () => new Date() },
      container.isBound(TOKENS.CostEstimatorProvider) ? container.get(TOKENS.CostEstimatorProvider) : undefined,
    );
    cache.set(container, s);
  }
  return s;
}
