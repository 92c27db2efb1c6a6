import type { BackendDestroyResult, BackendStatus } from "../backend/backend.js";
import type { OperationOptions } from "./plan.js";
import { findTarget, prepareApp, type AppSource } from "./prepare-app.js";
import { sdxServices } from "./sdx-services.js";
import { SdxError } from "../errors/sdx-error.js";

/** Options for {@link status} and {@link destroy}. */
export interface TargetOperationOptions extends OperationOptions {
  /** @default the app's defaultTarget, else its only target */
  readonly target?: string;
}

/** Result of {@link status}. */
export interface StatusResult extends BackendStatus {
  readonly app: string;
}

/** Result of {@link destroy}. */
export interface DestroyResult extends BackendDestroyResult {
  readonly app: string;
  readonly target: string;
}

async function resolveTarget(app: AppSource, options: TargetOperationOptions) {
  const services = sdxServices(options);
  // Secrets are not needed to find or remove objects; a missing one must not block a destroy.
  const p = await prepareApp(app, services, { secretsMissing: "warning", ...(options.env ? { env: options.env } : {}), ...(options.baseDir ? { baseDir: options.baseDir } : {}), ...(options.allowOutside ? { allowOutside: options.allowOutside } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  const name = options.target ?? p.app.defaultTarget ?? (p.app.targets.length === 1 ? p.app.targets[0]!.name : undefined);
  if (name === undefined) {
    throw new SdxError("SDX_UNKNOWN_TARGET", `app "${p.app.name}" has ${p.app.targets.length} targets; say which`, {
      fault: "user", hint: `Pass --target with one of: ${p.app.targets.map((t) => t.name).join(", ")}.`,
    });
  }
  const target = findTarget(p.app, name);
  return { appName: p.app.name, target, baseDir: p.baseDir, backend: await services.registry.get(target.kind) };
}

/** Desired, running and ready instances per service on one target, with recent warnings. */
export async function status(app: AppSource, options: TargetOperationOptions = {}): Promise<StatusResult> {
  const { appName, target, baseDir, backend } = await resolveTarget(app, options);
  const s = await backend.status({ appName, target, baseDir }, { ...(options.onEvent ? { onEvent: options.onEvent } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  return { app: appName, ...s };
}

/** Removes every object this app owns on one target, and nothing else. */
export async function destroy(app: AppSource, options: TargetOperationOptions = {}): Promise<DestroyResult> {
  const { appName, target, baseDir, backend } = await resolveTarget(app, options);
  const r = await backend.destroy({ appName, target, baseDir }, { ...(options.onEvent ? { onEvent: options.onEvent } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  return { app: appName, target: target.name, ...r };
}
