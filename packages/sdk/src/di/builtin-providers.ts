import type { Backend, TargetKindSpec } from "../backend/backend.js";
import { SdxError } from "../errors/sdx-error.js";
import type { CostEstimator } from "../pricing/pricing-contract.js";
import type { BackendProvider, CostEstimatorProvider, SdxRuntime } from "./tokens.js";

// The one list of built-in backends: a package exporting createBackend(), and
// its light `<pkg>/target` subpath exporting targetKindSpec. Package names are
// held in variables so TypeScript does not follow them: the backends depend on
// @sdx/sdk, and the sdk only loads them at run time.
const BUILTIN_BACKENDS: readonly { kind: string; pkg: string }[] = [
  { kind: "kubernetes", pkg: "@sdx/backend-k8s" },
  { kind: "swarm", pkg: "@sdx/backend-swarm" },
  { kind: "ecs", pkg: "@sdx/backend-ecs" },
  { kind: "hosts", pkg: "@sdx/backend-hosts" },
];
const PRICING_PKG = "@sdx/pricing";

async function importBuiltin<T>(pkg: string, what: string): Promise<T> {
  try {
    return (await import(pkg)) as T;
  } catch (e) {
    throw new SdxError("SDX_UNKNOWN_BACKEND", `${what} is not installed (${pkg})`, { fault: "user", cause: e, hint: `npm install ${pkg}` });
  }
}

/** The Kubernetes, Swarm, ECS and hosts backends, each imported on first use. */
export function builtinBackendProviders(): BackendProvider[] {
  return BUILTIN_BACKENDS.map((b) => ({
    kind: b.kind,
    load: async () => {
      const mod = await importBuiltin<{ createBackend?: () => Backend }>(b.pkg, `the ${b.kind} backend`);
      if (typeof mod.createBackend !== "function") {
        throw new SdxError("SDX_UNKNOWN_BACKEND", `${b.pkg} does not export createBackend()`, { fault: "internal", hint: `Reinstall ${b.pkg} at the same version as @sdx/sdk.` });
      }
      return mod.createBackend();
    },
    loadTarget: async () => {
      const mod = await importBuiltin<{ targetKindSpec?: TargetKindSpec }>(`${b.pkg}/target`, `the ${b.kind} backend`);
      if (!mod.targetKindSpec) {
        throw new SdxError("SDX_UNKNOWN_BACKEND", `${b.pkg}/target does not export targetKindSpec`, { fault: "internal", hint: `Reinstall ${b.pkg} at the same version as @sdx/sdk.` });
      }
      return mod.targetKindSpec;
    },
  }));
}

/**
 * @sdx/pricing's estimator, imported on first use, fed the price sources known
 * at that time. `SDX_PRICES_MAX_AGE_DAYS` sets the age past which embedded
 * prices are reported as stale (@default 90, @sdx/pricing's own default).
 */
export function builtinEstimatorProvider(sources: () => unknown[], runtime?: SdxRuntime): CostEstimatorProvider {
  const maxAge = Number(runtime?.env.SDX_PRICES_MAX_AGE_DAYS);
  return {
    load: async () =>
      (await importBuiltin<{ createCostEstimator: (o: { sources: unknown[]; now?: () => Date; maxCatalogAgeDays?: number }) => CostEstimator }>(PRICING_PKG, "pricing")).createCostEstimator({
        sources: sources(),
        ...(runtime ? { now: runtime.now } : {}),
        ...(Number.isFinite(maxAge) && maxAge > 0 ? { maxCatalogAgeDays: maxAge } : {}),
      }),
  };
}
