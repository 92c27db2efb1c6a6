import { looksSecret, looksSecretValue, urlPassword } from "../import/secret-like.js";
import type { BackendPlan, FieldChange, PlannedAction } from "../plan/plan.js";

/** What a masked value prints as, the same as a `Redacted`. */
export const MASK = "[redacted]";

/** Values shorter than this are not masked: they would blank ordinary words, and no credential is that short. */
const MIN_LENGTH = 4;

/**
 * Values of secret-looking variables (by name or by value) that occur in a
 * loaded document's strings. A Compose file read with `sdx plan -f` has its
 * variables already substituted, so this finds them afterwards; an sdx.yaml
 * gets the same set from its interpolation directly.
 */
export function sensitiveValuesIn(doc: unknown, env: Readonly<Record<string, string | undefined>>): string[] {
  const candidates = Object.entries(env)
    .filter((e): e is [string, string] => e[1] !== undefined && e[1].length >= MIN_LENGTH && (looksSecret(e[0]) || looksSecretValue(e[1])))
    .map((e) => e[1]);
  const found = new Set<string>();
  const strings: string[] = [];
  // Iterative and bounded by the document, which the loader has already size- and depth-checked.
  const stack: unknown[] = [doc];
  for (let v = stack.pop(); v !== undefined || stack.length > 0; v = stack.pop()) {
    if (typeof v === "string") strings.push(v);
    else if (Array.isArray(v)) stack.push(...(v as unknown[]));
    else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        // A literal under a secret-looking env key (`DB_PASSWORD: hunter22`) is a credential too.
        if (typeof x === "string" && x.length >= MIN_LENGTH && looksSecret(k)) found.add(x);
        stack.push(x);
      }
    }
  }
  for (const c of candidates) if (strings.some((s) => s.includes(c))) found.add(c);
  return [...found];
}

/**
 * Masks known sensitive values and URL passwords (`scheme://user:pw@host`) in
 * a string. Longest values first, so a value containing another is masked whole.
 */
export function maskString(s: string, sensitive: readonly string[]): string {
  let out = s;
  for (const v of [...sensitive].sort((a, b) => b.length - a.length)) if (v.length >= MIN_LENGTH && out.includes(v)) out = out.split(v).join(MASK);
  for (let pw = urlPassword(out), guard = 0; pw && guard < 100; pw = urlPassword(out), guard++) {
    if (out.slice(pw.start, pw.end) === MASK) break;
    out = `${out.slice(0, pw.start)}${MASK}${out.slice(pw.end)}`;
  }
  return out;
}

/**
 * Masks `live` where `maskedDesired` has its masks: `Bearer [redacted]` turns
 * `Bearer old-token` into `Bearer [redacted]`. A live value of another shape is
 * masked whole, since any part of it may be the old secret.
 */
export function maskLike(live: string, maskedDesired: string): string {
  const parts = maskedDesired.split(MASK);
  // Each mask is a lazy group: a few keep the match linear enough; more mask the whole value.
  if (parts.length > 4) return MASK;
  const escape = (x: string): string => x.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const m = new RegExp(`^${parts.map(escape).join("([\\s\\S]*?)")}$`).exec(live);
  return m ? maskedDesired : MASK;
}

/** Masks every string inside a JSON-like value (a field change's before/after). */
export function maskDeep(v: unknown, sensitive: readonly string[]): unknown {
  if (typeof v === "string") return maskString(v, sensitive);
  if (Array.isArray(v)) return v.map((x) => maskDeep(x, sensitive));
  // Redacted and other class instances print themselves safely: leave them as they are.
  if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, maskDeep(x, sensitive)]));
  }
  return v;
}

/**
 * The plan as people and `--json` see it: field changes with sensitive values
 * masked on both sides (the live side may hold an older password). Desired and
 * live bodies are kept as they are, since apply needs the real values.
 */
export function maskPlan(plan: BackendPlan, sensitive: readonly string[]): BackendPlan {
  const maskChange = (c: FieldChange): FieldChange => {
    const after = "after" in c ? maskDeep(c.after, sensitive) : undefined;
    let before = "before" in c ? maskDeep(c.before, sensitive) : undefined;
    // The live side of a setting that now holds a secret held the previous secret,
    // which this run does not know: mask it where the new value has its secret.
    if (typeof after === "string" && after !== c.after && typeof before === "string") before = maskLike(before, after);
    return { ...c, ...("before" in c ? { before } : {}), ...("after" in c ? { after } : {}) };
  };
  const actions = plan.actions.map((a): PlannedAction => (a.changes.length === 0 ? a : { ...a, changes: a.changes.map(maskChange) }));
  return { ...plan, actions };
}
