// @sdx/backend-k8s: the Kubernetes backend for sdx.
import type { Backend } from "@sdx/sdk";
import { K8sBackend } from "./k8s-backend.js";

export { K8sBackend, type K8sBackendOptions } from "./k8s-backend.js";
export { k8sTargetSpec, type K8sTarget } from "./k8s-target.js";
export { renderK8s, LABEL_POOL, ANNOTATION_INITIAL_REPLICAS, LABEL_RELAX_SECURITY } from "./render/render-k8s.js";
export { checkK8s } from "./check-k8s.js";
export { DEFAULT_SPOT_LABELS, capacityPlacement, type SpotLabel, type CapacityPool } from "./render/spot-placement.js";
export { planK8s, projectObject } from "./plan/plan-k8s.js";
export { applyK8s } from "./apply/apply-k8s.js";
export {
  evaluateRollout, classifyFailure, schedulerVerdict, unresolvableCause, unconvergedReason,
  type RolloutState, type SchedulerVerdict, type UnresolvableCause,
} from "./apply/rollout-state.js";
export { configReferences, podSpecReferences } from "./plan/config-references.js";
// The HTTP client (and @kubernetes/client-node behind it) is at "@sdx/backend-k8s/client",
// so that loading the backend for an offline plan does not load it.
export type { K8sClient, KubeObject } from "./client/k8s-client.js";
export { FIELD_MANAGER } from "./client/field-manager.js";
export { mapK8sError, K8sApiError } from "./client/map-k8s-error.js";
export { pricingFromNodes } from "./plan/pricing-from-nodes.js";

/** The entry point the sdk's default container calls. */
export function createBackend(): Backend {
  return new K8sBackend();
}
