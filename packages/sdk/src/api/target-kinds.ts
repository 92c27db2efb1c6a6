import type { Container } from "inversify";
import type { TargetKindSpec } from "../backend/backend.js";
import { sdxServices, type SdxSession } from "./sdx-services.js";

/** Options for {@link targetKinds}. */
export interface TargetKindsOptions {
  /** Backends whose target kinds to return. @default the built-in backends */
  readonly container?: Container;
  /** The session whose backends (plugins included) to ask; wins over `container`. @default the default session */
  readonly session?: SdxSession;
}

/**
 * The target kinds of the registered backends, by kind: what `validateApp`
 * and `loadApp` need when called directly (`validateApp(doc, { targetKinds:
 * await targetKinds() })`). The API functions pass them by themselves. Loads
 * only each kind's light target module, never a backend.
 */
export function targetKinds(options: TargetKindsOptions = {}): Promise<ReadonlyMap<string, TargetKindSpec>> {
  return sdxServices(options).registry.targetKinds();
}
