import { LABEL_APP } from "@sdx/sdk";
import type { K8sClient, KubeObject } from "../client/k8s-client.js";

type Named = { name?: string } | undefined;
interface ContainerShape {
  env?: { valueFrom?: { configMapKeyRef?: Named; secretKeyRef?: Named } }[];
  envFrom?: { configMapRef?: Named; secretRef?: Named }[];
}
interface PodSpecShape {
  containers?: ContainerShape[];
  initContainers?: ContainerShape[];
  ephemeralContainers?: ContainerShape[];
  imagePullSecrets?: Named[];
  volumes?: { configMap?: Named; secret?: { secretName?: string }; projected?: { sources?: { configMap?: Named; secret?: Named }[] } }[];
}

/** Every ConfigMap and Secret a pod spec uses, as `ConfigMap/<name>` and `Secret/<name>`. */
export function podSpecReferences(spec: unknown): Set<string> {
  const s = (spec ?? {}) as PodSpecShape;
  const out = new Set<string>();
  const add = (kind: "ConfigMap" | "Secret", name: string | undefined): void => {
    if (name) out.add(`${kind}/${name}`);
  };
  for (const c of [...(s.containers ?? []), ...(s.initContainers ?? []), ...(s.ephemeralContainers ?? [])]) {
    for (const e of c.env ?? []) {
      add("ConfigMap", e.valueFrom?.configMapKeyRef?.name);
      add("Secret", e.valueFrom?.secretKeyRef?.name);
    }
    for (const e of c.envFrom ?? []) {
      add("ConfigMap", e.configMapRef?.name);
      add("Secret", e.secretRef?.name);
    }
  }
  for (const p of s.imagePullSecrets ?? []) add("Secret", p?.name);
  for (const v of s.volumes ?? []) {
    add("ConfigMap", v.configMap?.name);
    add("Secret", v.secret?.secretName);
    for (const src of v.projected?.sources ?? []) {
      add("ConfigMap", src.configMap?.name);
      add("Secret", src.secret?.name);
    }
  }
  return out;
}

/**
 * Which object keeps each ConfigMap and Secret in use: a Deployment's current
 * template, any ReplicaSet that still exists (running, or kept in the
 * Deployment's revision history as a rollback target) and any Pod, live or
 * terminating. Keys are `ConfigMap/<name>` / `Secret/<name>`; values name
 * the first referrer found, e.g. `ReplicaSet/api-7c4b9` (for messages).
 */
export function configReferences(objects: Iterable<KubeObject>): Map<string, string> {
  const refs = new Map<string, string>();
  for (const o of objects) {
    const spec = o.kind === "Pod" ? o.spec : (o.spec as { template?: { spec?: unknown } } | undefined)?.template?.spec;
    for (const r of podSpecReferences(spec)) if (!refs.has(r)) refs.set(r, `${o.kind ?? "object"}/${o.metadata.name}`);
  }
  return refs;
}

/**
 * The references of the app's Deployments, ReplicaSets and Pods (see
 * {@link configReferences}), leaving out Deployments being deleted (`gone`:
 * their uids) with their ReplicaSets, and Pods whose ReplicaSet is gone or
 * going: a removed service's Secret goes with it, even while its pods are
 * still terminating.
 */
export async function liveConfigReferences(
  client: K8sClient, namespace: string, app: string, signal?: AbortSignal, deployments?: readonly KubeObject[], gone: ReadonlySet<string> = new Set(),
): Promise<Map<string, string>> {
  const selector = { labelSelector: `${LABEL_APP}=${app}` };
  const [deps, sets, pods] = await Promise.all([
    deployments ? Promise.resolve([...deployments]) : client.list("Deployment", namespace, selector, signal),
    client.list("ReplicaSet", namespace, selector, signal),
    client.list("Pod", namespace, selector, signal),
  ]);
  const ownedBy = (o: KubeObject, uids: ReadonlySet<string>): boolean => o.metadata.ownerReferences?.some((r) => uids.has(r.uid)) ?? false;
  const goneSets = sets.filter((rs) => ownedBy(rs, gone));
  const keptSetUids = new Set(sets.filter((rs) => !goneSets.includes(rs)).map((rs) => rs.metadata.uid ?? ""));
  // A pod whose ReplicaSet is gone or going is being garbage-collected with
  // its Deployment (background deletion removes the ReplicaSet first).
  const collected = (p: KubeObject): boolean => {
    const owner = p.metadata.ownerReferences?.find((r) => r.controller && r.kind === "ReplicaSet");
    return owner !== undefined && !keptSetUids.has(owner.uid);
  };
  return configReferences([
    ...deps.filter((d) => !gone.has(d.metadata.uid ?? "")),
    ...sets.filter((rs) => !goneSets.includes(rs)),
    ...pods.filter((p) => !collected(p)),
  ]);
}

/** The uids of the Deployments a plan deletes or replaces (their live objects'). */
export function deletedDeploymentUids(actions: readonly { readonly kind: string; readonly resource: { readonly kind: string }; readonly live?: { readonly body: Record<string, unknown> } }[]): Set<string> {
  const out = new Set<string>();
  for (const a of actions) {
    if (a.resource.kind !== "Deployment" || (a.kind !== "delete" && a.kind !== "replace")) continue;
    const uid = (a.live?.body.metadata as { uid?: string } | undefined)?.uid;
    if (uid) out.add(uid);
  }
  return out;
}
