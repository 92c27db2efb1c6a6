/**
 * A value that the two outputs of an import hold differently: `value` goes into
 * `document` (final values, what Compose would run), `written` into `template`
 * (what sdx.yaml holds: references instead of variable values, already in sdx
 * interpolation syntax, so it is not escaped again). `undefined` on a side
 * leaves the key out there.
 */
export class Split {
  constructor(readonly value: unknown, readonly written: unknown) {}
}

/** Escapes every `$` as `$$`, so that sdx interpolation reads the string back unchanged. */
export function escapeDollars(v: unknown): unknown {
  if (typeof v === "string") return v.replace(/\$/g, "$$$$");
  if (Array.isArray(v)) return v.map(escapeDollars);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, escapeDollars(x)]));
  return v;
}

/** Result of {@link splitDocument}. */
export interface SplitDocument {
  readonly document: Record<string, unknown>;
  readonly template: Record<string, unknown>;
}

/** Resolves every {@link Split} of an importer's output into the final document and the sdx.yaml template. */
export function splitDocument(tree: Record<string, unknown>): SplitDocument {
  const side = (v: unknown, written: boolean): unknown => {
    if (v instanceof Split) return written ? v.written : v.value;
    if (typeof v === "string") return written ? escapeDollars(v) : v;
    if (Array.isArray(v)) return v.map((x) => side(x, written)).filter((x) => x !== undefined);
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const s = side(x, written);
        if (s !== undefined) out[k] = s;
      }
      // A map whose every entry belongs to the other side (env moved to secrets) is left out, not written empty.
      return Object.keys(out).length === 0 && Object.keys(v).length > 0 ? undefined : out;
    }
    return v;
  };
  return { document: side(tree, false) as Record<string, unknown>, template: side(tree, true) as Record<string, unknown> };
}
