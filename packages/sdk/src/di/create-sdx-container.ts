import { Container, ContainerModule } from "inversify";
import type { Backend } from "../backend/backend.js";
import { sdxOf, type Sdx } from "../api/create-sdx.js";
import type { LoadedPlugin } from "../api/sdx-plugin.js";
import { servicesFromContainer } from "../api/sdx-services.js";
import { builtinBackendProviders, builtinEstimatorProvider } from "./builtin-providers.js";
import { TOKENS, type BackendProvider, type SdxRuntime } from "./tokens.js";

/** Options for {@link createSdxContainer}. */
export interface CreateSdxContainerOptions {
  /** Register the Kubernetes, Swarm and ECS backends and @sdx/pricing (each loaded on first use). @default true */
  readonly builtins?: boolean;
  /** Extra modules: third-party backends, price sources, a replacement estimator. */
  readonly modules?: readonly ContainerModule[];
  /** @default { env: process.env, now: () => new Date() } */
  readonly runtime?: Partial<SdxRuntime>;
}

/** The built-in backends and estimator as a module, for containers built by hand. */
export function builtinsModule(): ContainerModule {
  return new ContainerModule(({ bind }) => {
    for (const p of builtinBackendProviders()) bind(TOKENS.BackendProvider).toConstantValue(p);
    // Price sources are resolved when the estimator is first needed, so that
    // modules loaded after this one can still add theirs.
    bind(TOKENS.CostEstimatorProvider)
      .toDynamicValue((ctx) => builtinEstimatorProvider(() => ctx.getAll(TOKENS.PriceSource, { optional: true }), ctx.get(TOKENS.Runtime, { optional: true })))
      .inSingletonScope();
  });
}

/**
 * A module that registers one backend, for embedders:
 * `createSdxContainer({ modules: [backendModule(myBackend)] })`.
 */
export function backendModule(backend: Backend | BackendProvider): ContainerModule {
  const provider: BackendProvider = "load" in backend ? backend : { kind: backend.kind, load: () => backend, loadTarget: () => backend.target };
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
 * The composition root for embedders (imported from `@sdx/sdk/di`): add
 * backends and price sources, or pass `builtins: false` to start empty.
 * Plain users never call this: without a container the API composes the same
 * built-in providers directly, which keeps inversify out of the CLI's start-up.
 */
export function createSdxContainer(options: CreateSdxContainerOptions = {}): Container {
  const container = new Container({ defaultScope: "Singleton" });
  const runtime: SdxRuntime = { env: options.runtime?.env ?? process.env, now: options.runtime?.now ?? (() => new Date()) };
  container.bind(TOKENS.Runtime).toConstantValue(runtime);
  if (options.builtins !== false) container.load(builtinsModule());
  if (options.modules) container.load(...options.modules);
  // Resolved on first API call, after every module above: the session shares loaded backends between calls.
  container.bind(TOKENS.Session).toDynamicValue(() => sdxOf(servicesFromContainer(container))).inSingletonScope();
  return container;
}

/**
 * The API bound to a container's backends, price sources and runtime, plus
 * loaded plugins (`loadPlugins`): `sdxFromContainer(c).plan(file)`. Without
 * plugins it is the container's own session.
 */
export function sdxFromContainer(container: Container, options: { readonly plugins?: readonly LoadedPlugin[] } = {}): Sdx {
  if (!options.plugins?.length && container.isBound(TOKENS.Session)) {
    const bound = container.get(TOKENS.Session);
    return "plan" in bound ? (bound as Sdx) : sdxOf(bound.services);
  }
  return sdxOf(servicesFromContainer(container, options));
}
