import { createHash } from "node:crypto";

/** JSON with object keys sorted at every level and `undefined` dropped, so equal data hashes equal. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(sortDeep(v));
}

function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (v !== null && typeof v === "object") {
    const json = (v as { toJSON?: () => unknown }).toJSON;
    if (typeof json === "function") return sortDeep(json.call(v));
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortDeep(x);
    }
    return out;
  }
  return v;
}

/** Hex SHA-256 of a string, cut to `length` characters. */
export function sha256(text: string, length = 64): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}

/**
 * A name of at most `max` characters: as is when it fits, otherwise cut and
 * suffixed with a hash of the whole so distinct long names stay distinct.
 */
export function boundedName(name: string, max = 63): string {
  if (name.length <= max) return name;
  const suffix = sha256(name, 8);
  return `${name.slice(0, max - suffix.length - 1).replace(/-+$/, "")}-${suffix}`;
}
