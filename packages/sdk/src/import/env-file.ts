import { join } from "node:path";
import { isSdxError } from "../errors/sdx-error.js";
import type { Diagnostic } from "../validation/diagnostic.js";
import { interpolateComposeString, type ComposeTemplate, type Env } from "./compose-interpolate.js";

/** Result of {@link parseEnvFile}. */
export interface ParseEnvFileResult {
  /** Variables in file order; a later line wins. */
  readonly vars: Record<string, string>;
  /**
   * How sdx.yaml writes each variable: a literal value escaped (`$$`), an
   * interpolated one with its environment references kept. Variables defined
   * above in the same file are not in the environment, so references to them
   * are written as their own templates.
   */
  readonly templates: Record<string, ComposeTemplate>;
  readonly diagnostics: readonly Diagnostic[];
}

const ESCAPES: Readonly<Record<string, string>> = { n: "\n", r: "\r", t: "\t", "\\": "\\", '"': '"' };

/**
 * Parses an env file in Compose's format: `VAR=VAL` lines, `#` comments,
 * optional `export `, single quotes literal, double quotes with `\n \r \t \\ \"`
 * escapes, quoted values over several lines, an inline ` #` comment after an
 * unquoted value. Unquoted and double-quoted values are interpolated with `env`
 * and the variables defined above them. A bare `VAR` takes its value from `env`
 * and is skipped when unset. `raw` skips quoting and interpolation.
 */
export function parseEnvFile(text: string, env: Env, path: string, format: "compose" | "raw" = "compose"): ParseEnvFileResult {
  const vars: Record<string, string> = {};
  const templates = new Map<string, ComposeTemplate>();
  const diagnostics: Diagnostic[] = [];
  const lookup: Env = new Proxy({}, { get: (_t, k: string) => vars[k] ?? env[k] });
  const set = (key: string, value: string, t?: ComposeTemplate): void => {
    vars[key] = value;
    const lit = value.replace(/\$/g, "$$$$");
    templates.set(key, t ?? { full: lit, decided: lit, variables: [] });
  };
  const interpolated = (key: string, value: string, at: string): void => {
    const r = interpolateComposeString(value, lookup, at, templates);
    diagnostics.push(...r.diagnostics);
    set(key, r.value, { full: r.full, decided: r.decided, variables: r.variables });
  };
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/^\s+/, "");
    if (line === "" || line.startsWith("#")) continue;
    const m = /^(?:export\s+)?([^=\s]+)\s*(=?)(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!;
    if (m[2] === "") {
      const v = env[key];
      if (v !== undefined) set(key, v, { full: `\${${key}}`, decided: `\${${key}}`, variables: [key] });
      continue;
    }
    let rest = m[3]!;
    if (format === "raw") {
      set(key, rest);
      continue;
    }
    rest = rest.replace(/^\s+/, "");
    const quote = rest[0];
    if (quote === "'" || quote === '"') {
      // A quoted value may span lines: gather until the closing quote.
      let body = rest.slice(1);
      let close = closingQuote(body, quote);
      while (close < 0 && i + 1 < lines.length) {
        body += `\n${lines[++i]!}`;
        close = closingQuote(body, quote);
      }
      const inner = close < 0 ? body : body.slice(0, close);
      if (quote === "'") {
        set(key, inner.replace(/\\'/g, "'"));
      } else {
        const unescaped = inner.replace(/\\(.)/g, (whole, c: string) => ESCAPES[c] ?? whole);
        interpolated(key, unescaped, `${path}:${i + 1}`);
      }
      continue;
    }
    const hash = rest.search(/\s#/);
    const value = (hash >= 0 ? rest.slice(0, hash) : rest).trim();
    interpolated(key, value, `${path}:${i + 1}`);
  }
  return { vars, templates: Object.fromEntries(templates), diagnostics };
}

function closingQuote(s: string, quote: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "\\") i++;
    else if (s[i] === quote) return i;
  }
  return -1;
}

/** Result of {@link readDotEnv}. */
export interface ReadDotEnvResult {
  /** Variables `.env` defines, after interpolation; empty when there is no `.env`. */
  readonly vars: Record<string, string>;
  /** True when `.env` was read. */
  readonly found: boolean;
  /** Syntax and interpolation problems, and the reader's refusal (outside the app, not a regular file, too large) as an error at `.env`. */
  readonly diagnostics: readonly Diagnostic[];
}

/** Codes of a contained reader's refusals: the file is there but must not be read. */
const REFUSED = new Set(["SDX_PATH_OUTSIDE_APP", "SDX_FILE_NOT_REGULAR", "SDX_FILE_TOO_LARGE", "SDX_INVALID_ENCODING"]);

/**
 * Reads `.env` in `baseDir` as Compose does: its format, interpolated with `env`.
 * For the importer's interpolation and for `fromEnv` secrets, which read it
 * under the environment (the environment wins), as Compose feeds `${VAR}` from
 * it. A missing `.env` is normal and gives no variables. Pure: reads only
 * through `readFile` (pass a contained reader).
 */
export function readDotEnv(baseDir: string, readFile: (path: string) => string, env: Env): ReadDotEnvResult {
  let text: string;
  try {
    text = readFile(join(baseDir, ".env"));
  } catch (e) {
    if (isSdxError(e) && REFUSED.has(e.code)) {
      return { vars: {}, found: false, diagnostics: [{ code: e.code, severity: "error", path: ".env", message: e.message, ...(e.hint !== undefined ? { hint: e.hint } : {}) }] };
    }
    return { vars: {}, found: false, diagnostics: [] };
  }
  const parsed = parseEnvFile(text, env, ".env");
  return { vars: parsed.vars, found: true, diagnostics: parsed.diagnostics };
}
