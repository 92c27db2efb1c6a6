import type { Container } from "inversify";
import { appJsonSchema } from "../model/app-schema.js";
import { sdxServices, type SdxSession } from "./sdx-services.js";

/** Options for {@link schema}. */
export interface SchemaOptions {
  /** Backends whose target kinds the schema describes. @default the built-in backends */
  readonly container?: Container;
  /** The session whose backends (plugins included) the schema describes; wins over `container`. @default the default session */
  readonly session?: SdxSession;
}

/**
 * The JSON Schema of the app file for editors (`sdx schema`), composed from
 * the registered backends' target kinds, third-party ones included. Loads only
 * each kind's light target module, never a backend.
 */
export async function schema(options: SchemaOptions = {}): Promise<Record<string, unknown>> {
  const kinds = await sdxServices(options).registry.targetKinds();
  return appJsonSchema(kinds.values());
}
