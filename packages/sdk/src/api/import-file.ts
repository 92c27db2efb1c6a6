import { existsSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { SdxError } from "../errors/sdx-error.js";
import { importApp } from "../import/import-app.js";
import type { ImportNote } from "../import/import-result.js";
import { toSdxYaml } from "../import/to-sdx-yaml.js";
import { containedTextReader, readRegularFile } from "../load/read-contained-file.js";
import { checkSecretFiles } from "../secrets/resolve-secrets.js";
import { hasErrors, type Diagnostic } from "../validation/diagnostic.js";
import { validateApp } from "../validation/validate-app.js";
import { sdxServices, type ServicesFrom } from "./sdx-services.js";
import { sizeLimitDiagnostics } from "./validate.js";

/** Options for {@link importFile}. */
export interface ImportFileOptions extends ServicesFrom {
  /** Where {@link writeImport} writes (relative to the current directory). @default sdx.yaml next to the source */
  readonly out?: string;
  /** Compose profiles to activate. @default COMPOSE_PROFILES from `env` (comma-separated), else none */
  readonly profiles?: readonly string[];
  /** Write the values of the variables the source reads instead of `${VAR}` references (never secret-looking ones). @default false */
  readonly inlineEnv?: boolean;
  /** Variables the source reads (Compose interpolation, `.env`). @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Directories outside the source's directory that `env_file`, secrets and configs may be read from. @default [] */
  readonly allowOutside?: readonly string[];
}

/** Result of {@link importFile}. Never holds a secret value: `template` keeps references. */
export interface ImportFileResult {
  /** Absolute path of the source file. */
  readonly source: string;
  /** Undefined when the file is neither Compose nor Score (see `diagnostics`). */
  readonly format?: "compose" | "score";
  /** No error diagnostics: the app would load as written. */
  readonly ok: boolean;
  /** The app as `sdx.yaml` holds it (`${VAR}` references, no secret values). */
  readonly template: Readonly<Record<string, unknown>>;
  /** What was translated, approximated, dropped or ignored. */
  readonly report: readonly ImportNote[];
  /** The importer's, validation's and the secret files' diagnostics. */
  readonly diagnostics: readonly Diagnostic[];
  /** Absolute path {@link writeImport} writes to. */
  readonly out: string;
  /** The `sdx.yaml` text, with the report at the top. Absent unless `ok`. */
  readonly text?: string;
}

/**
 * Converts a Compose file or Score workload to an sdx app, validated like any
 * app file, including the secret files it points at (or the written file would
 * not load). Writes nothing: see {@link writeImport}. Throws only when the
 * source cannot be read (`SDX_FILE_NOT_REGULAR`, `SDX_FILE_TOO_LARGE`, ...).
 */
export async function importFile(file: string, options: ImportFileOptions = {}): Promise<ImportFileResult> {
  const source = resolve(file);
  // A regular file of at most 4 MiB: a FIFO or /dev/zero fails at once.
  const text = readRegularFile(source);
  const baseDir = dirname(source);
  // env_file, secrets, configs: contained in the source's directory like every file an app names.
  const access = { baseDir, allowOutside: options.allowOutside ?? [] };
  const read = containedTextReader(access);
  const env = options.env ?? process.env;
  const profiles = options.profiles?.length ? options.profiles : (env.COMPOSE_PROFILES ?? "").split(",").filter(Boolean);
  const r = importApp(text, { fileName: source, baseDir, readFile: read, env: { ...env }, profiles, ...(options.inlineEnv ? { inlineEnv: true } : {}) });
  // Validated against the session's target kinds (Compose imports target swarm, Score kubernetes).
  const services = sdxServices(options);
  const validated = hasErrors(r.diagnostics) ? undefined : validateApp(r.document, { readFile: read, targetKinds: await services.registry.targetKinds() });
  const secretFiles = validated?.app ? checkSecretFiles(validated.app, access) : undefined;
  // A file over a target's backend limit (a 600 KiB config on Swarm) would load but never deploy: an error now, not at plan.
  const limits = validated?.app && secretFiles ? await sizeLimitDiagnostics(validated.app, services, secretFiles.bytes, env) : [];
  const diagnostics = [...r.diagnostics, ...(validated?.diagnostics ?? []), ...(secretFiles?.diagnostics ?? []), ...limits];
  const ok = !hasErrors(diagnostics);
  return {
    source, ...(r.format ? { format: r.format } : {}), ok, template: r.template, report: r.report, diagnostics,
    out: resolve(options.out ?? resolve(baseDir, "sdx.yaml")),
    // r.document holds values and is never written; toSdxYaml writes the template.
    ...(ok ? { text: toSdxYaml(r, { source: file }) } : {}),
  };
}

/** Options for {@link writeImport}. */
export interface WriteImportOptions {
  /** Replace an existing file. @default false */
  readonly force?: boolean;
}

/**
 * Writes an import's `sdx.yaml` to `result.out`. Refuses an import with errors
 * (`SDX_VALIDATION`) and an existing file without `force` (`SDX_FILE_EXISTS`).
 */
export function writeImport(result: ImportFileResult, options: WriteImportOptions = {}): { readonly path: string } {
  if (!result.ok || result.text === undefined) {
    throw new SdxError("SDX_VALIDATION", `${result.source} did not import cleanly; nothing written`, { fault: "user", hint: "Fix the errors listed, then import again.", details: { diagnostics: result.diagnostics } });
  }
  if (existsSync(result.out) && options.force !== true) {
    throw new SdxError("SDX_FILE_EXISTS", `${result.out} exists; not overwriting`, { fault: "user", hint: "Pass --force, or -o <path> to write elsewhere.", details: { path: result.out } });
  }
  writeFileSync(result.out, result.text);
  return { path: result.out };
}
