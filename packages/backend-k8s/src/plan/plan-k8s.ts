import {
  LABEL_APP,
  LABEL_MANAGED_BY,
  LABEL_SERVICE,
  MANAGED_BY_VALUE,
  Redacted,
  diffResources,
  diffValues,
  isOwnedBy,
  isSdxError,
  resourceKey,
  sortActions,
  summarize,
  throwIfAborted,
  type BackendContext,
  type BackendPlan,
  type BackendPlanOptions,
  type Diagnostic,
  type LiveResource,
  type PlannedAction,
  type Resource,
  type UnconvergedRollout,
} from "@sdx/sdk";
import { initialScale } from "../apply/initial-scale.js";
import { unconvergedReason } from "../apply/rollout-state.js";
import type { K8sClient, KubeObject } from "../client/k8s-client.js";
import { KIND_ORDER, MANAGED_KINDS } from "../k8s-kinds.js";
import type { K8sTarget } from "../k8s-target.js";
import { mapBounded } from "./map-bounded.js";
import { deletedDeploymentUids, liveConfigReferences } from "./config-references.js";
import { deployedServices } from "./deployed-services.js";

/** Requests in flight at once while planning. */
const PLAN_CONCURRENCY = 8;

type Obj = Record<string, unknown>;

/**
 * The comparable shape of a server object: what the API server keeps as the
 * object's content, without bookkeeping that changes on every write
 * (resourceVersion, generation, managedFields) and without status. The uid is
 * kept: it never differs between a live object and its dry-run, and apply
 * uses it as a delete precondition. Secret data is wrapped in `Redacted` so a
 * plan can say a value changed without printing it.
 */
export function projectObject(obj: KubeObject): Obj {
  const { status: _status, ...rest } = obj as KubeObject & { status?: unknown };
  const { resourceVersion: _rv, generation: _gen, managedFields: _mf, ...metadata } = obj.metadata;
  const out: Obj = { ...rest, metadata };
  if (obj.kind === "Secret" && obj.data && typeof obj.data === "object") {
    out.data = Object.fromEntries(Object.entries(obj.data as Record<string, string>).map(([k, v]) => [k, new Redacted(v)]));
  }
  return out;
}

/** A live object as the sdk's diff sees it. */
export function toLiveResource(obj: KubeObject, app: string): LiveResource {
  const labels = obj.metadata.labels;
  const service = labels?.[LABEL_SERVICE];
  return {
    kind: obj.kind ?? "",
    name: obj.metadata.name,
    ...(service && labels?.[LABEL_APP] === app ? { service } : {}),
    body: projectObject(obj),
    owned: isOwnedBy(labels, app),
    ...(obj.metadata.resourceVersion ? { version: obj.metadata.resourceVersion } : {}),
  };
}

/** The Namespace sdx creates when the target's is missing. It is never pruned or destroyed: other things may live in it. */
export function namespaceResource(name: string): Resource {
  return { kind: "Namespace", name, body: { apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE } } } };
}

/**
 * Fields the API server refuses to change in place. A dry-run that hits one
 * fails validation, so they are compared here and turned into a replace.
 */
function immutableChanges(desired: Resource, live: KubeObject): ReturnType<typeof diffValues> {
  const d = desired.body as Obj & { spec?: Obj; data?: unknown };
  const l = live as KubeObject & { spec?: Obj; data?: unknown; immutable?: boolean };
  switch (desired.kind) {
    case "Deployment":
      return diffValues(l.spec?.selector, d.spec?.selector, "spec.selector");
    case "ConfigMap":
      return l.immutable ? diffValues(l.data, d.data, "data") : [];
    case "PersistentVolumeClaim":
      return diffValues((l.spec as Obj | undefined)?.accessModes, (d.spec as Obj | undefined)?.accessModes, "spec.accessModes");
    default:
      return [];
  }
}

/**
 * Plans against the live cluster: observes this app's objects by label, asks
 * the server what each desired object would become (server-side dry-run apply
 * as field manager sdx), and diffs that against the live object. The result
 * lists real field changes only, and nothing for an unchanged app.
 */
export async function planK8s(client: K8sClient, ctx: BackendContext<K8sTarget>, desired: readonly Resource[], options: BackendPlanOptions): Promise<BackendPlan> {
  const target = ctx.target;
  const ns = target.namespace;
  const app = ctx.app.name;
  const signal = options.signal;
  await client.probe(signal);
  throwIfAborted(signal);

  const [nsExists, ...lists] = await Promise.all([
    namespaceExists(client, ns, signal),
    ...MANAGED_KINDS.map((k) => client.list(k, ns, { labelSelector: `${LABEL_APP}=${app}` }, signal)),
  ]);
  const liveByKey = new Map<string, KubeObject>();
  for (const list of lists) for (const o of list) liveByKey.set(`${o.kind}/${o.metadata.name}`, o);
  const diagnostics: Diagnostic[] = [];
  const extra: PlannedAction[] = [];
  const forDiff: Resource[] = [];
  // Objects planned outside the diff (replacements) or not plannable (conflicts):
  // kept out of the live set so the diff does not take them for prunable leftovers.
  const handled = new Set<string>();

  await mapBounded(desired, PLAN_CONCURRENCY, async (d) => {
    const key = resourceKey(d);
    // Not labelled for this app: maybe a foreign object with the same name.
    const live = liveByKey.get(key) ?? (nsExists ? await client.get(d.kind, d.name, ns, signal) : undefined);
    if (live) liveByKey.set(key, live);
    if (live && !isOwnedBy(live.metadata.labels, app)) {
      forDiff.push(d); // diffResources reports SDX_NOT_OWNED
      return;
    }
    if (!nsExists) {
      forDiff.push(d); // everything is a create; a dry-run needs the namespace
      return;
    }
    try {
      const result = await client.apply(d.body as unknown as KubeObject, { dryRun: true, force: options.forceConflicts === true }, signal);
      forDiff.push(live ? { ...d, body: projectObject(result) } : d);
    } catch (e) {
      if (!isSdxError(e)) throw e;
      const path = d.service ? `services.${d.service}` : "";
      if (e.code === "SDX_BACKEND_REJECTED" && live) {
        const changes = immutableChanges(d, live);
        if (changes.length > 0) {
          const l = toLiveResource(live, app);
          extra.push({ kind: "replace", resource: ref(d), changes, desired: d, live: l, reason: `${changes[0]!.path} cannot change in place` });
          handled.add(key);
          return;
        }
      }
      if (e.code === "SDX_BACKEND_CONFLICT" || e.code === "SDX_BACKEND_REJECTED") {
        diagnostics.push({ code: e.code, severity: "error", path, message: e.message, ...(e.hint ? { hint: e.hint } : {}), target: target.name });
        handled.add(key);
        return;
      }
      throw e;
    }
  });

  const live = [...liveByKey.values()].map((o) => toLiveResource(o, app)).filter((l) => !handled.has(resourceKey(l)));
  // Keep the rendered order so the diff's output order is stable.
  const order = new Map(desired.map((d, i) => [resourceKey(d), i]));
  forDiff.sort((a, b) => order.get(resourceKey(a))! - order.get(resourceKey(b))!);
  const diff = diffResources(forDiff, live, { kindOrder: KIND_ORDER });
  const rendered = new Map(desired.map((d) => [resourceKey(d), d]));
  // The diff compared server projections; apply needs the rendered object.
  let actions = diff.actions.map((a) => (a.desired ? { ...a, desired: rendered.get(resourceKey(a.resource))! } : a));
  actions = sortActions([...actions, ...extra], KIND_ORDER);
  actions = await keepReferencedConfig(client, ns, app, actions, [...liveByKey.values()], signal);
  actions = actions.map((a) => reseed(a, liveByKey.get(resourceKey(a.resource))));
  if (!nsExists) actions = [{ kind: "create", resource: { kind: "Namespace", name: ns }, changes: [], desired: namespaceResource(ns), reason: "the namespace does not exist" }, ...actions];
  const allDiagnostics = [...diff.diagnostics.map((d) => ({ ...d, target: target.name })), ...diagnostics];
  return {
    target: target.name, backend: "kubernetes", mode: "live", actions, summary: summarize(actions), diagnostics: allDiagnostics,
    deployed: deployedServices(liveByKey.values(), app),
    unconverged: unconverged(desired, liveByKey, app),
  };
}

/** Content-named ConfigMaps and Secrets are pruned only once nothing that runs or can be rolled back to uses them. */
const isConfigDelete = (a: PlannedAction): boolean => a.kind === "delete" && (a.resource.kind === "ConfigMap" || a.resource.kind === "Secret");

/**
 * Turns prunes of ConfigMaps and Secrets that a Deployment template, a
 * ReplicaSet still in the cluster (running, or kept as a rollback target in
 * the revision history) or a Pod still references into no-ops, so neither
 * running pods nor a rollback lose what they mount. The Deployment
 * controller trims the history (`revisionHistoryLimit`); the next deploy
 * after that collects them.
 */
async function keepReferencedConfig(
  client: K8sClient, ns: string, app: string, actions: PlannedAction[], live: readonly KubeObject[], signal: AbortSignal | undefined,
): Promise<PlannedAction[]> {
  if (!actions.some(isConfigDelete)) return actions;
  const refs = await liveConfigReferences(client, ns, app, signal, live.filter((o) => o.kind === "Deployment"), deletedDeploymentUids(actions));
  return actions.map((a) => {
    const by = isConfigDelete(a) ? refs.get(`${a.resource.kind}/${a.resource.name}`) : undefined;
    return by ? { kind: "no-op", resource: a.resource, changes: [], ...(a.live ? { live: a.live } : {}), reason: `kept: still used by ${by}` } : a;
  });
}

/**
 * An autoscaled Deployment whose first scale never landed (it runs fewer
 * replicas than the HPA's minimum) plans as an update, so a re-run seeds it.
 */
function reseed(a: PlannedAction, live: KubeObject | undefined): PlannedAction {
  if (a.kind !== "no-op" || a.resource.kind !== "Deployment" || !a.desired || !live) return a;
  const annotations = (a.desired.body as unknown as KubeObject).metadata.annotations;
  const seed = initialScale({ ...live, metadata: { ...live.metadata, ...(annotations ? { annotations } : {}) } });
  if (seed === undefined) return a;
  const before = (live.spec as { replicas?: number } | undefined)?.replicas;
  return { ...a, kind: "update", changes: [{ path: "spec.replicas", before, after: seed }], reason: "the autoscaler's initial scale was never applied" };
}

/** Live Deployments whose rollout has not converged on their latest revision (an interrupted or stuck deploy). */
function unconverged(desired: readonly Resource[], liveByKey: ReadonlyMap<string, KubeObject>, app: string): UnconvergedRollout[] {
  const out: UnconvergedRollout[] = [];
  for (const d of desired) {
    if (d.kind !== "Deployment") continue;
    const live = liveByKey.get(resourceKey(d));
    if (!live || !isOwnedBy(live.metadata.labels, app)) continue;
    const reason = unconvergedReason(live);
    if (reason) out.push({ service: d.service ?? d.name, resource: ref(d), reason });
  }
  return out;
}

/**
 * Whether the target namespace exists. Users confined to one namespace may not
 * read Namespace objects at all; for them the namespace is taken to exist.
 */
async function namespaceExists(client: K8sClient, ns: string, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    return (await client.get("Namespace", ns, undefined, signal)) !== undefined;
  } catch (e) {
    if (isSdxError(e) && e.code === "SDX_BACKEND_FORBIDDEN") return true;
    throw e;
  }
}

function ref(r: Resource): PlannedAction["resource"] {
  return { kind: r.kind, name: r.name, ...(r.service ? { service: r.service } : {}) };
}
