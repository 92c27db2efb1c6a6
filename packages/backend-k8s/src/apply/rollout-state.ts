import type { KubeObject } from "../client/k8s-client.js";

/** A Kubernetes condition as it appears in `status.conditions`. */
export interface KubeCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly lastUpdateTime?: string;
  readonly lastTransitionTime?: string;
}

/** Where one Deployment's rollout stands. */
export interface RolloutState {
  readonly phase: "progressing" | "succeeded" | "failed";
  /** spec.replicas (what the Deployment wants now). */
  readonly desired: number;
  readonly updated: number;
  readonly ready: number;
  readonly available: number;
  /** In the words `kubectl rollout status` uses. */
  readonly message: string;
}

interface DeploymentShape {
  metadata: { generation?: number };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    conditions?: KubeCondition[];
  };
}

/** The condition of a type, if present. */
export function condition(obj: KubeObject, type: string): KubeCondition | undefined {
  const conds = (obj.status as { conditions?: KubeCondition[] } | undefined)?.conditions;
  return conds?.find((c) => c.type === type);
}

/**
 * Reads a Deployment's rollout from its status, the way `kubectl rollout
 * status` does: the controller must have observed the latest generation; a
 * Progressing condition with reason ProgressDeadlineExceeded is a failure;
 * otherwise it is done when every replica is updated and available and no old
 * replica is left.
 */
export function evaluateRollout(deployment: KubeObject): RolloutState {
  const d = deployment as unknown as DeploymentShape;
  const st = d.status ?? {};
  const desired = d.spec?.replicas ?? 1;
  const updated = st.updatedReplicas ?? 0;
  const ready = st.readyReplicas ?? 0;
  const available = st.availableReplicas ?? 0;
  const counts = { desired, updated, ready, available };
  if ((d.metadata.generation ?? 0) > (st.observedGeneration ?? 0)) {
    return { phase: "progressing", ...counts, message: "waiting for the deployment spec update to be observed" };
  }
  const progressing = condition(deployment, "Progressing");
  if (progressing?.reason === "ProgressDeadlineExceeded") {
    return { phase: "failed", ...counts, message: `exceeded its progress deadline${progressing.message ? `: ${progressing.message}` : ""}` };
  }
  if (updated < desired) return { phase: "progressing", ...counts, message: `${updated} of ${desired} new replicas updated` };
  if ((st.replicas ?? 0) > updated) return { phase: "progressing", ...counts, message: `${(st.replicas ?? 0) - updated} old replicas pending termination` };
  if (available < updated) return { phase: "progressing", ...counts, message: `${available} of ${updated} updated replicas available` };
  return { phase: "succeeded", ...counts, message: `${available} of ${desired} replicas available` };
}

/** Why a rollout failed, from the new ReplicaSet, its pods and recent Warning events. */
export interface FailureEvidence {
  readonly replicaSet?: KubeObject;
  readonly pods: readonly KubeObject[];
  /** Warning events about the ReplicaSet or its pods, newest first. */
  readonly events: readonly KubeObject[];
  readonly deployment: KubeObject;
}

interface PodShape {
  status?: {
    conditions?: KubeCondition[];
    containerStatuses?: { name: string; ready?: boolean; state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } } }[];
  };
}

const IMAGE_PULL = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable"]);
const CRASHING = new Set(["CrashLoopBackOff", "CreateContainerConfigError", "CreateContainerError", "RunContainerError"]);

/**
 * Names the cause of a failed rollout by the structured reasons Kubernetes
 * records (pod condition reasons, container waiting reasons, ReplicaSet
 * conditions, event reasons); the server's message is appended as detail.
 */
export function classifyFailure(e: FailureEvidence): string {
  const rsFail = e.replicaSet ? condition(e.replicaSet, "ReplicaFailure") : undefined;
  if (rsFail?.status === "True") {
    // FailedCreate: quota, LimitRange or admission refused the pods.
    return `pods could not be created (${rsFail.reason ?? "ReplicaFailure"}${rsFail.message ? `: ${rsFail.message}` : ""})`;
  }
  for (const p of e.pods) {
    const sched = condition(p, "PodScheduled");
    if (sched?.status === "False" && sched.reason === "Unschedulable") return `unschedulable: ${sched.message ?? "no node fits the pod"}`;
  }
  for (const p of e.pods) {
    for (const c of (p as unknown as PodShape).status?.containerStatuses ?? []) {
      const w = c.state?.waiting;
      if (w?.reason && IMAGE_PULL.has(w.reason)) return `image pull failed (${w.reason}${w.message ? `: ${w.message}` : ""})`;
      if (w?.reason && CRASHING.has(w.reason)) return `container ${c.name} is failing (${w.reason}${w.message ? `: ${w.message}` : ""})`;
    }
  }
  const failedCreate = e.events.find((ev) => ev.reason === "FailedCreate");
  if (failedCreate) return `pods could not be created (FailedCreate: ${String(failedCreate.message ?? "")})`;
  const failedScheduling = e.events.find((ev) => ev.reason === "FailedScheduling");
  if (failedScheduling) return `unschedulable: ${String(failedScheduling.message ?? "")}`;
  const running = e.pods.filter((p) => (p as unknown as PodShape).status?.containerStatuses?.some((c) => c.state && "running" in c.state));
  const notReady = running.filter((p) => condition(p, "Ready")?.status !== "True");
  if (notReady.length > 0) return `readiness never reached: ${notReady.length} pod(s) running but not ready`;
  const other = e.events[0];
  if (other) return `${String(other.reason ?? "Warning")}: ${String(other.message ?? "")}`;
  const prog = condition(e.deployment, "Progressing");
  return prog?.message ?? "the rollout did not complete in time";
}
