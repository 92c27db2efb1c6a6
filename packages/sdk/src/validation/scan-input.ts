import { formatPath, type Diagnostic } from "./diagnostic.js";

/**
 * Keys that JavaScript objects treat specially. Assigned to a plain object,
 * `__proto__` replaces its prototype instead of adding a key, so such a key
 * vanished silently on the way from the app file to the backend (zod records
 * drop it too); `constructor` and `prototype` shadow built-ins.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Checks every key and string of an input document for what would be mis-read
 * downstream: reserved keys (`SDX_RESERVED_KEY`), NUL bytes and text that is
 * not valid Unicode (`SDX_INVALID_ENCODING`, e.g. a lone surrogate from a
 * config module). Files are checked as they are read; this covers values that
 * arrive otherwise: interpolated variables and objects built in code.
 * Messages never repeat a value, which may be a secret.
 * Iterative, and visits each object once, so deep or cyclic input cannot overflow the stack.
 */
export function scanInput(doc: unknown, prefix: readonly (string | number)[] = []): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Set<object>();
  // Paths are linked lists, materialised only for a diagnostic, so a wide or deep document costs O(size).
  const stack: { v: unknown; at: At }[] = [{ v: doc, at: { seg: undefined, up: undefined } }];
  const pathOf = (at: At, last?: string): string => {
    const segs: (string | number)[] = last === undefined ? [] : [last];
    for (let a: At | undefined = at; a && a.seg !== undefined; a = a.up) segs.push(a.seg);
    return formatPath([...prefix, ...segs.reverse()]);
  };
  while (stack.length > 0) {
    const { v, at } = stack.pop()!;
    if (typeof v === "string") {
      const bad = badText(v);
      if (bad) out.push({ code: "SDX_INVALID_ENCODING", severity: "error", path: pathOf(at), message: `the value ${bad}`, hint: "Remove the character; a NUL byte cannot be passed to a container, and text must be valid UTF-8." });
      continue;
    }
    if (v === null || typeof v !== "object" || seen.has(v)) continue;
    seen.add(v);
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], at: { seg: i, up: at } });
      continue;
    }
    // Own keys, not Object.entries' view: a `__proto__` own property must be seen.
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i]!;
      if (RESERVED_KEYS.has(k)) {
        out.push({
          code: "SDX_RESERVED_KEY", severity: "error", path: pathOf(at, k),
          message: `"${k}" cannot be used as a name or key`,
          hint: `Rename it; "__proto__", "constructor" and "prototype" are reserved (JavaScript gives them a special meaning, and orchestrators reject them as names).`,
        });
        continue;
      }
      const bad = badText(k);
      if (bad) {
        out.push({ code: "SDX_INVALID_ENCODING", severity: "error", path: pathOf(at, k.replace(/[\u0000-\u001f]/g, "?")), message: `the key ${bad}`, hint: "Rename the key." });
        continue;
      }
      stack.push({ v: (v as Record<string, unknown>)[k], at: { seg: k, up: at } });
    }
  }
  return out;
}

interface At {
  readonly seg: string | number | undefined;
  readonly up: At | undefined;
}

// String.prototype.isWellFormed is ES2024; the project targets ES2023.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function badText(s: string): string | undefined {
  if (s.includes("\u0000")) return "contains a NUL byte";
  if (LONE_SURROGATE.test(s)) return "is not valid Unicode text (a lone surrogate)";
  return undefined;
}
