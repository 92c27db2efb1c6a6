import { formatPath, type Diagnostic } from "../validation/diagnostic.js";

/** Variables for interpolation; `undefined` means unset. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Result of {@link interpolateComposeString}. */
export interface InterpolateComposeStringResult {
  readonly value: string;
  readonly diagnostics: readonly Diagnostic[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/**
 * Compose interpolation of one string, as the Compose specification defines it:
 * `$VAR`, `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}` (unset),
 * `${VAR:?err}` / `${VAR?err}` (required), `${VAR:+alt}` / `${VAR+alt}`, nesting
 * in the default (`${A:-${B:-x}}`) and `$$` for a literal `$`.
 * An unset variable without a default becomes empty with a warning, as Compose does;
 * a missing required one, or a malformed `$`, is an error at `path`.
 */
export function interpolateComposeString(s: string, env: Env, path: string): InterpolateComposeStringResult {
  const diagnostics: Diagnostic[] = [];
  const value = expand(s, env, path, diagnostics);
  return { value, diagnostics };
}

function expand(s: string, env: Env, path: string, diags: Diagnostic[]): string {
  let out = "";
  let i = 0;
  while (i < s.length) {
    const dollar = s.indexOf("$", i);
    if (dollar < 0) {
      out += s.slice(i);
      break;
    }
    out += s.slice(i, dollar);
    const next = s[dollar + 1];
    if (next === "$") {
      out += "$";
      i = dollar + 2;
      continue;
    }
    if (next === "{") {
      const end = matchingBrace(s, dollar + 1);
      if (end < 0) {
        invalid(s, path, diags, "an opening ${ has no closing }");
        out += s.slice(dollar);
        break;
      }
      out += braced(s.slice(dollar + 2, end), env, path, diags, s);
      i = end + 1;
      continue;
    }
    const name = NAME.exec(s.slice(dollar + 1))?.[0];
    if (name === undefined) {
      invalid(s, path, diags, `"$" must start a variable or be written "$$"`);
      out += "$";
      i = dollar + 1;
      continue;
    }
    out += lookup(name, env, path, diags);
    i = dollar + 1 + name.length;
  }
  return out;
}

/** Index of the `}` closing the `{` at `open`, counting nested `${…}`. */
function matchingBrace(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === "{") depth++;
    else if (s[i] === "}" && --depth === 0) return i;
  }
  return -1;
}

function braced(body: string, env: Env, path: string, diags: Diagnostic[], whole: string): string {
  const name = NAME.exec(body)?.[0];
  if (name === undefined) {
    invalid(whole, path, diags, `"\${${body}}" does not start with a variable name`);
    return "";
  }
  const rest = body.slice(name.length);
  if (rest === "") return lookup(name, env, path, diags);
  const op = /^(:-|-|:\?|\?|:\+|\+)/.exec(rest)?.[0];
  if (op === undefined) {
    invalid(whole, path, diags, `unsupported operator in "\${${body}}"; Compose supports :- - :? ? :+ +`);
    return "";
  }
  const word = rest.slice(op.length);
  const val = env[name];
  const unset = val === undefined;
  const empty = unset || val === "";
  switch (op) {
    case ":-":
      return empty ? expand(word, env, path, diags) : val!;
    case "-":
      return unset ? expand(word, env, path, diags) : val!;
    case ":+":
      return empty ? "" : expand(word, env, path, diags);
    case "+":
      return unset ? "" : expand(word, env, path, diags);
    case ":?":
    case "?": {
      if (op === ":?" ? empty : unset) {
        const msg = expand(word, env, path, diags);
        diags.push({
          code: "SDX_ENV_REQUIRED",
          severity: "error",
          path,
          message: `required variable ${name} is ${unset ? "not set" : "empty"}${msg ? `: ${msg}` : ""}`,
          hint: `Set ${name} in the environment (or in .env next to the Compose file) and import again.`,
        });
        return "";
      }
      return val!;
    }
    default:
      return "";
  }
}

function lookup(name: string, env: Env, path: string, diags: Diagnostic[]): string {
  const v = env[name];
  if (v !== undefined) return v;
  diags.push({
    code: "SDX_ENV_UNSET",
    severity: "warning",
    path,
    message: `variable ${name} is not set; it becomes an empty string, as in Compose`,
    hint: `Set ${name}, or give a default: \${${name}:-value}.`,
  });
  return "";
}

function invalid(s: string, path: string, diags: Diagnostic[], why: string): void {
  diags.push({
    code: "SDX_INTERPOLATION",
    severity: "error",
    path,
    message: `invalid interpolation in ${JSON.stringify(s)}: ${why}`,
    hint: 'Write a literal dollar sign as "$$".',
  });
}

/** Result of {@link interpolateCompose}. */
export interface InterpolateComposeResult {
  readonly value: unknown;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Interpolates every string value of a parsed Compose file (keys are left
 * alone, as Compose does). `x-` extension fields are skipped: sdx ignores them,
 * so their variables need not be set.
 */
export function interpolateCompose(doc: unknown, env: Env): InterpolateComposeResult {
  const diagnostics: Diagnostic[] = [];
  const walk = (v: unknown, path: (string | number)[]): unknown => {
    if (typeof v === "string") {
      const r = interpolateComposeString(v, env, formatPath(path));
      diagnostics.push(...r.diagnostics);
      return r.value;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]));
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = k.startsWith("x-") ? x : walk(x, [...path, k]);
      return out;
    }
    return v;
  };
  return { value: walk(doc, []), diagnostics };
}
