/** How to reach one kind of object over the Kubernetes REST API. */
export interface KindInfo {
  readonly kind: string;
  readonly apiVersion: string;
  /** Lower-case plural used in URLs and RBAC rules, e.g. `deployments`. */
  readonly plural: string;
  readonly namespaced: boolean;
}

const table: readonly KindInfo[] = [
  { kind: "Namespace", apiVersion: "v1", plural: "namespaces", namespaced: false },
  { kind: "ConfigMap", apiVersion: "v1", plural: "configmaps", namespaced: true },
  { kind: "Secret", apiVersion: "v1", plural: "secrets", namespaced: true },
  { kind: "PersistentVolumeClaim", apiVersion: "v1", plural: "persistentvolumeclaims", namespaced: true },
  { kind: "Service", apiVersion: "v1", plural: "services", namespaced: true },
  { kind: "Deployment", apiVersion: "apps/v1", plural: "deployments", namespaced: true },
  { kind: "HorizontalPodAutoscaler", apiVersion: "autoscaling/v2", plural: "horizontalpodautoscalers", namespaced: true },
  { kind: "PodDisruptionBudget", apiVersion: "policy/v1", plural: "poddisruptionbudgets", namespaced: true },
  { kind: "Ingress", apiVersion: "networking.k8s.io/v1", plural: "ingresses", namespaced: true },
  // Read-only kinds sdx observes but never renders.
  { kind: "ReplicaSet", apiVersion: "apps/v1", plural: "replicasets", namespaced: true },
  { kind: "Pod", apiVersion: "v1", plural: "pods", namespaced: true },
  { kind: "Event", apiVersion: "v1", plural: "events", namespaced: true },
  { kind: "Node", apiVersion: "v1", plural: "nodes", namespaced: false },
  { kind: "ServiceAccount", apiVersion: "v1", plural: "serviceaccounts", namespaced: true },
];

const byKind = new Map(table.map((k) => [k.kind, k]));

/** The REST coordinates of a kind. Throws for kinds sdx does not know, which is a bug. */
export function kindInfo(kind: string): KindInfo {
  const k = byKind.get(kind);
  if (!k) throw new Error(`sdx does not know the Kubernetes kind ${kind}`);
  return k;
}

/** `deployments.apps`, `services`: the resource as RBAC and kubectl name it. */
export function qualifiedResource(kind: string): string {
  const k = kindInfo(kind);
  const group = k.apiVersion.includes("/") ? k.apiVersion.split("/")[0] : "";
  return group ? `${k.plural}.${group}` : k.plural;
}

/** The kinds sdx renders and owns, in apply order: what pods mount comes before the Deployments. */
export const MANAGED_KINDS = [
  "ConfigMap",
  "Secret",
  "PersistentVolumeClaim",
  "Service",
  "Deployment",
  "HorizontalPodAutoscaler",
  "PodDisruptionBudget",
  "Ingress",
] as const;

/** Full apply order, the namespace first. */
export const KIND_ORDER: readonly string[] = ["Namespace", ...MANAGED_KINDS];

/**
 * Concurrency rank for executeActions: objects in one rank do not depend on
 * each other. Pods reference ConfigMaps, Secrets and claims by name, so those
 * go first; HPA and PDB only name the Deployment and can go with it. Deletes
 * run after every create and update.
 */
export function applyRank(kind: string, action: string): number {
  if (action === "delete") return kind === "ConfigMap" || kind === "Secret" || kind === "PersistentVolumeClaim" ? 11 : 10;
  if (kind === "Namespace") return 0;
  if (kind === "ConfigMap" || kind === "Secret" || kind === "PersistentVolumeClaim" || kind === "Service") return 1;
  return 2;
}
