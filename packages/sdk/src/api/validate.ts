import { existsSync, statSync } from "node:fs";
import type { Container } from "inversify";
import { loadApp, resolveAppFile, type LoadAppResult } from "../load/load-app.js";
import { sdxServices } from "./sdx-services.js";

/** Options for {@link validate}. */
export interface ValidateOptions {
  readonly container?: Container;
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Loads and validates an app file, with third-party target kinds known to the container. Never throws for bad content. */
export async function validate(path: string, options: ValidateOptions = {}): Promise<LoadAppResult> {
  const services = sdxServices(options.container);
  const file = resolveAppFile(path, (p) => (existsSync(p) ? (statSync(p).isDirectory() ? "dir" : "file") : undefined));
  const extra = services.registry.kinds().filter((k) => !["kubernetes", "swarm", "ecs"].includes(k));
  const backends = await Promise.all(extra.map((k) => services.registry.get(k)));
  return loadApp(file, {
    env: options.env ?? services.runtime.env,
    extraTargetKinds: extra,
    validateCustomTarget: (kind, raw, p) => backends.find((b) => b.kind === kind)?.validateTarget?.(raw, p) ?? [],
  });
}
