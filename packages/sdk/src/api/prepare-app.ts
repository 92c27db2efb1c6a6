import { existsSync, statSync } from "node:fs";
import type { Backend, BackendContext } from "../backend/backend.js";
import { applyOverrides } from "../backend/apply-overrides.js";
import { SdxError } from "../errors/sdx-error.js";
import { loadApp, resolveAppFile } from "../load/load-app.js";
import type { AnyTarget, App } from "../model/app.js";
import type { Resource } from "../plan/resource.js";
import { computeRevision, type AppRevision } from "../revision/compute-revision.js";
import { resolveSecrets, type ResolvedSecrets } from "../secrets/resolve-secrets.js";
import { didYouMean } from "../util/did-you-mean.js";
import { hasErrors, type Diagnostic } from "../validation/diagnostic.js";
import type { SdxServices } from "./sdx-services.js";

/** An app for the API: a path to an app file or directory, or an already-validated {@link App}. */
export type AppSource = string | App;

/** An app loaded, validated, with secrets resolved and its revision computed. */
export interface PreparedApp {
  readonly app: App;
  readonly diagnostics: readonly Diagnostic[];
  readonly baseDir: string;
  readonly secrets: ResolvedSecrets;
  readonly revision: AppRevision;
}

/**
 * Loads and validates the app, resolves secrets and computes the revision.
 * Throws `SDX_VALIDATION` (with every diagnostic in `details`) when the app is invalid.
 */
export async function prepareApp(
  source: AppSource,
  services: SdxServices,
  opts: { readonly baseDir?: string; readonly secretsMissing: "error" | "warning"; readonly env?: Readonly<Record<string, string | undefined>> },
): Promise<PreparedApp> {
  const env = opts.env ?? services.runtime.env;
  let app: App;
  let baseDir: string;
  const diagnostics: Diagnostic[] = [];
  if (typeof source === "string") {
    const file = resolveAppFile(source, (p) => (existsSync(p) ? (statSync(p).isDirectory() ? "dir" : "file") : undefined));
    const extraTargetKinds = services.registry.kinds().filter((k) => !["kubernetes", "swarm", "ecs"].includes(k));
    const backends = new Map<string, Backend>();
    for (const k of extraTargetKinds) backends.set(k, await services.registry.get(k));
    const loaded = await loadApp(file, {
      env,
      extraTargetKinds,
      validateCustomTarget: (kind, raw, path) => backends.get(kind)?.validateTarget?.(raw, path) ?? [],
    });
    diagnostics.push(...loaded.diagnostics);
    if (!loaded.app) throw validationError(file, diagnostics);
    app = loaded.app;
    baseDir = loaded.baseDir;
  } else {
    app = source;
    baseDir = opts.baseDir ?? process.cwd();
  }
  const resolved = await resolveSecrets(app, { env, baseDir, missing: opts.secretsMissing });
  diagnostics.push(...resolved.diagnostics);
  if (hasErrors(resolved.diagnostics)) throw validationError(app.name, diagnostics);
  return { app, diagnostics, baseDir, secrets: resolved.secrets, revision: computeRevision(app, resolved.secrets) };
}

function validationError(where: string, diagnostics: readonly Diagnostic[]): SdxError {
  const errors = diagnostics.filter((d) => d.severity === "error");
  const first = errors[0];
  return new SdxError("SDX_VALIDATION", `${where}: ${errors.length} error${errors.length === 1 ? "" : "s"}${first ? `; first: ${first.path ? `${first.path}: ` : ""}${first.message}` : ""}`, {
    fault: "user", hint: first?.hint ?? "Run `sdx validate` to see every problem.", details: { diagnostics },
  });
}

/** The diagnostics carried by an `SDX_VALIDATION` error. */
export function diagnosticsOf(e: unknown): readonly Diagnostic[] {
  const d = (e as { details?: { diagnostics?: unknown } } | undefined)?.details?.diagnostics;
  return Array.isArray(d) ? (d as Diagnostic[]) : [];
}

/** Finds a target by name, with did-you-mean. */
export function findTarget(app: App, name: string): AnyTarget {
  const t = app.targets.find((x) => x.name === name);
  if (t) return t;
  const names = app.targets.map((x) => x.name);
  const s = didYouMean(name, names);
  throw new SdxError("SDX_UNKNOWN_TARGET", `app "${app.name}" has no target named "${name}"`, {
    fault: "user", hint: s.length ? `Did you mean "${s[0]}"?` : names.length ? `Targets: ${names.join(", ")}.` : "Add one under `targets:` in the app file.",
  });
}

/** The backend context for one target. */
export function contextFor(p: PreparedApp, target: AnyTarget): BackendContext {
  return { app: p.app, target, revision: p.revision, secrets: p.secrets, baseDir: p.baseDir };
}

/** Renders a target's resources with its overrides applied. */
export function renderTarget(backend: Backend, ctx: BackendContext): Resource[] {
  return applyOverrides(backend.render(ctx), ctx.target.overrides);
}
