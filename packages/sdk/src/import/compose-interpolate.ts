import { formatPath, type Diagnostic } from "../validation/diagnostic.js";
import { matchingBrace } from "../load/interpolate.js";

/** Variables for interpolation; `undefined` means unset. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * A string as sdx.yaml can write it, with the variables it reads. `full` keeps
 * every Compose construct (`${A:-${B}}`, `${A:+x}`); `decided` picks at import
 * time the branch the current variables select, for sdx versions or contexts
 * that cannot take the construct. Literal `$` is written `$$` in both.
 */
export interface ComposeTemplate {
  readonly full: string;
  readonly decided: string;
  /** Environment variables the value was read from (names only), in order of use. */
  readonly variables: readonly string[];
}

/** Result of {@link interpolateComposeString}. */
export interface InterpolateComposeStringResult extends ComposeTemplate {
  readonly value: string;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Variables defined by the file being read (earlier lines of an env file):
 * they are not environment variables at deploy time, so a reference to one is
 * written as that variable's own template.
 */
export type LocalTemplates = ReadonlyMap<string, ComposeTemplate>;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

interface Piece {
  value: string;
  full: string;
  decided: string;
  vars: string[];
}

interface Scope {
  readonly env: Env;
  readonly path: string;
  readonly diags: Diagnostic[];
  readonly locals: LocalTemplates | undefined;
}

const literal = (s: string): Piece => ({ value: s, full: s.replace(/\$/g, "$$$$"), decided: s.replace(/\$/g, "$$$$"), vars: [] });
const join = (a: Piece, b: Piece): Piece => ({ value: a.value + b.value, full: a.full + b.full, decided: a.decided + b.decided, vars: [...a.vars, ...b.vars] });
const EMPTY: Piece = { value: "", full: "", decided: "", vars: [] };

/**
 * Compose interpolation of one string, as the Compose specification defines it:
 * `$VAR`, `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}` (unset),
 * `${VAR:?err}` / `${VAR?err}` (required), `${VAR:+alt}` / `${VAR+alt}`, nesting
 * in the default (`${A:-${B:-x}}`) and `$$` for a literal `$`.
 * An unset variable without a default becomes empty with a warning, as Compose does;
 * a missing required one, or a malformed `$`, is an error at `path`.
 * Also returns the string as sdx.yaml writes it with references kept (see {@link ComposeTemplate}).
 */
export function interpolateComposeString(s: string, env: Env, path: string, locals?: LocalTemplates): InterpolateComposeStringResult {
  const diagnostics: Diagnostic[] = [];
  const p = expand(s, { env, path, diags: diagnostics, locals });
  return { value: p.value, full: p.full, decided: p.decided, variables: [...new Set(p.vars)], diagnostics };
}

function expand(s: string, sc: Scope): Piece {
  let out = EMPTY;
  let i = 0;
  while (i < s.length) {
    const dollar = s.indexOf("$", i);
    if (dollar < 0) {
      out = join(out, literal(s.slice(i)));
      break;
    }
    out = join(out, literal(s.slice(i, dollar)));
    const next = s[dollar + 1];
    if (next === "$") {
      out = join(out, literal("$"));
      i = dollar + 2;
      continue;
    }
    if (next === "{") {
      const end = matchingBrace(s, dollar + 1);
      if (end < 0) {
        invalid(s, sc, "an opening ${ has no closing }");
        out = join(out, literal(s.slice(dollar)));
        break;
      }
      out = join(out, braced(s.slice(dollar + 2, end), sc, s));
      i = end + 1;
      continue;
    }
    const name = NAME.exec(s.slice(dollar + 1))?.[0];
    if (name === undefined) {
      invalid(s, sc, `"$" must start a variable or be written "$$"`);
      out = join(out, literal("$"));
      i = dollar + 1;
      continue;
    }
    out = join(out, lookup(name, sc));
    i = dollar + 1 + name.length;
  }
  return out;
}


/** The value of a variable and how sdx.yaml refers to it. */
function ref(name: string, sc: Scope): { val: string | undefined; ref: Piece } {
  const local = sc.locals?.get(name);
  const val = sc.env[name];
  if (local) return { val, ref: { value: val ?? "", full: local.full, decided: local.decided, vars: [...local.variables] } };
  // Unset at import time: Compose reads "", so the reference keeps that meaning instead of failing to load.
  const written = val === undefined ? `\${${name}:-}` : `\${${name}}`;
  return { val, ref: { value: val ?? "", full: written, decided: written, vars: [name] } };
}

function braced(body: string, sc: Scope, whole: string): Piece {
  const name = NAME.exec(body)?.[0];
  if (name === undefined) {
    invalid(whole, sc, `"\${${body}}" does not start with a variable name`);
    return EMPTY;
  }
  const rest = body.slice(name.length);
  if (rest === "") return lookup(name, sc);
  const op = /^(:-|-|:\?|\?|:\+|\+)/.exec(rest)?.[0];
  if (op === undefined) {
    invalid(whole, sc, `unsupported operator in "\${${body}}"; Compose supports :- - :? ? :+ +`);
    return EMPTY;
  }
  const word = rest.slice(op.length);
  const { val, ref: r } = ref(name, sc);
  const unset = val === undefined;
  const empty = unset || val === "";
  const local = sc.locals?.has(name) === true;
  // The construct as written, around the template of its word; a local variable cannot be referenced, so it is decided.
  const construct = (w: Piece, chosen: Piece): Piece => ({
    value: chosen.value,
    full: local ? chosen.full : `\${${name}${op}${w.full}}`,
    decided: chosen.decided,
    vars: local ? chosen.vars : [name, ...w.vars],
  });
  switch (op) {
    case ":-":
    case "-": {
      const useWord = op === ":-" ? empty : unset;
      const w = expand(word, useWord ? sc : { ...sc, diags: [] });
      return construct(w, useWord ? w : r);
    }
    case ":+":
    case "+": {
      const useWord = op === ":+" ? !empty : !unset;
      const w = expand(word, useWord ? sc : { ...sc, diags: [] });
      return construct(w, useWord ? { ...w, vars: [name, ...w.vars] } : { ...EMPTY, vars: [name] });
    }
    case ":?":
    case "?": {
      if (op === ":?" ? empty : unset) {
        const msg = expand(word, sc).value;
        sc.diags.push({
          code: "SDX_ENV_REQUIRED",
          severity: "error",
          path: sc.path,
          message: `required variable ${name} is ${unset ? "not set" : "empty"}${msg ? `: ${msg}` : ""}`,
          hint: `Set ${name} in the environment (or in .env next to the Compose file) and import again.`,
        });
        return EMPTY;
      }
      // The message is not a value: kept as written, so sdx fails the same way when the variable is missing at deploy time.
      return { value: val!, full: local ? r.full : `\${${name}${op}${word}}`, decided: local ? r.decided : `\${${name}}`, vars: local ? r.vars : [name] };
    }
    default:
      return EMPTY;
  }
}

function lookup(name: string, sc: Scope): Piece {
  const { val, ref: r } = ref(name, sc);
  if (val !== undefined) return r;
  sc.diags.push({
    code: "SDX_ENV_UNSET",
    severity: "warning",
    path: sc.path,
    message: `variable ${name} is not set; it becomes an empty string, as in Compose`,
    hint: `Set ${name}, or give a default: \${${name}:-value}.`,
  });
  return r;
}

function invalid(s: string, sc: Scope, why: string): void {
  sc.diags.push({
    code: "SDX_INTERPOLATION",
    severity: "error",
    path: sc.path,
    message: `invalid interpolation in ${JSON.stringify(s)}: ${why}`,
    hint: 'Write a literal dollar sign as "$$".',
  });
}

/** Result of {@link interpolateCompose}. */
export interface InterpolateComposeResult {
  readonly value: unknown;
  readonly diagnostics: readonly Diagnostic[];
  /** Templates of the strings that read at least one variable, by path (`services.web.environment.A`). */
  readonly templates: ReadonlyMap<string, InterpolateComposeStringResult>;
}

/**
 * Interpolates every string value of a parsed Compose file (keys are left
 * alone, as Compose does). `x-` extension fields are skipped: sdx ignores them,
 * so their variables need not be set.
 */
export function interpolateCompose(doc: unknown, env: Env): InterpolateComposeResult {
  const diagnostics: Diagnostic[] = [];
  const templates = new Map<string, InterpolateComposeStringResult>();
  const walk = (v: unknown, path: (string | number)[]): unknown => {
    if (typeof v === "string") {
      if (!v.includes("$")) return v;
      const p = formatPath(path);
      const r = interpolateComposeString(v, env, p);
      diagnostics.push(...r.diagnostics);
      if (r.variables.length > 0) templates.set(p, r);
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
  return { value: walk(doc, []), diagnostics, templates };
}
