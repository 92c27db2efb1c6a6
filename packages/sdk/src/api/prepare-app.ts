import { existsSync, statSync } from "node:fs";
import type { Backend, BackendContext } from "../backend/backend.js";
import { applyOverrides } from "../backend/apply-overrides.js";
import { checkSizeLimits } from "../backend/check-size-limits.js";
import { SdxError } from "../errors/sdx-error.js";
import { readDotEnv } from "../import/env-file.js";
import { loadApp, resolveAppFile } from "../load/load-app.js";
import { containedTextReader } from "../load/read-contained-file.js";
import type { App, Target } from "../model/app.js";
import type { Resource } from "../plan/resource.js";
import { computeRevision, type AppRevision } from "../revision/compute-revision.js";
import { sensitiveValuesIn } from "../secrets/sensitive-values.js";
import { resolveSecrets, type ResolvedSecrets } from "../secrets/resolve-secrets.js";
import { didYouMean } from "../util/did-you-mean.js";
import { hasErrors, type Diagnostic } from "../validation/diagnostic.js";
import { validateNormalizedApp } from "../validation/validate-normalized-app.js";
import type { SdxServices } from "./sdx-services.js";

/**
 * An app for the API: a path to an app file or directory, or an {@link App}
 * object, which is validated like a file (`SDX_VALIDATION` when it is not valid).
 */
export type AppSource = string | App;

/** An app loaded, validated, with secrets resolved and its revision computed. */
export interface PreparedApp {
  readonly app: App;
  readonly diagnostics: readonly Diagnostic[];
  readonly baseDir: string;
  readonly secrets: ResolvedSecrets;
  readonly revision: AppRevision;
  /**
   * Values plans must mask: secret-looking values interpolated into plain
   * settings, and every resolved secret value (see `maskPlan`). @default []
   */
  readonly sensitive?: readonly string[];
}

/**
 * Loads and validates the app, resolves secrets and computes the revision.
 * Throws `SDX_VALIDATION` (with every diagnostic in `details`) when the app is invalid.
 */
export async function prepareApp(
  source: AppSource,
  services: SdxServices,
  opts: {
    readonly baseDir?: string; readonly secretsMissing: "error" | "warning"; readonly env?: Readonly<Record<string, string | undefined>>;
    /** See {@link OperationOptions.allowOutside}. @default [] */
    readonly allowOutside?: readonly string[];
    /** Cancels loading (a config module's child process is killed). */
    readonly signal?: AbortSignal;
  },
): Promise<PreparedApp> {
  const env = opts.env ?? services.runtime.env;
  let app: App;
  let baseDir: string;
  let sensitive: readonly string[] = [];
  const diagnostics: Diagnostic[] = [];
  if (typeof source === "string") {
    const file = resolveAppFile(source, (p) => (existsSync(p) ? (statSync(p).isDirectory() ? "dir" : "file") : undefined));
    const loaded = await loadApp(file, {
      env,
      ...(opts.allowOutside ? { allowOutside: opts.allowOutside } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      targetKinds: await services.registry.targetKinds(),
    });
    diagnostics.push(...loaded.diagnostics);
    if (!loaded.app) throw validationError(file, diagnostics);
    app = loaded.app;
    baseDir = loaded.baseDir;
    sensitive = loaded.sensitive ?? [];
  } else {
    // An object gets the same checks as a file: it must not reach a backend with a
    // name, namespace or path that no app file could carry.
    const checked = validateNormalizedApp(source, { targetKinds: await services.registry.targetKinds() });
    diagnostics.push(...checked.diagnostics);
    if (!checked.app) throw validationError("the app object", diagnostics);
    app = checked.app;
    baseDir = opts.baseDir ?? process.cwd();
    // An object was built by the caller: its values may come from secret-looking variables too.
    sensitive = sensitiveValuesIn(app, env);
  }
  const secretEnv = secretEnvironment(baseDir, env, opts.allowOutside ?? [], diagnostics);
  const resolved = await resolveSecrets(app, { env: secretEnv, baseDir, missing: opts.secretsMissing, ...(opts.allowOutside ? { allowOutside: opts.allowOutside } : {}) });
  diagnostics.push(...resolved.diagnostics);
  if (hasErrors(resolved.diagnostics)) throw validationError(app.name, diagnostics);
  const secretValues = [...resolved.secrets.values()].flatMap((x) => (x.value ? [x.value.reveal()] : []));
  return { app, diagnostics, baseDir, secrets: resolved.secrets, revision: computeRevision(app, resolved.secrets), sensitive: [...sensitive, ...secretValues] };
}

/**
 * Variables `fromEnv` secrets read: `.env` beside the app file under the
 * environment (the environment wins), as Compose feeds `.env` to containers,
 * so an app imported from Compose finds the secrets its `.env` holds.
 * `${VAR}` interpolation does not read it.
 */
export function secretEnvironment(
  baseDir: string, env: Readonly<Record<string, string | undefined>>, allowOutside: readonly string[], diagnostics: Diagnostic[],
): Readonly<Record<string, string | undefined>> {
  const dot = readDotEnv(baseDir, containedTextReader({ baseDir, allowOutside }), env);
  diagnostics.push(...dot.diagnostics);
  if (!dot.found) return env;
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined));
  return { ...dot.vars, ...set };
}

function validationError(where: string, diagnostics: readonly Diagnostic[]): SdxError {
  const errors = diagnostics.filter((d) => d.severity === "error");
  const first = errors[0];
  return new SdxError("SDX_VALIDATION", `${where}: ${errors.length} error${errors.length === 1 ? "" : "s"}${first ? `; first: ${first.path ? `${first.path}: ` : ""}${first.message}` : ""}`, {
    fault: "user", hint: first?.hint ?? "Run `sdx validate` to see every problem.", details: { diagnostics },
  });
}

/**
 * Refuses files and secrets bigger than the target's backend can deliver
 * (`SDX_VALIDATION` carrying `SDX_FILE_TOO_LARGE` diagnostics), before anything
 * is rendered or sent.
 */
export function assertSizeLimits(p: PreparedApp, target: Target, backend: Backend): void {
  const bytes = new Map<string, number>();
  for (const [k, s] of p.secrets) if (s.bytes !== undefined) bytes.set(k, s.bytes);
  const diagnostics = checkSizeLimits(p.app, target, backend, bytes);
  if (hasErrors(diagnostics)) throw validationError(`${p.app.name} on ${target.name}`, diagnostics);
}

/** The diagnostics carried by an `SDX_VALIDATION` error. */
export function diagnosticsOf(e: unknown): readonly Diagnostic[] {
  const d = (e as { details?: { diagnostics?: unknown } } | undefined)?.details?.diagnostics;
  return Array.isArray(d) ? (d as Diagnostic[]) : [];
}

/** Finds a target by name, with did-you-mean. */
export function findTarget(app: App, name: string): Target {
  const t = app.targets.find((x) => x.name === name);
  if (t) return t;
  const names = app.targets.map((x) => x.name);
  const s = didYouMean(name, names);
  throw new SdxError("SDX_UNKNOWN_TARGET", `app "${app.name}" has no target named "${name}"`, {
    fault: "user", hint: s.length ? `Did you mean "${s[0]}"?` : names.length ? `Targets: ${names.join(", ")}.` : "Add one under `targets:` in the app file.",
  });
}

/** The backend context for one target. */
export function contextFor(p: PreparedApp, target: Target): BackendContext {
  return { app: p.app, target, revision: p.revision, secrets: p.secrets, baseDir: p.baseDir };
}

/** Renders a target's resources with its overrides applied. */
export function renderTarget(backend: Backend, ctx: BackendContext): Resource[] {
  return applyOverrides(backend.render(ctx), ctx.target.overrides);
}
