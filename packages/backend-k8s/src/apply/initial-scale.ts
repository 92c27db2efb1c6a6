import type { KubeObject } from "../client/k8s-client.js";
import { ANNOTATION_INITIAL_REPLICAS } from "../render/render-k8s.js";

/** Field manager that seeds replicas of an autoscaled Deployment, so sdx's own apply never owns spec.replicas. */
export const SEED_MANAGER = "sdx-initial-scale";

/**
 * The replicas to seed an autoscaled Deployment (one that carries
 * `sdx.dev/initial-replicas`, the HPA's minimum) with, or undefined when it
 * needs none. It needs one while it runs fewer replicas than that minimum:
 * just created (the API server defaults `spec.replicas` to 1), switched from
 * fixed replicas (releasing the field resets it to 1), or an earlier seed
 * failed. The HPA itself never goes below its minimum, so once the seed or
 * the HPA has acted this is undefined for good. Ownership cannot tell: the
 * API server records no managedFields entry for a write through the scale
 * subresource to a field nobody owned (seen on kube-apiserver 1.36).
 * Zero replicas is left alone: that is how autoscaling is switched off.
 */
export function initialScale(obj: KubeObject): number | undefined {
  const seed = Number(obj.metadata.annotations?.[ANNOTATION_INITIAL_REPLICAS]);
  if (!Number.isInteger(seed) || seed < 1) return undefined;
  const replicas = (obj.spec as { replicas?: number } | undefined)?.replicas ?? 1;
  return replicas > 0 && replicas < seed ? seed : undefined;
}
