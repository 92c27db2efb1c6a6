import type { Override } from "../model/app.js";
import type { Resource } from "../plan/resource.js";

/** RFC 7386 JSON merge patch: objects merge, `null` deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const base: Record<string, unknown> = target !== null && typeof target === "object" && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete base[k];
    else base[k] = mergePatch(base[k], v);
  }
  return base;
}

/**
 * Applies a target's `overrides` to rendered resources, in order. This is the
 * escape hatch for backend knobs the neutral model does not cover.
 */
export function applyOverrides(resources: readonly Resource[], overrides: readonly Override[]): Resource[] {
  if (overrides.length === 0) return [...resources];
  return resources.map((r) => {
    let body = r.body;
    for (const o of overrides) {
      if (o.match.kind === r.kind && (o.match.name === undefined || o.match.name === r.name)) {
        body = mergePatch(body, o.patch) as Record<string, unknown>;
      }
    }
    return body === r.body ? r : { ...r, body };
  });
}
