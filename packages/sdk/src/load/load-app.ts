import { dirname, extname, isAbsolute, join, resolve } from "node:path";
import { homedir } from "node:os";
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Pair } from "yaml";
import type { TargetKindSpec } from "../backend/backend.js";
import type { App, Target } from "../model/app.js";
import { SdxError } from "../errors/sdx-error.js";
import { hasErrors, sortDiagnostics, type Diagnostic } from "../validation/diagnostic.js";
import { validateApp, type ValidateAppOptions } from "../validation/validate-app.js";
import { interpolate } from "./interpolate.js";
import { sensitiveValuesIn } from "../secrets/sensitive-values.js";
import { yamlSyntaxDiagnostics } from "./yaml-syntax-diagnostics.js";
import { checkYamlBudget, prescanYamlDepth } from "./check-yaml-budget.js";
import { loadConfigModule } from "./load-config-module.js";
import { keepOctalFileModes } from "./keep-octal-file-modes.js";
import { detectImportFormat, detectImportFormatOfDocument } from "../import/detect-import-format.js";
import { importApp } from "../import/import-app.js";
import type { ImportNote } from "../import/import-result.js";
import { checkSecretFiles } from "../secrets/resolve-secrets.js";
import { containedTextReader, readRegularFile, type FileAccess } from "./read-contained-file.js";

/** Options for {@link loadApp}. */
export interface LoadAppOptions extends Omit<ValidateAppOptions, "readFile"> {
  /** Variables for `${VAR}` interpolation. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Directories outside the app file's directory that `fromFile`, `env_file` and
   * other file paths may read from (absolute, or relative to the app file's
   * directory). Everything else outside is refused with `SDX_PATH_OUTSIDE_APP`.
   * @default []
   */
  readonly allowOutside?: readonly string[];
  /**
   * How long an `sdx.config.ts` / `.js` / `.mjs` module may take to produce the app.
   * @default env SDX_CONFIG_TIMEOUT_MS, else 10000 (LIMITS.configTimeoutMs)
   */
  readonly configTimeoutMs?: number;
  /** Stops loading a config module (its child process is killed). */
  readonly signal?: AbortSignal;
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
  /**
   * Secret-looking values that interpolation put into plain settings
   * (`postgres://app:${DB_PASSWORD}@db`): plans mask them (see `maskPlan`).
   * @default []
   */
  readonly sensitive?: readonly string[];
  /** Sizes of the `fromFile` secrets checked while loading, by `service/secret`, for size limits. @default undefined (not checked) */
  readonly secretFileBytes?: ReadonlyMap<string, number>;
}

/** Candidate names when a directory is given. */
export const APP_FILE_NAMES = ["sdx.yaml", "sdx.yml", "sdx.json", "sdx.config.ts", "sdx.config.js", "sdx.config.mjs"] as const;

type Locate = (path: string) => { line: number; column: number } | undefined;

/**
 * Parses YAML or JSON text. Syntax errors become diagnostics with line and column;
 * so do the parse budgets (nesting depth, aliases and what they expand to, see
 * `LIMITS` in model/limits.ts) as `SDX_LIMIT_EXCEEDED`, checked before any value is built.
 */
export function parseAppText(text: string, fileName = "sdx.yaml"): { doc: unknown; diagnostics: Diagnostic[]; locate: Locate } {
  const none: Locate = () => undefined;
  const tooDeep = prescanYamlDepth(text, fileName);
  if (tooDeep) return { doc: undefined, diagnostics: [tooDeep], locate: none };
  const lineCounter = new LineCounter();
  // YAML 1.2 core schema: JSON is valid YAML, so one parser serves both formats.
  // uniqueKeys is checked by checkYamlBudget: the yaml package's own check is quadratic in a mapping's size.
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, strict: true });
  const diagnostics = yamlSyntaxDiagnostics(document, lineCounter, fileName);
  // An unknown tag (`!Ref x`) is only a warning to the yaml package, which then drops it and keeps the bare value: refuse it.
  for (const w of document.warnings) {
    if (w.code !== "TAG_RESOLVE_FAILED") continue;
    const pos = lineCounter.linePos(w.pos[0]);
    diagnostics.push({
      code: "SDX_SYNTAX", severity: "error", path: "", message: `${fileName}:${pos.line}:${pos.col}: ${w.message.split("\n")[0]}`,
      hint: "An sdx app file uses no YAML tags: write the value itself (tags such as CloudFormation's !Ref are not supported).", line: pos.line, column: pos.col,
    });
  }
  if (diagnostics.length === 0) diagnostics.push(...checkYamlBudget(document, lineCounter, fileName));
  if (diagnostics.length === 0) keepOctalFileModes(document); // `mode: 0644` means octal, as in Compose
  const index = new WeakMap<object, Map<unknown, Pair>>();
  const locate: Locate = (path) => locateInDocument(document, lineCounter, path, index);
  if (diagnostics.length > 0) return { doc: undefined, diagnostics, locate };
  try {
    // The budget above already bounds aliases; yaml's own count (maxAliasCount) would refuse an anchor used 101 times.
    return { doc: document.toJS({ maxAliasCount: -1 }), diagnostics, locate };
  } catch (e) {
    // Unreachable after the budget check, kept so a yaml surprise is a clear user error rather than SDX_INTERNAL.
    diagnostics.push({
      code: "SDX_SYNTAX", severity: "error", path: "", message: `${fileName}: cannot build the document: ${e instanceof Error ? e.message : String(e)}`,
      hint: "Check the anchors and aliases in the file.",
    });
    return { doc: undefined, diagnostics, locate };
  }
}

function splitPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g;
  for (let m = re.exec(path); m; m = re.exec(path)) out.push(m[2] !== undefined ? Number(m[2]) : m[3] !== undefined ? JSON.parse(`"${m[3]}"`) : m[1]!);
  return out;
}

function locateInDocument(doc: Document, lc: LineCounter, path: string, index: WeakMap<object, Map<unknown, Pair>>): { line: number; column: number } | undefined {
  const segs = splitPath(path);
  // Walk as far as the path exists: an unknown or missing key points at its parent.
  let node: unknown = doc.contents;
  let best: { line: number; column: number } | undefined;
  for (const s of segs) {
    if (isMap(node)) {
      // One key index per mapping, built on first use: a linear search per diagnostic made
      // thousands of diagnostics on a large mapping quadratic. The first pair wins, as with find().
      let keys = index.get(node);
      if (!keys) {
        keys = new Map();
        for (const p of node.items) {
          const k = (p.key as { value?: unknown } | null)?.value;
          if (!keys.has(k)) keys.set(k, p as Pair);
        }
        index.set(node, keys);
      }
      const pair = keys.get(s);
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
 * cannot be read at all, or a config module fails to produce the app (see
 * {@link loadConfigModule}: it runs in a child process with a timeout).
 */
export async function loadApp(file: string, options: LoadAppOptions = {}): Promise<LoadAppResult> {
  const env = options.env ?? process.env;
  const baseDir = dirname(file);
  const ext = extname(file);
  let doc: unknown;
  let locate: Locate = () => undefined;
  const diagnostics: Diagnostic[] = [];
  if (ext === ".ts" || ext === ".js" || ext === ".mjs" || ext === ".mts") {
    // Same checks as any app file first (regular file, size, encoding): a FIFO fails here, not by timeout.
    readRegularFile(file, { what: "config module" });
    // In a child process with a timeout: a stray process.exit, a late throw or a promise
    // that never settles must not end, hang or pass as success in the caller.
    doc = await loadConfigModule(file, {
      env,
      ...(options.configTimeoutMs === undefined ? {} : { timeoutMs: options.configTimeoutMs }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } else {
    // Regular file, at most MAX_APP_FILE_BYTES, strict UTF-8: a FIFO or /dev/zero fails at once.
    const text = readRegularFile(file);
    // One parse serves format detection and loading: parsing is most of the time a large app takes.
    const parsed = parseAppText(text, file);
    // Over a parse budget (an alias bomb, deep nesting): report it whatever the format, before any importer parses it.
    if (parsed.diagnostics.some((d) => d.code === "SDX_LIMIT_EXCEEDED")) return { diagnostics: parsed.diagnostics, file, baseDir };
    // Not valid as sdx YAML (a Compose `!reset` tag, say): detect from the text as before; an importer reports its own errors.
    const format = (parsed.diagnostics.length === 0 ? detectImportFormatOfDocument(file, parsed.doc) : detectImportFormat(file, text)).format;
    if (format === "compose" || format === "score") return loadImported(text, format, file, baseDir, env, options);
    diagnostics.push(...parsed.diagnostics);
    doc = parsed.doc;
    locate = parsed.locate;
    if (parsed.diagnostics.length > 0) return { diagnostics, file, baseDir };
  }
  const interp = interpolate(doc, env);
  diagnostics.push(...interp.diagnostics);
  const access = fileAccess(baseDir, options);
  const result = validateApp(interp.value, { ...options, readFile: containedTextReader(access) });
  diagnostics.push(...result.diagnostics);
  const secretFiles = result.app ? checkSecretFiles(result.app, access) : undefined;
  if (secretFiles) diagnostics.push(...secretFiles.diagnostics);
  const located = sortDiagnostics(diagnostics.map((d) => (d.line !== undefined ? d : { ...d, ...locate(d.path) })));
  return { ...(hasErrors(located) || !result.app ? {} : { app: resolveTargetPaths(result.app, baseDir, options.targetKinds) }), diagnostics: located, file, baseDir, sensitive: sensitiveValuesIn(interp.value, env), ...(secretFiles ? { secretFileBytes: secretFiles.bytes } : {}) };
}

/**
 * `sdx plan -f compose.yaml`: imports the file, then validates the result like
 * any app. The importer has already interpolated (with Compose's rules), so the
 * document is not interpolated again. Dropped keys surface as warnings.
 */
function loadImported(text: string, format: "compose" | "score", file: string, baseDir: string, env: Readonly<Record<string, string | undefined>>, options: LoadAppOptions): LoadAppResult {
  const access = fileAccess(baseDir, options);
  const read = containedTextReader(access);
  // The format is known already: detecting it again would parse the file once more.
  const imported = importApp(text, { format, fileName: file, baseDir, readFile: read, env: { ...env } });
  const diagnostics: Diagnostic[] = [...imported.diagnostics];
  for (const n of imported.report) {
    if (n.level === "dropped") diagnostics.push({ code: "SDX_IMPORT_DROPPED", severity: "warning", path: n.path, message: `not carried over: ${n.reason}`, hint: "Run `sdx import` to write an sdx.yaml and see the full report." });
  }
  const base = { file, baseDir, ...(imported.format ? { importedFrom: imported.format } : {}), importReport: imported.report };
  if (hasErrors(imported.diagnostics)) return { diagnostics: sortDiagnostics(diagnostics), ...base };
  const result = validateApp(imported.document, { ...options, readFile: read });
  diagnostics.push(...result.diagnostics);
  const secretFiles = result.app ? checkSecretFiles(result.app, access) : undefined;
  if (secretFiles) diagnostics.push(...secretFiles.diagnostics);
  const sorted = sortDiagnostics(diagnostics);
  // The importer substituted the variables already: find their secret-looking values afterwards.
  return { ...(hasErrors(sorted) || !result.app ? {} : { app: result.app }), diagnostics: sorted, ...base, sensitive: sensitiveValuesIn(imported.document, env), ...(secretFiles ? { secretFileBytes: secretFiles.bytes } : {}) };
}

/** Files an app may read: its own directory, plus the explicitly allowed ones. */
function fileAccess(baseDir: string, options: LoadAppOptions): FileAccess {
  return { baseDir, allowOutside: options.allowOutside ?? [] };
}

/** `~/x` → home, relative → against the app file's directory, absolute as is. */
export function resolveUserPath(p: string, baseDir: string): string {
  if (p === "~" || p.startsWith("~/")) return join(homedir(), p.slice(1));
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

/**
 * Paths in targets (a kubeconfig, a TLS directory: each kind's
 * `pathSettings`) mean what they say relative to the app file, wherever sdx is
 * run from. They are not confined to the app's directory: they are credentials.
 */
export function resolveTargetPaths(app: App, baseDir: string, targetKinds: ReadonlyMap<string, TargetKindSpec> = new Map()): App {
  const targets = app.targets.map((t) => {
    const settings: Record<string, unknown> = { ...t };
    for (const key of targetKinds.get(t.kind)?.pathSettings ?? []) {
      const v = settings[key];
      if (typeof v === "string") settings[key] = resolveUserPath(v, baseDir);
    }
    // Same kind, same fields: only the values of string paths changed.
    return settings as unknown as Target;
  });
  return { ...app, targets };
}
