import type { Backend } from "../backend/backend.js";
import type { BackendProvider } from "../di/tokens.js";
import type { PriceSource } from "../pricing/price-source.js";

/** A backend as a plugin gives it: built, or a provider that builds it on first use. */
export type PluginBackend = Backend | BackendProvider;

/**
 * What a plugin module exports (as its default export, or as `sdxPlugin`):
 * backends for more target kinds and price sources for @sdx/pricing. Name it
 * in the app file (`plugins: ["@acme/sdx-nomad", "./sdx-plugin.mjs"]`), with
 * `sdx --plugin <specifier>` or `SDX_PLUGINS`, or pass it to `createSdx({ plugins })`.
 *
 * A plugin is code: loading one runs it with the rights of the user running
 * sdx. Only name plugins you trust, as you would any dependency.
 */
export interface SdxPlugin {
  /** For messages, e.g. "@acme/sdx-nomad". @default the specifier it was loaded from */
  readonly name?: string;
  /**
   * Backends, one per target kind; a kind that is already registered (a
   * built-in, another plugin) is refused with `SDX_DUPLICATE_BACKEND`. A
   * function is called once, when the plugin is loaded. @default []
   */
  readonly backends?: readonly PluginBackend[] | (() => readonly PluginBackend[] | Promise<readonly PluginBackend[]>);
  /** Price sources, asked before @sdx/pricing's cache and catalog. @default [] */
  readonly priceSources?: readonly PriceSource[];
}

/** A plugin with its backends listed (a `backends` function has been called). */
export interface LoadedPlugin {
  readonly name: string;
  readonly backends: readonly BackendProvider[];
  readonly priceSources: readonly PriceSource[];
}

/**
 * Declares a plugin with its type checked:
 * `export default definePlugin({ backends: [createNomadBackend()] })`.
 */
export function definePlugin(plugin: SdxPlugin): SdxPlugin {
  return plugin;
}

/** A backend or provider as a provider, so the registry treats both alike. */
export function toBackendProvider(b: PluginBackend): BackendProvider {
  return "load" in b && typeof b.load === "function" ? b : { kind: b.kind, load: () => b as Backend };
}
