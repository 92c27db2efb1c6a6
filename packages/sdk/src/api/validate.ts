import type { TargetKindSpec } from "../backend/backend.js";
import { existsSync, statSync } from "node:fs";
import type { Container } from "inversify";
import { checkSizeLimits } from "../backend/check-size-limits.js";
import { loadApp, resolveAppFile, type LoadAppResult } from "../load/load-app.js";
import type { App } from "../model/app.js";
import { checkSecretFiles, secretKey } from "../secrets/resolve-secrets.js";
import { hasErrors, sortDiagnostics, type Diagnostic } from "../validation/diagnostic.js";
import { sdxServices, type SdxServices, type SdxSession } from "./sdx-services.js";

/** Options for {@link validate}. */
export interface ValidateOptions {
  readonly container?: Container;
  /** The session to run in (`createSdx()`); wins over `container`. @default the default session (built-ins) */
  readonly session?: SdxSession;
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Directories outside the app file's directory that file paths may read from (the CLI's `--allow-outside`). @default [] */
  readonly allowOutside?: readonly string[];
}

/** Loads and validates an app file against the target kinds of the registered backends. Never throws for bad content. */
export async function validate(path: string, options: ValidateOptions = {}): Promise<LoadAppResult> {
  const services = sdxServices(options);
  const file = resolveAppFile(path, (p) => (existsSync(p) ? (statSync(p).isDirectory() ? "dir" : "file") : undefined));
  const env = options.env ?? services.runtime.env;
  const r = await loadApp(file, {
    env,
    targetKinds: await services.registry.targetKinds(),
    ...(options.allowOutside ? { allowOutside: options.allowOutside } : {}),
  });
  if (!r.app) return r;
  const limits = await sizeLimitDiagnostics(r.app, services, r.secretFileBytes ?? checkSecretFiles(r.app, { baseDir: r.baseDir, allowOutside: options.allowOutside ?? [] }).bytes, env);
  if (limits.length === 0) return r;
  const diagnostics = sortDiagnostics([...r.diagnostics, ...limits]);
  const { app: _invalid, ...rest } = r;
  return hasErrors(diagnostics) ? { ...rest, diagnostics } : { ...r, diagnostics };
}

/** Every target's backend size limits, checked against the files and the secrets whose size is known without a deploy. */
export async function sizeLimitDiagnostics(
  app: App, services: SdxServices, secretFileBytes: ReadonlyMap<string, number>, env: Readonly<Record<string, string | undefined>>,
): Promise<Diagnostic[]> {
  // Loading a backend costs an import; an app with no files or secrets needs none.
  if (!app.services.some((s) => s.files.length > 0 || s.secrets.length > 0)) return [];
  const bytes = new Map(secretFileBytes);
  for (const svc of app.services) {
    for (const s of svc.secrets) {
      const v = s.source.kind === "env" ? env[s.source.name] : undefined;
      if (v !== undefined) bytes.set(secretKey(svc.name, s.name), Buffer.byteLength(v, "utf8"));
    }
  }
  const out: Diagnostic[] = [];
  const kinds = await services.registry.targetKinds().catch(() => new Map<string, TargetKindSpec>());
  for (const t of app.targets) {
    // The spec's declared capabilities first: validating must not load every backend.
    const spec = kinds.get(t.kind);
    const declared = spec?.capabilities && spec.displayName ? { kind: t.kind, displayName: spec.displayName, capabilities: spec.capabilities } : undefined;
    // A kind without a registered backend is reported by validation already.
    const backend = declared ?? (await services.registry.get(t.kind).catch(() => undefined));
    if (backend) out.push(...checkSizeLimits(app, t, backend, bytes));
  }
  return out;
}
