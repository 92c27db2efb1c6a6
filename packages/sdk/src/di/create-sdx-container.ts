import { Container, ContainerModule } from "inversify";
import type { Backend } from "../backend/backend.js";
import type { CostEstimator } from "../pricing/pricing-contract.js";
import { TOKENS, type BackendProvider, type CostEstimatorProvider, type SdxRuntime } from "./tokens.js";

/** Options for {@link createSdxContainer}. */
export interface CreateSdxContainerOptions {
  /** Register the Kubernetes, Swarm and ECS backends and @sdx/pricing (each loaded on first use). @default true */
  readonly builtins?: boolean;
  /** Extra modules: third-party backends, price sources, a replacement estimator. */
  readonly modules?: readonly ContainerModule[];
  /** @default { env: process.env, now: () => new Date() } */
  readonly runtime?: Partial<SdxRuntime>;
}

// Package names are held in variables so TypeScript does not follow them:
// the backends depend on @sdx/sdk, and the sdk only loads them at run time.
const BUILTIN_BACKENDS: readonly { kind: string; pkg: string }[] = [
  { kind: "kubernetes", pkg: "@sdx/backend-k8s" },
  { kind: "swarm", pkg: "@sdx/backend-swarm" },
  { kind: "ecs", pkg: "@sdx/backend-ecs" },
];
const PRICING_PKG = "@sdx/pricing";

async function importBuiltin<T>(pkg: string, what: string): Promise<T> {
  try {
    return (await import(pkg)) as T;
  } catch (e) {
    const { SdxError } = await import("../errors/sdx-error.js");
    throw new SdxError("SDX_UNKNOWN_BACKEND", `${what} is not installed (${pkg})`, { fault: "user", cause: e, hint: `npm install ${pkg}` });
  }
}

/** The built-in backends and estimator as a module, for containers built by hand. */
export function builtinsModule(): ContainerModule {
  return new ContainerModule(({ bind }) => {
    for (const b of BUILTIN_BACKENDS) {
      bind(TOKENS.BackendProvider).toConstantValue({
        kind: b.kind,
        load: async () => {
          const mod = await importBuiltin<{ createBackend?: () => Backend }>(b.pkg, `the ${b.kind} backend`);
          if (typeof mod.createBackend !== "function") {
            const { SdxError } = await import("../errors/sdx-error.js");
            throw new SdxError("SDX_UNKNOWN_BACKEND", `${b.pkg} does not export createBackend()`, { fault: "internal", hint: `Reinstall ${b.pkg} at the same version as @sdx/sdk.` });
          }
          return mod.createBackend();
        },
      });
    }
    // Price sources are resolved when the estimator is first needed, so that
    // modules loaded after this one can still add theirs.
    bind(TOKENS.CostEstimatorProvider)
      .toDynamicValue((ctx): CostEstimatorProvider => ({
        load: async () =>
          (await importBuiltin<{ createCostEstimator: (o: { sources: unknown[] }) => CostEstimator }>(PRICING_PKG, "pricing")).createCostEstimator({
            sources: ctx.getAll(TOKENS.PriceSource, { optional: true }),
          }),
      }))
      .inSingletonScope();
  });
}

/**
 * A module that registers one backend, for embedders:
 * `createSdxContainer({ modules: [backendModule(myBackend)] })`.
 */
export function backendModule(backend: Backend | BackendProvider): ContainerModule {
  const provider: BackendProvider = "load" in backend ? backend : { kind: backend.kind, load: () => backend };
  return new ContainerModule(({ bind }) => {
    bind(TOKENS.BackendProvider).toConstantValue(provider);
  });
}

/** A module that registers a price source (consumed by @sdx/pricing). */
export function priceSourceModule(source: unknown): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(TOKENS.PriceSource).toConstantValue(source);
  });
}

/**
 * The composition root. Plain users never call this: the API builds a default
 * container. Embedding tools call it to add backends and price sources, or
 * pass `builtins: false` to start empty.
 */
export function createSdxContainer(options: CreateSdxContainerOptions = {}): Container {
  const container = new Container({ defaultScope: "Singleton" });
  const runtime: SdxRuntime = { env: options.runtime?.env ?? process.env, now: options.runtime?.now ?? (() => new Date()) };
  container.bind(TOKENS.Runtime).toConstantValue(runtime);
  if (options.builtins !== false) container.load(builtinsModule());
  if (options.modules) container.load(...options.modules);
  return container;
}
