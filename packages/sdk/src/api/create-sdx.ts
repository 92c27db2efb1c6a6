import type { LoadAppResult } from "../load/load-app.js";
import { check, type CheckOptions, type CheckResult } from "./check.js";
import { deploy, type DeployOptions, type DeployResult } from "./deploy.js";
import { importFile, writeImport, type ImportFileOptions, type ImportFileResult } from "./import-file.js";
import { plan, type PlanOptions, type PlanResult } from "./plan.js";
import type { AppSource } from "./prepare-app.js";
import { composeServices, type ComposeServicesOptions, type SdxServices, type SdxSession } from "./sdx-services.js";
import { destroy, status, type DestroyResult, type StatusResult, type TargetOperationOptions } from "./status.js";
import { validate, type ValidateOptions } from "./validate.js";

/** An operation's options without the session fields, which the session supplies. */
export type SessionOptions<O> = Omit<O, "session" | "container">;

/**
 * The API bound to one session: its backends, price sources, plugins and
 * environment. `sdx.plan(file)` is `plan(file, { session: sdx })`.
 */
export interface Sdx extends SdxSession {
  plan(app: AppSource, options?: SessionOptions<PlanOptions>): Promise<PlanResult>;
  deploy(app: AppSource, options?: SessionOptions<DeployOptions>): Promise<DeployResult>;
  status(app: AppSource, options?: SessionOptions<TargetOperationOptions>): Promise<StatusResult>;
  destroy(app: AppSource, options?: SessionOptions<TargetOperationOptions>): Promise<DestroyResult>;
  validate(path: string, options?: SessionOptions<ValidateOptions>): Promise<LoadAppResult>;
  check(app: AppSource, options?: SessionOptions<CheckOptions>): Promise<CheckResult>;
  importFile(file: string, options?: SessionOptions<ImportFileOptions>): Promise<ImportFileResult>;
  writeImport: typeof writeImport;
}

/** Options for {@link createSdx}: what the session is made of. */
export type CreateSdxOptions = ComposeServicesOptions;

/** The API bound to already composed services (a container's, say). */
export function sdxOf(services: SdxServices): Sdx {
  const session: Sdx = {
    services,
    plan: (app, o = {}) => plan(app, { ...o, session }),
    deploy: (app, o = {}) => deploy(app, { ...o, session }),
    status: (app, o = {}) => status(app, { ...o, session }),
    destroy: (app, o = {}) => destroy(app, { ...o, session }),
    validate: (path, o = {}) => validate(path, { ...o, session }),
    check: (app, o = {}) => check(app, { ...o, session }),
    importFile: (file, o = {}) => importFile(file, { env: services.runtime.env, ...o, session }),
    writeImport,
  };
  return session;
}

/**
 * A session: the built-in backends (unless `builtins: false`) plus the given
 * backends, price sources and loaded plugins, with its own environment.
 * Nothing is loaded until used; a kind registered twice is refused.
 *
 * ```ts
 * const sdx = createSdx({ backends: [createNomadBackend()], priceSources: [rateCard] });
 * const r = await sdx.plan("sdx.yaml", { target: "cheapest" });
 * ```
 */
export function createSdx(options: CreateSdxOptions = {}): Sdx {
  return sdxOf(composeServices(options));
}

