import type { AppInput } from "./app-schema.js";

/**
 * Typed identity for `sdx.config.ts`: `export default defineApp({ ... })`.
 * It validates nothing by itself; the loader does, exactly as for YAML.
 */
export function defineApp<const T extends AppInput>(app: T): T {
  return app;
}
