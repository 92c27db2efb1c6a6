import { existsSync, readFileSync, statSync } from "node:fs";
import { createRequire, findPackageJSON } from "node:module";
import { dirname, extname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { isSdxError, SdxError } from "../errors/sdx-error.js";
import { detectImportFormatOfDocument } from "../import/detect-import-format.js";
import { interpolate } from "../load/interpolate.js";
import { loadConfigModule } from "../load/load-config-module.js";
import { parseAppText, resolveAppFile } from "../load/load-app.js";
import { readRegularFile, resolveContainedPath } from "../load/read-contained-file.js";
import { toBackendProvider, type LoadedPlugin, type PluginBackend, type SdxPlugin } from "./sdx-plugin.js";

/** Where a plugin specifier was named, which decides what a relative path is relative to. */
export type PluginOrigin =
  /** The app file's `plugins:`; a path is relative to the app's directory and must stay inside it (or an `allowOutside` one). */
  | "app"
  /** `--plugin`; a path is relative to the current directory, like any path on a command line. */
  | "flag"
  /** `SDX_PLUGINS`; as for `flag`. */
  | "env";

/** One plugin to load. */
export interface PluginRef {
  /** A package name (`@acme/sdx-nomad`, resolved from the app's directory) or a path to a module. */
  readonly specifier: string;
  readonly origin: PluginOrigin;
}

/** Options for {@link loadPlugins}. */
export interface LoadPluginsOptions {
  /** The app file's directory: packages resolve from here, as do paths named in the app file. */
  readonly appDir: string;
  /** What `flag` and `env` paths are relative to. @default process.cwd() */
  readonly cwd?: string;
  /** Directories outside the app's that paths named in the app file may point into (`--allow-outside`). @default [] */
  readonly allowOutside?: readonly string[];
}

const isPath = (s: string): boolean => s.startsWith(".") || isAbsolute(s) || s.startsWith("file:");
const ORIGIN_TEXT: Record<PluginOrigin, string> = { app: "the app file's plugins", flag: "--plugin", env: "SDX_PLUGINS" };

function pluginError(ref: PluginRef, message: string, hint: string, extra: { resolvedFrom?: string; path?: string; cause?: unknown } = {}): SdxError {
  return new SdxError("SDX_PLUGIN", `plugin ${JSON.stringify(ref.specifier)} (from ${ORIGIN_TEXT[ref.origin]}${extra.resolvedFrom ? `, resolved from ${extra.resolvedFrom}` : ""}): ${message}`, {
    fault: "user", hint, ...(extra.cause === undefined ? {} : { cause: extra.cause }),
    details: { specifier: ref.specifier, origin: ref.origin, ...(extra.resolvedFrom ? { resolvedFrom: extra.resolvedFrom } : {}), ...(extra.path ? { path: extra.path } : {}) },
  });
}

/** The first line of a thrown value, for a message. Plugin errors are code errors, not secrets. */
const firstLine = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).split("\n")[0]!;

/** Resolves a package specifier as `import` would from `dir` (exports with the node/import/default conditions). */
function resolvePackage(ref: PluginRef, dir: string): string {
  const parent = join(dir, "noop.js");
  try {
    return createRequire(parent).resolve(ref.specifier);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // ESM-only packages (exports with an "import" condition only) are not visible to require.resolve.
    if (code === "ERR_PACKAGE_PATH_NOT_EXPORTED") {
      const found = resolveEsmExports(ref.specifier, parent);
      if (found) return found;
    }
    const pkg = ref.specifier.startsWith("@") ? ref.specifier.split("/").slice(0, 2).join("/") : ref.specifier.split("/")[0]!;
    throw pluginError(ref, code === "ERR_PACKAGE_PATH_NOT_EXPORTED" ? "the package does not export this path" : "no such package", `Install it where the app is (cd ${dir} && npm install ${pkg}), or name the plugin's module by path.`, { resolvedFrom: dir, cause: e });
  }
}

function resolveEsmExports(specifier: string, parent: string): string | undefined {
  const pkgJson = findPackageJSON(specifier, pathToFileURL(parent));
  if (!pkgJson) return undefined;
  const pkg = JSON.parse(readFileSync(pkgJson, "utf8")) as { name?: string; exports?: unknown };
  const sub = pkg.name && specifier.startsWith(`${pkg.name}/`) ? `.${specifier.slice(pkg.name.length)}` : ".";
  const exp = pkg.exports;
  const entry = exp !== null && typeof exp === "object" && !Array.isArray(exp) && Object.keys(exp).some((k) => k.startsWith(".")) ? (exp as Record<string, unknown>)[sub] : sub === "." ? exp : undefined;
  const target = pickCondition(entry);
  return target ? resolve(dirname(pkgJson), target) : undefined;
}

function pickCondition(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return v.map(pickCondition).find((x) => x !== undefined);
  if (v === null || typeof v !== "object") return undefined;
  // Node picks the first key, in the object's order, that is one of its conditions.
  for (const [k, x] of Object.entries(v)) if (k === "node" || k === "import" || k === "default") return pickCondition(x);
  return undefined;
}

/** Where a specifier points: an absolute file path. */
function resolvePlugin(ref: PluginRef, options: LoadPluginsOptions): { path: string; resolvedFrom: string } {
  if (!isPath(ref.specifier)) return { path: resolvePackage(ref, options.appDir), resolvedFrom: options.appDir };
  const spec = ref.specifier.startsWith("file:") ? new URL(ref.specifier).pathname : ref.specifier;
  if (ref.origin === "app") {
    try {
      // Like every file an app names: inside its directory unless allowed, symlinks followed.
      return { path: resolveContainedPath(spec, { baseDir: options.appDir, allowOutside: options.allowOutside ?? [] }, "plugin"), resolvedFrom: options.appDir };
    } catch (e) {
      if (isSdxError(e) && (e.code === "SDX_PATH_OUTSIDE_APP" || e.code === "SDX_FILE_NOT_REGULAR" || e.code === "SDX_INVALID_ENCODING")) throw e;
      throw pluginError(ref, "no such file", `Check the path; it is relative to the app file's directory ${options.appDir}.`, { resolvedFrom: options.appDir, cause: e });
    }
  }
  const base = options.cwd ?? process.cwd();
  const path = resolve(base, spec);
  if (!existsSync(path) || !statSync(path).isFile()) throw pluginError(ref, "no such file", `Check the path; on the command line and in SDX_PLUGINS it is relative to the current directory ${base}.`, { resolvedFrom: base, path });
  return { path, resolvedFrom: base };
}

function isBackendLike(b: unknown): b is PluginBackend {
  if (b === null || typeof b !== "object") return false;
  const x = b as Record<string, unknown>;
  if (typeof x.kind !== "string" || x.kind === "") return false;
  return typeof x.load === "function" || ["check", "render", "plan", "apply", "status", "destroy"].every((m) => typeof x[m] === "function");
}

function isPriceSourceLike(s: unknown): boolean {
  return s !== null && typeof s === "object" && typeof (s as { id?: unknown }).id === "string" && typeof (s as { lookup?: unknown }).lookup === "function";
}

/** Checks a module's export and lists its backends (calling a `backends` function once). */
async function toLoaded(ref: PluginRef, path: string, resolvedFrom: string, mod: Record<string, unknown>): Promise<LoadedPlugin> {
  const raw = mod.sdxPlugin ?? mod.default;
  const usage = "Export a plugin object as default (or as `sdxPlugin`): export default definePlugin({ backends: [...], priceSources: [...] }).";
  if (raw === null || typeof raw !== "object") throw pluginError(ref, `${path} exports no plugin object`, usage, { resolvedFrom, path });
  const p = raw as SdxPlugin;
  let backends: unknown;
  try {
    backends = typeof p.backends === "function" ? await p.backends() : p.backends ?? [];
  } catch (e) {
    throw pluginError(ref, `its backends() threw ${firstLine(e)}`, "Fix the plugin, or ask its authors.", { resolvedFrom, path, cause: e });
  }
  const sources: unknown = p.priceSources ?? [];
  if (!Array.isArray(backends) || !backends.every(isBackendLike)) {
    throw pluginError(ref, "`backends` must be a list of backends (each with a kind and the Backend methods) or providers ({ kind, load })", usage, { resolvedFrom, path });
  }
  if (!Array.isArray(sources) || !sources.every(isPriceSourceLike)) {
    throw pluginError(ref, "`priceSources` must be a list of price sources (each with an id and lookup())", usage, { resolvedFrom, path });
  }
  if (backends.length === 0 && sources.length === 0) throw pluginError(ref, `${path} exports a plugin with no backends and no price sources`, usage, { resolvedFrom, path });
  return { name: typeof p.name === "string" && p.name !== "" ? p.name : ref.specifier, backends: backends.map(toBackendProvider), priceSources: sources as LoadedPlugin["priceSources"] };
}

/**
 * Resolves and imports plugin modules, in order, and checks what they export.
 * Importing a plugin runs its code: load only what you trust. Throws
 * `SDX_PLUGIN` (what was named, where it was resolved from, how to fix it) for
 * a plugin that cannot be found, fails to load or exports nothing usable, and
 * `SDX_PATH_OUTSIDE_APP` for a path in the app file that leaves its directory.
 * A specifier named twice is loaded once.
 */
export async function loadPlugins(refs: readonly PluginRef[], options: LoadPluginsOptions): Promise<LoadedPlugin[]> {
  const out: LoadedPlugin[] = [];
  const seen = new Set<string>();
  for (const ref of refs) {
    const { path, resolvedFrom } = resolvePlugin(ref, options);
    if (seen.has(path)) continue;
    seen.add(path);
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
    } catch (e) {
      throw pluginError(ref, `${path} failed to load: ${firstLine(e)}`, "Fix the module (run it with node to see the whole error), or remove the plugin.", { resolvedFrom, path, cause: e });
    }
    out.push(await toLoaded(ref, path, resolvedFrom, mod));
  }
  return out;
}

/** `SDX_PLUGINS`: specifiers separated by commas or the path delimiter (`:`; `;` on Windows). */
export function pluginsFromEnv(value: string | undefined, delimiter: string): string[] {
  return (value ?? "").split(new RegExp(`[,${delimiter.replace(/[\\^\]-]/g, "\\$&")}]`)).map((s) => s.trim()).filter((s) => s !== "");
}

/**
 * The `plugins:` list of an app file, read before the app is validated (its
 * target kinds depend on the plugins). Cheap: a file that does not mention
 * `plugins` is not parsed again, and a config module is only run for it when
 * it does. Returns [] when the file cannot be read or parsed: loading the app
 * reports that, with every other problem.
 */
export async function readPluginList(path: string, options: { readonly env?: Readonly<Record<string, string | undefined>>; readonly signal?: AbortSignal } = {}): Promise<{ file?: string; plugins: string[] }> {
  let file: string;
  let text: string;
  try {
    file = resolveAppFile(path, (p) => (existsSync(p) ? (statSync(p).isDirectory() ? "dir" : "file") : undefined));
    text = readRegularFile(file);
  } catch {
    return { plugins: [] };
  }
  if (!/\bplugins\b/.test(text)) return { file, plugins: [] };
  const env = options.env ?? process.env;
  let doc: unknown;
  const ext = extname(file);
  if (ext === ".ts" || ext === ".js" || ext === ".mjs" || ext === ".mts") {
    try {
      doc = await loadConfigModule(file, { env, ...(options.signal ? { signal: options.signal } : {}) });
    } catch {
      return { file, plugins: [] };
    }
  } else {
    const parsed = parseAppText(text, file);
    if (parsed.diagnostics.length > 0 || ["compose", "score"].includes(detectImportFormatOfDocument(file, parsed.doc).format ?? "")) return { file, plugins: [] };
    doc = parsed.doc;
  }
  const list = doc !== null && typeof doc === "object" ? (doc as { plugins?: unknown }).plugins : undefined;
  if (!Array.isArray(list)) return { file, plugins: [] };
  // Interpolated as the rest of the file is; a wrong entry is reported by validation.
  const value = interpolate(list, env).value;
  return { file, plugins: (Array.isArray(value) ? value : []).filter((s): s is string => typeof s === "string" && s.trim() !== "") };
}
