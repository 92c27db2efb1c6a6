import { Redacted } from "../secrets/redacted.js";
import type { Diagnostic } from "../validation/diagnostic.js";
import type { FieldChange, PlannedAction } from "./plan.js";
import { resourceKey, type LiveResource, type Resource } from "./resource.js";

/** Options for {@link diffResources}. */
export interface DiffResourcesOptions {
  /** Kinds in apply order: dependencies first (ConfigMap before Deployment). Deletes run in reverse. Unknown kinds sort last. */
  readonly kindOrder: readonly string[];
  /** Fields that need a delete-and-create to change (immutable on the backend). Return the reason, or undefined. */
  readonly replaceWhen?: (desired: Resource, live: LiveResource, changes: readonly FieldChange[]) => string | undefined;
  /** Live objects that may be deleted when absent from the desired set. @default every owned live object */
  readonly prunable?: (live: LiveResource) => boolean;
}

/** Result of {@link diffResources}. */
export interface DiffResourcesResult {
  readonly actions: PlannedAction[];
  /** Foreign objects with the names sdx wants. */
  readonly diagnostics: Diagnostic[];
}

/**
 * Pairs desired and live objects by kind and name and classifies each pair.
 * Bodies are compared as JSON; the backend passes comparable projections
 * (for example only the fields sdx manages). Output order is stable:
 * kind order, then name; deletes last, in reverse kind order.
 */
export function diffResources(desired: readonly Resource[], live: readonly LiveResource[], options: DiffResourcesOptions): DiffResourcesResult {
  const liveByKey = new Map(live.map((l) => [resourceKey(l), l]));
  const desiredKeys = new Set(desired.map(resourceKey));
  const actions: PlannedAction[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const d of desired) {
    const l = liveByKey.get(resourceKey(d));
    if (!l) {
      // A create lists no field changes: the whole body is new, and listing it would bury the updates.
      actions.push({ kind: "create", resource: ref(d), changes: [], desired: d });
      continue;
    }
    if (!l.owned) {
      diagnostics.push({
        code: "SDX_NOT_OWNED",
        severity: "error",
        path: d.service ? `services.${d.service}` : "",
        message: `${d.kind} "${d.name}" already exists and was not created by sdx for this app; sdx will not change it`,
        hint: "Rename the service, delete or rename the existing object, or deploy to another namespace/cluster.",
      });
      continue;
    }
    const changes = diffValues(l.body, d.body, "");
    if (changes.length === 0) {
      actions.push({ kind: "no-op", resource: ref(d), changes, desired: d, live: l });
      continue;
    }
    const reason = options.replaceWhen?.(d, l, changes);
    actions.push({ kind: reason ? "replace" : "update", resource: ref(d), changes, desired: d, live: l, ...(reason ? { reason } : {}) });
  }
  const prunable = options.prunable ?? (() => true);
  for (const l of live) {
    if (desiredKeys.has(resourceKey(l)) || !l.owned || !prunable(l)) continue;
    actions.push({ kind: "delete", resource: ref(l), changes: [], live: l, reason: "no longer in the app" });
  }
  return { actions: sortActions(actions, options.kindOrder), diagnostics };
}

function ref(r: Resource): PlannedAction["resource"] {
  return { kind: r.kind, name: r.name, ...(r.service ? { service: r.service } : {}) };
}

/** Stable execution order: creates/updates by kind order then name; deletes after, reverse kind order. */
export function sortActions(actions: readonly PlannedAction[], kindOrder: readonly string[]): PlannedAction[] {
  const rank = (k: string): number => {
    const i = kindOrder.indexOf(k);
    return i === -1 ? kindOrder.length : i;
  };
  return [...actions].sort((a, b) => {
    const ad = a.kind === "delete" ? 1 : 0;
    const bd = b.kind === "delete" ? 1 : 0;
    if (ad !== bd) return ad - bd;
    const r = ad ? rank(b.resource.kind) - rank(a.resource.kind) : rank(a.resource.kind) - rank(b.resource.kind);
    return r || a.resource.name.localeCompare(b.resource.name);
  });
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Redacted);

function keyedBy(arr: readonly unknown[]): string | undefined {
  // Lists of named objects (containers, env, ports) diff by name, not index,
  // so inserting one entry doesn't show every later entry as changed.
  for (const k of ["name", "Name", "containerPort", "TargetPort", "key"]) {
    if (arr.length > 0 && arr.every((x) => isPlainObject(x) && (typeof x[k] === "string" || typeof x[k] === "number"))) {
      const vals = arr.map((x) => (x as Record<string, unknown>)[k]);
      if (new Set(vals).size === vals.length) return k;
    }
  }
  return undefined;
}

function same(a: unknown, b: unknown): boolean {
  if (a instanceof Redacted || b instanceof Redacted) {
    const av = a instanceof Redacted ? a.reveal() : a;
    const bv = b instanceof Redacted ? b.reveal() : b;
    return av === bv;
  }
  return Object.is(a, b);
}

/** Field-level differences between two JSON values, with readable paths. */
export function diffValues(before: unknown, after: unknown, path: string): FieldChange[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const out: FieldChange[] = [];
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const k of keys) out.push(...diffValues(before[k], after[k], join(path, k)));
    return out;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const kb = keyedBy(before);
    const ka = keyedBy(after);
    if (kb && kb === ka) {
      const bm = new Map(before.map((x) => [String((x as Record<string, unknown>)[kb]), x]));
      const am = new Map(after.map((x) => [String((x as Record<string, unknown>)[ka]), x]));
      const out: FieldChange[] = [];
      for (const [k, v] of am) out.push(...diffValues(bm.get(k), v, `${path}[${kb}=${k}]`));
      for (const [k, v] of bm) if (!am.has(k)) out.push({ path: `${path}[${kb}=${k}]`, before: v });
      // Order matters for some lists (args); report a pure reorder as one change.
      if (out.length === 0 && [...bm.keys()].join("\0") !== [...am.keys()].join("\0")) out.push({ path: `${path}`, before: [...bm.keys()], after: [...am.keys()] });
      return out;
    }
    const out: FieldChange[] = [];
    const n = Math.max(before.length, after.length);
    for (let i = 0; i < n; i++) out.push(...diffValues(before[i], after[i], `${path}[${i}]`));
    return out;
  }
  if (before === undefined && after === undefined) return [];
  if (isPlainObject(after) && before === undefined) {
    return Object.keys(after).sort().flatMap((k) => diffValues(undefined, after[k], join(path, k)));
  }
  if (same(before, after)) return [];
  return [{ path: path || "(root)", ...(before === undefined ? {} : { before }), ...(after === undefined ? {} : { after }) }];
}

function join(path: string, key: string): string {
  const seg = /^[A-Za-z_$][\w$-]*$/.test(key) ? key : JSON.stringify(key);
  return path === "" ? seg : /^[A-Za-z_$]/.test(seg) ? `${path}.${seg}` : `${path}[${seg}]`;
}
