import type { Diagnostic } from "../validation/diagnostic.js";
import { interpolateComposeString, type Env } from "./compose-interpolate.js";

/** Result of {@link parseEnvFile}. */
export interface ParseEnvFileResult {
  /** Variables in file order; a later line wins. */
  readonly vars: Record<string, string>;
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
  const diagnostics: Diagnostic[] = [];
  const lookup: Env = new Proxy({}, { get: (_t, k: string) => vars[k] ?? env[k] });
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/^\s+/, "");
    if (line === "" || line.startsWith("#")) continue;
    const m = /^(?:export\s+)?([^=\s]+)\s*(=?)(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!;
    if (m[2] === "") {
      const v = env[key];
      if (v !== undefined) vars[key] = v;
      continue;
    }
    let rest = m[3]!;
    if (format === "raw") {
      vars[key] = rest;
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
        vars[key] = inner.replace(/\\'/g, "'");
      } else {
        const unescaped = inner.replace(/\\(.)/g, (whole, c: string) => ESCAPES[c] ?? whole);
        const r = interpolateComposeString(unescaped, lookup, `${path}:${i + 1}`);
        diagnostics.push(...r.diagnostics);
        vars[key] = r.value;
      }
      continue;
    }
    const hash = rest.search(/\s#/);
    const value = (hash >= 0 ? rest.slice(0, hash) : rest).trim();
    const r = interpolateComposeString(value, lookup, `${path}:${i + 1}`);
    diagnostics.push(...r.diagnostics);
    vars[key] = r.value;
  }
  return { vars, diagnostics };
}

function closingQuote(s: string, quote: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "\\") i++;
    else if (s[i] === quote) return i;
  }
  return -1;
}
