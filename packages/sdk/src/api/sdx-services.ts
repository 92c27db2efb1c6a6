import type { Container } from "inversify";
import { BackendRegistry } from "../backend/backend-registry.js";
import { builtinBackendProviders, builtinEstimatorProvider } from "../di/builtin-providers.js";
import { TOKENS, type BackendProvider, type CostEstimatorProvider, type SdxRuntime } from "../di/tokens.js";
import type { PriceSource } from "../pricing/price-source.js";
import type { CostEstimator } from "../pricing/pricing-contract.js";
import { toBackendProvider, type LoadedPlugin, type PluginBackend } from "./sdx-plugin.js";

/** What the API functions need: the backends by kind, the runtime, the estimator. */
export interface SdxServices {
  readonly registry: BackendRegistry;
  readonly runtime: SdxRuntime;
  /** Undefined when no estimator is registered. */
  readonly estimator: () => Promise<CostEstimator | undefined>;
}

/**
 * A session: one set of backends, price sources and runtime that API calls
 * share (loaded backends are kept for its lifetime). `createSdx()` makes one
 * with bound methods; every API function takes one as `options.session`.
 */
export interface SdxSession {
  readonly services: SdxServices;
}

/** Options for {@link composeServices} (and `createSdx`). */
export interface ComposeServicesOptions {
  /** Register the Kubernetes, Swarm and ECS backends and @sdx/pricing (each loaded on first use). @default true */
  readonly builtins?: boolean;
  /** More backends, one per target kind; a kind registered twice is refused (`SDX_DUPLICATE_BACKEND`). @default [] */
  readonly backends?: readonly PluginBackend[];
  /** Price sources for @sdx/pricing, asked before its cache and catalog. @default [] */
  readonly priceSources?: readonly PriceSource[];
  /** Loaded plugins (see `loadPlugins`): their backends and price sources are added to the others. @default [] */
  readonly plugins?: readonly LoadedPlugin[];
  /** Environment for `${VAR}` interpolation and `fromEnv` secrets. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** Replaces @sdx/pricing's estimator. @default @sdx/pricing fed the price sources, when builtins are on */
  readonly estimator?: CostEstimatorProvider;
}

function servicesOf(registry: BackendRegistry, runtime: SdxRuntime, provider: CostEstimatorProvider | undefined): SdxServices {
  let estimator: Promise<CostEstimator | undefined> | undefined;
  return { registry, runtime, estimator: () => (estimator ??= provider ? Promise.resolve(provider.load()) : Promise.resolve(undefined)) };
}

/**
 * Composes services without inversify: the built-in providers `builtinsModule()`
 * binds, plus the given backends, price sources and plugins. Loading inversify
 * (~245 modules) would be half of the CLI's start-up budget.
 */
export function composeServices(options: ComposeServicesOptions = {}): SdxServices {
  const runtime: SdxRuntime = { env: options.env ?? process.env, now: options.now ?? (() => new Date()) };
  const plugins = options.plugins ?? [];
  const providers: BackendProvider[] = [
    ...(options.builtins === false ? [] : builtinBackendProviders()),
    ...(options.backends ?? []).map(toBackendProvider),
    ...plugins.flatMap((p) => p.backends),
  ];
  const sources = [...(options.priceSources ?? []), ...plugins.flatMap((p) => p.priceSources)];
  const estimator = options.estimator ?? (options.builtins === false && sources.length === 0 ? undefined : builtinEstimatorProvider(() => sources, runtime));
  return servicesOf(new BackendRegistry(providers), runtime, estimator);
}

/**
 * Services from an inversify container's bindings (`createSdxContainer()` in
 * `@sdx/sdk/di`), plus loaded plugins. Reads bindings only: inversify itself is
 * not imported. Plugin price sources join the container's; the estimator is
 * then @sdx/pricing's, fed both.
 */
export function servicesFromContainer(container: Container, extra: { readonly plugins?: readonly LoadedPlugin[] } = {}): SdxServices {
  const plugins = extra.plugins ?? [];
  const runtime: SdxRuntime = container.isBound(TOKENS.Runtime) ? container.get(TOKENS.Runtime) : { env: process.env, now: () => new Date() };
  const providers = [...(container.isBound(TOKENS.BackendProvider) ? container.getAll(TOKENS.BackendProvider) : []), ...plugins.flatMap((p) => p.backends)];
  const pluginSources = plugins.flatMap((p) => p.priceSources);
  const bound = container.isBound(TOKENS.CostEstimatorProvider) ? container.get(TOKENS.CostEstimatorProvider) : undefined;
  const estimator = pluginSources.length === 0
    ? bound
    : builtinEstimatorProvider(() => [...(container.isBound(TOKENS.PriceSource) ? container.getAll(TOKENS.PriceSource) : []), ...pluginSources], runtime);
  return servicesOf(new BackendRegistry(providers), runtime, estimator);
}

let defaultServices: SdxServices | undefined;
const byContainer = new WeakMap<Container, SdxServices>();

/** Where an API call gets its services: the one it names, else a container's, else the default session's. */
export interface ServicesFrom {
  /** @default the default session (built-in backends, process.env) */
  readonly session?: SdxSession;
  /** An inversify container (`@sdx/sdk/di`); its bound session when it has one. */
  readonly container?: Container;
}

/**
 * The services for an API call: `from.session`, else the session bound in
 * `from.container` (a fresh one from its bindings when none is bound), else
 * the default session, composed on first use from the built-ins.
 */
export function sdxServices(from: ServicesFrom | Container = {}): SdxServices {
  const f: ServicesFrom = isContainer(from) ? { container: from } : from;
  if (f.session) return f.session.services;
  if (f.container) {
    if (f.container.isBound(TOKENS.Session)) return f.container.get(TOKENS.Session).services;
    // A container built by hand has no session: compose one per container, once, so loaded backends are kept.
    let s = byContainer.get(f.container);
    if (!s) byContainer.set(f.container, (s = servicesFromContainer(f.container)));
    return s;
  }
  return (defaultServices ??= composeServices());
}

function isContainer(x: ServicesFrom | Container): x is Container {
  return typeof (x as Container).isBound === "function";
}
