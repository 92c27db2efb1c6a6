// @sdx/backend-k8s/target: the `kubernetes` target kind alone (zod and
// @sdx/sdk/target only), for validation and `sdx schema` without the backend.
import { z } from "zod";
import { capped, defineTargetKind, dnsLabel, LIMITS, type Target, type BackendCapabilities, type CostModel, type SizeLimits } from "@sdx/sdk/target";
import { k8sBillables } from "./k8s-billables.js";

/** A node label that marks spot capacity: its key, the value on spot nodes and the value on on-demand nodes. */
export interface SpotLabel {
  readonly key: string;
  readonly value: string;
  readonly onDemandValue: string;
}

/** A Kubernetes cluster, named by kubeconfig context. */
export interface K8sTarget extends Target {
  readonly kind: "kubernetes";
  /** Path to a kubeconfig, resolved against the app file's directory. @default $KUBECONFIG, then ~/.kube/config */
  readonly kubeconfig?: string;
  /** @default the kubeconfig's current context */
  readonly context?: string;
  /** A DNS-1123 label, at most 63 characters. @default "default" */
  readonly namespace: string;
  /** How public ports are exposed. @default "load-balancer" */
  readonly expose: "load-balancer" | "ingress" | "node-port";
  /** Ingress class when `expose: ingress`. @default the cluster's default class */
  readonly ingressClass?: string;
  /** Node labels that mark spot capacity, checked in order. @default DEFAULT_SPOT_LABELS (the common cloud labels) */
  readonly spotLabels?: readonly SpotLabel[];
}

const settings = z.strictObject({
  kubeconfig: z.string().optional().describe("Path to a kubeconfig, relative to the app file. Default: $KUBECONFIG, then ~/.kube/config."),
  context: z.string().optional().describe("Kubeconfig context. Default: the kubeconfig's current context."),
  namespace: capped(dnsLabel, "nameLength", "length", "characters in a namespace name", `A Kubernetes namespace is a DNS-1123 label of at most ${LIMITS.nameLength} characters.`)
    .default("default").describe("Namespace the app's objects live in (a DNS-1123 label)."),
  expose: z.enum(["load-balancer", "ingress", "node-port"]).default("load-balancer").describe("How public ports are exposed: a LoadBalancer Service, an Ingress, or a NodePort Service."),
  ingressClass: z.string().optional().describe("Ingress class when expose is ingress. Default: the cluster's default class."),
  spotLabels: z.array(z.strictObject({ key: z.string(), value: z.string(), onDemandValue: z.string() })).optional()
    .describe("Node labels that mark spot capacity, checked in order. Default: the labels of Karpenter, EKS, GKE and AKS."),
}).describe("A Kubernetes cluster, named by kubeconfig context.");

/**
 * The API server refuses a ConfigMap or Secret with more than 1 MiB of data, and
 * render puts all of a service's files in one ConfigMap and its env/file secrets
 * in one Secret.
 */
export const K8S_SIZE_LIMITS = {
  file: { bytes: 1024 * 1024, holder: "a ConfigMap" },
  filesPerService: { bytes: 1024 * 1024, holder: "one ConfigMap" },
  secret: { bytes: 1024 * 1024, holder: "a Secret" },
  secretsPerService: { bytes: 1024 * 1024, holder: "one Secret" },
} as const satisfies SizeLimits;

/** What the Kubernetes backend can do (see `BackendCapabilities`). */
export const K8S_CAPABILITIES: BackendCapabilities = {
  spot: true,
  autoscale: true,
  nativeProbes: ["http", "tcp", "exec"],
  volumes: ["ephemeral", "persistent"],
  rollback: true,
  liveDiff: true,
  sizeLimits: K8S_SIZE_LIMITS,
};

/** The name tables show for this backend. */
export const K8S_DISPLAY_NAME = "Kubernetes";

/** Node-packed, each node keeping the kubelet reservation (GKE's tiered formula) plus 100m / 200 MiB of per-node daemons. */
function k8sCostModel(): CostModel {
  return { kind: "nodes", reserve: { kind: "kubernetes-tiered", daemonCpuMillis: 100, daemonMemoryMiB: 200 } };
}

/** The `kubernetes` target kind: its settings, defaults, and the kubeconfig path. */
export const k8sTargetSpec = defineTargetKind<K8sTarget, typeof settings>({
  kind: "kubernetes",
  settings,
  displayName: K8S_DISPLAY_NAME,
  capabilities: K8S_CAPABILITIES,
  costModel: k8sCostModel,
  billables: k8sBillables,
  normalize: (s, common) => ({ ok: true, target: { ...common, kind: "kubernetes", ...s } }),
  pathSettings: ["kubeconfig"],
  testenv: "k8s",
});

/** The name sdx's loader looks for in a backend's `/target` module. */
export { k8sTargetSpec as targetKindSpec };
