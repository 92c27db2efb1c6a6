import { formatPath, type Diagnostic } from "../validation/diagnostic.js";
import { LIMITS } from "../model/limits.js";

/** Result of {@link interpolate}. */
export interface InterpolateResult {
  readonly value: unknown;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Replaces `${VAR}` references in every string of a parsed document (see
 * {@link interpolateString} for the syntax). An unset variable without a default
 * is an error at its path, so a typo can't silently deploy an empty value.
 */
export function interpolate(doc: unknown, env: Readonly<Record<string, string | undefined>>): InterpolateResult {
  const diagnostics: Diagnostic[] = [];
  // An explicit stack, not recursion: a deep or self-referencing document (a YAML
  // anchor aliased inside itself, a cyclic config-module object) must end in a
  // diagnostic, never a stack overflow or an endless walk.
  type Task = { readonly v: unknown; readonly path: readonly (string | number)[]; readonly set: (x: unknown) => void } | { readonly leave: object };
  const onPath = new Set<object>();
  let value: unknown;
  const stack: Task[] = [{ v: doc, path: [], set: (x) => (value = x) }];
  for (let task = stack.pop(); task; task = stack.pop()) {
    if ("leave" in task) {
      onPath.delete(task.leave);
      continue;
    }
    const { v, path, set } = task;
    if (typeof v === "string") {
      const r = interpolateString(v, env, formatPath(path));
      diagnostics.push(...r.diagnostics);
      set(r.value);
      continue;
    }
    if (v === null || typeof v !== "object") {
      set(v);
      continue;
    }
    if (onPath.has(v) || path.length >= LIMITS.depth) {
      const cyclic = onPath.has(v);
      diagnostics.push({
        code: "SDX_LIMIT_EXCEEDED", severity: "error", path: formatPath(path),
        message: cyclic ? "the value contains itself" : `nested deeper than ${LIMITS.depth} levels`,
        hint: cyclic ? "Do not use an anchor (or object) inside itself." : `Flatten the document; sdx reads at most ${LIMITS.depth} levels of maps and lists.`,
      });
      set(undefined);
      continue;
    }
    onPath.add(v);
    stack.push({ leave: v });
    const children: Task[] = [];
    if (Array.isArray(v)) {
      const out: unknown[] = new Array<unknown>(v.length);
      set(out);
      v.forEach((x, i) => children.push({ v: x, path: [...path, i], set: (y) => (out[i] = y) }));
    } else {
      const out: Record<string, unknown> = {};
      set(out);
      // defineProperty, not `out[k] =`: a "__proto__" key must stay a key (for validation to report), not replace the prototype.
      for (const [k, x] of Object.entries(v)) {
        Object.defineProperty(out, k, { value: undefined, enumerable: true, writable: true, configurable: true });
        children.push({ v: x, path: [...path, k], set: (y) => Object.defineProperty(out, k, { value: y }) });
      }
    }
    // Reversed, so children are visited (and diagnostics reported) in document order.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return { value, diagnostics };
}

/** Result of {@link interpolateString}. */
export interface InterpolateStringResult {
  readonly value: string;
  readonly diagnostics: readonly Diagnostic[];
}

type Env = Readonly<Record<string, string | undefined>>;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const OPERATOR = /^(:-|-|:\?|\?|:\+|\+)/;
/** `${A:-${B:-${C}}}` nests; deeper than this is surely a mistake (and bounds the recursion). */
const MAX_NESTING = 10;

/**
 * Interpolates one string of an app file, with the POSIX-shell forms Compose uses:
 * `${VAR}`; `${VAR:-default}` (when unset or empty) and `${VAR-default}` (when unset);
 * `${VAR:?message}` and `${VAR?message}` (an `SDX_ENV_REQUIRED` error with the message, shown as written);
 * `${VAR:+alt}` and `${VAR+alt}` (alt when set); defaults nest (`${A:-${B}}`) and are
 * expanded only when used. `$$` is a literal `$`; a `$` not followed by `{` is kept
 * as is (so `$HOME` in a shell command reaches the shell). Anything else after `${`
 * (`${}`, `${!X}`, `${1X}`, an unknown operator, no closing `}`) is `SDX_INTERPOLATION`.
 * Diagnostics carry `path` and the offending text, never a variable's value.
 */
export function interpolateString(s: string, env: Env, path: string): InterpolateStringResult {
  const diagnostics: Diagnostic[] = [];
  if (!s.includes("$")) return { value: s, diagnostics };
  return { value: expand(s, { env, path, diagnostics }, 0), diagnostics };
}

interface Ctx {
  readonly env: Env;
  readonly path: string;
  readonly diagnostics: Diagnostic[];
}

function expand(s: string, ctx: Ctx, depth: number): string {
  let out = "";
  let i = 0;
  while (i < s.length) {
    const dollar = s.indexOf("$", i);
    if (dollar < 0) return out + s.slice(i);
    out += s.slice(i, dollar);
    const next = s[dollar + 1];
    if (next === "$") {
      out += "$";
      i = dollar + 2;
    } else if (next !== "{") {
      out += "$";
      i = dollar + 1;
    } else {
      const end = matchingBrace(s, dollar + 1);
      if (end < 0) {
        malformed(ctx, s.slice(dollar), "has no closing }");
        return out;
      }
      out += braced(s.slice(dollar, end + 1), ctx, depth);
      i = end + 1;
    }
  }
  return out;
}

/** Index of the `}` closing the `{` at `open`, counting nested braces; -1 when it is never closed. Shared with the Compose interpolation. */
export function matchingBrace(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === "{") depth++;
    else if (s[i] === "}" && --depth === 0) return i;
  }
  return -1;
}

/** One `${…}` reference, `ref` including the `${` and `}`. */
function braced(ref: string, ctx: Ctx, depth: number): string {
  if (depth >= MAX_NESTING) {
    malformed(ctx, ref, `nests more than ${MAX_NESTING} levels deep`);
    return "";
  }
  const body = ref.slice(2, -1);
  const name = NAME.exec(body)?.[0];
  if (name === undefined) {
    malformed(ctx, ref, body === "" ? "names no variable" : body.startsWith("!") ? "uses indirection (${!X}), which sdx does not support" : "does not start with a variable name (letters, digits and _, not starting with a digit)");
    return "";
  }
  const rest = body.slice(name.length);
  const val = ctx.env[name];
  if (rest === "") {
    if (val !== undefined) return val;
    ctx.diagnostics.push({
      code: "SDX_ENV_UNSET", severity: "error", path: ctx.path,
      message: `environment variable ${name} is not set`,
      hint: `Set ${name}, or give a default: \${${name}:-value}.`,
    });
    return "";
  }
  const op = OPERATOR.exec(rest)?.[0];
  if (op === undefined) {
    malformed(ctx, ref, `has an unsupported operator after ${name}; sdx supports :- - :? ? :+ +`);
    return "";
  }
  const word = rest.slice(op.length);
  const unset = val === undefined;
  const empty = unset || val === "";
  switch (op) {
    case ":-":
      return empty ? expand(word, ctx, depth + 1) : val!;
    case "-":
      return unset ? expand(word, ctx, depth + 1) : val!;
    case ":+":
      return empty ? "" : expand(word, ctx, depth + 1);
    case "+":
      return unset ? "" : expand(word, ctx, depth + 1);
    default: {
      // :? and ?
      if (op === ":?" ? !empty : !unset) return val!;
      // The message is shown as written: expanding it could print another variable's (secret) value.
      const msg = word;
      ctx.diagnostics.push({
        code: "SDX_ENV_REQUIRED", severity: "error", path: ctx.path,
        message: `${name} is required and ${unset ? "not set" : "empty"}${msg ? `: ${msg}` : ""}`,
        hint: `Set ${name} in the environment sdx runs in.`,
      });
      return "";
    }
  }
}

function malformed(ctx: Ctx, text: string, why: string): void {
  const shown = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  ctx.diagnostics.push({
    code: "SDX_INTERPOLATION", severity: "error", path: ctx.path,
    message: `${JSON.stringify(shown)} ${why}`,
    hint: 'Write ${NAME} or ${NAME:-default}; a literal dollar sign is "$$".',
  });
}
