import { readFileSync } from "node:fs";
import { dirname, extname, isAbsolute, join, resolve } from "node:path";
import { homedir } from "node:os";
import { pathToFileURL } from "node:url";
import { isMap, isSeq, LineCounter, parseDocument, type Document } from "yaml";
import type { App } from "../model/app.js";
import { SdxError } from "../errors/sdx-error.js";
import { hasErrors, sortDiagnostics, type Diagnostic } from "../validation/diagnostic.js";
import { validateApp, type ValidateAppOptions } from "../validation/validate-app.js";
import { interpolate } from "./interpolate.js";
import { yamlSyntaxDiagnostics } from "./yaml-syntax-diagnostics.js";
import { detectImportFormat } from "../import/detect-import-format.js";
import { importApp } from "../import/import-app.js";
import type { ImportNote } from "../import/import-result.js";

/** Options for {@link loadApp}. */
export interface LoadAppOptions extends Omit<ValidateAppOptions, "readFile"> {
  /** Variables for `${VAR}` interpolation. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Result of {@link loadApp}: the app when valid, and every diagnostic with line and column where known. */
export interface LoadAppResult {
  readonly app?: App;
  readonly diagnostics: readonly Diagnostic[];
  /** Absolute path of the file that was read. */
  readonly file: string;
  /** Directory that relative paths in the app resolve against. */
  readonly baseDir: string;
  /** Set when the file was a Compose file or a Score workload, imported on the fly. */
  readonly importedFrom?: "compose" | "score";
  /** What the import translated, approximated, dropped or ignored (see `sdx import`). */
  readonly importReport?: readonly ImportNote[];
}

/** Candidate names when a directory is given. */
export const APP_FILE_NAMES = ["sdx.yaml", "sdx.yml", "sdx.json", "sdx.config.ts", "sdx.config.js", "sdx.config.mjs"] as const;

type Locate = (path: string) => { line: number; column: number } | undefined;

/** Parses YAML or JSON text. Syntax errors become diagnostics with line and column. */
export function parseAppText(text: string, fileName = "sdx.yaml"): { doc: unknown; diagnostics: Diagnostic[]; locate: Locate } {
  const lineCounter = new LineCounter();
  // YAML 1.2 core schema: JSON is valid YAML, so one parser serves both formats.
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  const diagnostics = yamlSyntaxDiagnostics(document, lineCounter, fileName);
  const locate: Locate = (path) => locateInDocument(document, lineCounter, path);
  return { doc: diagnostics.length > 0 ? undefined : document.toJS({ maxAliasCount: 100 }), diagnostics, locate };
}

function splitPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g;
  for (let m = re.exec(path); m; m = re.exec(path)) out.push(m[2] !== undefined ? Number(m[2]) : m[3] !== undefined ? JSON.parse(`"${m[3]}"`) : m[1]!);
  return out;
}

function locateInDocument(doc: Document, lc: LineCounter, path: string): { line: number; column: number } | undefined {
  const segs = splitPath(path);
  // Walk as far as the path exists: an unknown or missing key points at its parent.
  let node: unknown = doc.contents;
  let best: { line: number; column: number } | undefined;
  for (const s of segs) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === s);
      if (!pair) break;
      const key = pair.key as { range?: [number, number, number] } | null;
      if (key?.range) {
        const pos = lc.linePos(key.range[0]);
        best = { line: pos.line, column: pos.col };
      }
      node = pair.value;
    } else if (isSeq(node) && typeof s === "number") {
      node = node.items[s];
      const r = (node as { range?: [number, number, number] } | undefined)?.range;
      if (r) {
        const pos = lc.linePos(r[0]);
        best = { line: pos.line, column: pos.col };
      }
    } else break;
  }
  return best;
}

/** Finds the app file: the path itself, or a known file name inside a directory. */
export function resolveAppFile(pathOrDir: string, exists: (p: string) => "file" | "dir" | undefined): string {
  const abs = isAbsolute(pathOrDir) ? pathOrDir : resolve(pathOrDir);
  const kind = exists(abs);
  if (kind === "file") return abs;
  if (kind === "dir") {
    for (const n of APP_FILE_NAMES) if (exists(resolve(abs, n)) === "file") return resolve(abs, n);
    throw new SdxError("SDX_LOAD", `no app file in ${pathOrDir}`, { fault: "user", hint: `Create ${APP_FILE_NAMES.slice(0, 3).join(", ")} or sdx.config.ts there.` });
  }
  throw new SdxError("SDX_LOAD", `${pathOrDir} does not exist`, { fault: "user", hint: "Pass the path of an sdx.yaml, or a directory holding one." });
}

/**
 * Reads, interpolates and validates an app file: `sdx.yaml`, `sdx.json`, or
 * `sdx.config.ts` exporting `defineApp(...)` as default. Never throws for bad
 * content; every problem is a diagnostic. Throws `SDX_LOAD` only when the file
 * cannot be read at all.
 */
export async function loadApp(file: string, options: LoadAppOptions = {}): Promise<LoadAppResult> {
  const env = options.env ?? process.env;
  const baseDir = dirname(file);
  const ext = extname(file);
  let doc: unknown;
  let locate: Locate = () => undefined;
  const diagnostics: Diagnostic[] = [];
  if (ext === ".ts" || ext === ".js" || ext === ".mjs" || ext === ".mts") {
    try {
      // Node ≥ 22.18 strips TypeScript types natively, so no loader is needed.
      const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
      doc = typeof mod.default === "function" ? await (mod.default as () => unknown)() : mod.default;
    } catch (e) {
      throw new SdxError("SDX_LOAD", `cannot load ${file}: ${e instanceof Error ? e.message : String(e)}`, {
        fault: "user", cause: e, hint: "The module must `export default defineApp({...})`; type-only TypeScript is supported (no enums or namespaces).",
      });
    }
  } else {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new SdxError("SDX_LOAD", `cannot read ${file}`, { fault: "user", cause: e, hint: "Check the path and permissions." });
    }
    const format = detectImportFormat(file, text).format;
    if (format === "compose" || format === "score") return loadImported(text, file, baseDir, env, options);
    const parsed = parseAppText(text, file);
    diagnostics.push(...parsed.diagnostics);
    doc = parsed.doc;
    locate = parsed.locate;
    if (parsed.diagnostics.length > 0) return { diagnostics, file, baseDir };
  }
  const interp = interpolate(doc, env);
  diagnostics.push(...interp.diagnostics);
  const result = validateApp(interp.value, { ...options, readFile: (p) => readFileSync(resolve(baseDir, p), "utf8") });
  diagnostics.push(...result.diagnostics);
  const located = sortDiagnostics(diagnostics.map((d) => (d.line !== undefined ? d : { ...d, ...locate(d.path) })));
  return { ...(hasErrors(located) || !result.app ? {} : { app: resolveTargetPaths(result.app, baseDir) }), diagnostics: located, file, baseDir };
}

/**
 * `sdx plan -f compose.yaml`: imports the file, then validates the result like
 * any app. The importer has already interpolated (with Compose's rules), so the
 * document is not interpolated again. Dropped keys surface as warnings.
 */
function loadImported(text: string, file: string, baseDir: string, env: Readonly<Record<string, string | undefined>>, options: LoadAppOptions): LoadAppResult {
  const read = (p: string): string => readFileSync(resolve(baseDir, p), "utf8");
  const imported = importApp(text, { fileName: file, baseDir, readFile: read, env: { ...env } });
  const diagnostics: Diagnostic[] = [...imported.diagnostics];
  for (const n of imported.report) {
    if (n.level === "dropped") diagnostics.push({ code: "SDX_IMPORT_DROPPED", severity: "warning", path: n.path, message: `not carried over: ${n.reason}`, hint: "Run `sdx import` to write an sdx.yaml and see the full report." });
  }
  const base = { file, baseDir, ...(imported.format ? { importedFrom: imported.format } : {}), importReport: imported.report };
  if (hasErrors(imported.diagnostics)) return { diagnostics: sortDiagnostics(diagnostics), ...base };
  const result = validateApp(imported.document, { ...options, readFile: read });
  diagnostics.push(...result.diagnostics);
  const sorted = sortDiagnostics(diagnostics);
  return { ...(hasErrors(sorted) || !result.app ? {} : { app: result.app }), diagnostics: sorted, ...base };
}

/** `~/x` → home, relative → against the app file's directory, absolute as is. */
export function resolveUserPath(p: string, baseDir: string): string {
  if (p === "~" || p.startsWith("~/")) return join(homedir(), p.slice(1));
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

/**
 * Paths in built-in targets (a kubeconfig, a TLS directory) mean what they say
 * relative to the app file, wherever sdx is run from.
 */
export function resolveTargetPaths(app: App, baseDir: string): App {
  const targets = app.targets.map((t) => {
    if (t.kind === "kubernetes" && "kubeconfig" in t && typeof t.kubeconfig === "string") return { ...t, kubeconfig: resolveUserPath(t.kubeconfig, baseDir) };
    if (t.kind === "swarm" && "tlsDir" in t && typeof t.tlsDir === "string") return { ...t, tlsDir: resolveUserPath(t.tlsDir, baseDir) };
    return t;
  });
  return { ...app, targets };
}
