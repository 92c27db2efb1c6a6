import type { Placement } from "@sdx/sdk";
import type { SpotLabel } from "../k8s-target.js";

export type { SpotLabel };

/**
 * The capacity labels the managed offerings put on nodes. A node carrying one
 * of them with the spot value is spot capacity; any other node is on-demand.
 */
export const DEFAULT_SPOT_LABELS: readonly SpotLabel[] = [
  { key: "karpenter.sh/capacity-type", value: "spot", onDemandValue: "on-demand" },
  { key: "eks.amazonaws.com/capacityType", value: "SPOT", onDemandValue: "ON_DEMAND" },
  { key: "cloud.google.com/gke-spot", value: "true", onDemandValue: "false" },
  { key: "kubernetes.azure.com/scalesetpriority", value: "spot", onDemandValue: "regular" },
];

/** Which capacity a Deployment's pods may use. */
export type CapacityPool = "spot-preferred" | "spot-only" | "on-demand-only";

/** The pod spec fields that place pods on a capacity pool. */
export interface PodPlacement {
  readonly affinity?: Record<string, unknown>;
  readonly tolerations?: readonly Record<string, unknown>[];
}

/**
 * Node affinity and tolerations for a capacity pool.
 *
 * On-demand is expressed as "no spot label has its spot value" (`NotIn`), not
 * as "the on-demand value is present", because GKE and self-managed nodes
 * carry no label at all when they are on-demand. Tolerations are added for
 * every spot label with its spot value, since GKE and AKS taint spot nodes
 * that way; tolerating a taint that does not exist is harmless.
 */
export function capacityPlacement(pool: CapacityPool, labels: readonly SpotLabel[]): PodPlacement {
  if (labels.length === 0) return {};
  const tolerations = labels.map((l) => ({ key: l.key, operator: "Equal", value: l.value, effect: "NoSchedule" }));
  switch (pool) {
    case "on-demand-only":
      return {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: labels.map((l) => ({ key: l.key, operator: "NotIn", values: [l.value] })) }],
            },
          },
        },
      };
    case "spot-preferred":
      return {
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: labels.map((l) => ({
              weight: 100,
              preference: { matchExpressions: [{ key: l.key, operator: "In", values: [l.value] }] },
            })),
          },
        },
        tolerations,
      };
    case "spot-only":
      return {
        affinity: {
          nodeAffinity: {
            // Terms are ORed: any one spot label is enough.
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: labels.map((l) => ({ matchExpressions: [{ key: l.key, operator: "In", values: [l.value] }] })),
            },
          },
        },
        tolerations,
      };
    default: {
      const never: never = pool;
      throw new Error(`unhandled pool ${String(never)}`);
    }
  }
}

/** The pool of a service's main Deployment. */
export function mainPool(placement: Placement): CapacityPool {
  switch (placement.spot) {
    case "never":
      return "on-demand-only";
    case "prefer":
      return "spot-preferred";
    case "only":
      return "spot-only";
    default: {
      const never: never = placement.spot;
      throw new Error(`unhandled spot policy ${String(never)}`);
    }
  }
}

/** Replicas pinned to on-demand in a separate `<svc>-on-demand` Deployment (0: none). */
export function onDemandReplicas(placement: Placement): number {
  return placement.spot === "never" ? 0 : placement.minOnDemand;
}
