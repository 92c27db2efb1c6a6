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

/** Container waiting reasons that retrying does not fix: the image or the pod's config is wrong. */
const PULL_FATAL = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"]);

/** A cause waiting cannot resolve; `kind` is compared across polls, `reason` is shown. */
export interface UnresolvableCause {
  readonly kind: "unschedulable" | "image-pull" | "container-config";
  readonly reason: string;
}

/** Evidence for {@link unresolvableCause}: {@link FailureEvidence} plus every pod and event of the Deployment. */
export interface StallEvidence extends FailureEvidence {
  /** Pods of every ReplicaSet of the Deployment (old ones included). */
  readonly allPods: readonly KubeObject[];
  /** Normal events about the new pods (the cluster autoscaler's `TriggeredScaleUp` is one). */
  readonly normalEvents: readonly KubeObject[];
  /**
   * The keys of every node's NoSchedule/NoExecute taints, when the scheduler's message names taints
   * without their keys and the nodes could be read. @default undefined (not read)
   */
  readonly nodeTaintKeys?: readonly (readonly string[])[];
}

/** The scheduler's verdict on every node, read from its message by {@link schedulerVerdict}. */
export interface SchedulerVerdict {
  /** True when every node is ruled out for a reason that stays true until someone changes the pod or the nodes. */
  readonly permanent: boolean;
  /** True when some node is ruled out only for lack of free resources (which old pods going away could free). */
  readonly resources: boolean;
}

// Per-node reasons the scheduler (kube-scheduler's framework plugins) writes
// that no amount of waiting changes: no node of that shape or label exists.
// "node.kubernetes.io/..." taints are left out: those are nodes that are not
// ready or unreachable, and they come back.
const NODE_MISMATCH = [
  /^node\(s\) didn't match Pod's node affinity\/selector$/,
  /^node\(s\) had untolerated taint \{(?!node\.kubernetes\.io\/)[^}]*\}$/,
  /^node\(s\) had taint \{(?!node\.kubernetes\.io\/)[^}]*\}, that the pod didn't tolerate$/,
];
const NO_RESOURCES = [/^Insufficient [a-z0-9./-]+$/i, /^Too many pods$/];
// kube-scheduler 1.36 no longer names the taint: permanent only when no node carries a node.kubernetes.io/ one.
const KEYLESS_TAINT = /^node\(s\) had untolerated taint\(s\)$/;

/**
 * Reads the kube-scheduler's FailedScheduling / Unschedulable message, e.g.
 * `0/3 nodes are available: 1 node(s) didn't match Pod's node
 * affinity/selector, 2 Insufficient cpu. no new claims to deallocate,
 * preemption: 0/3 nodes are available: ...` (kube-scheduler 1.36).
 * This is the one place sdx reads a server message to decide anything: the
 * per-node reasons (Insufficient cpu, node affinity mismatch, untolerated
 * taint) exist nowhere else in the API. Anything it does not recognise
 * (unbound claims, cordoned nodes, a changed wording) is not permanent, so
 * sdx falls back to waiting for the deadline rather than failing early.
 */
export function schedulerVerdict(message: string, nodeTaintKeys?: readonly (readonly string[])[]): SchedulerVerdict {
  // Without the taints' keys, a "had untolerated taint(s)" is permanent only when the nodes were read and none is
  // tainted by the node lifecycle (not-ready, unreachable…), which goes away by itself.
  const taintsPermanent = nodeTaintKeys !== undefined && !nodeTaintKeys.some((keys) => keys.some((k) => k.startsWith("node.kubernetes.io/")));
  const none = { permanent: false, resources: false };
  // The per-node list ends at the first ". ": then come "preemption: …" and,
  // since 1.34, other plugins' remarks ("no new claims to deallocate, …").
  const m = /^0\/(\d+) nodes are available: (.*?)(?:\.\s.*|\.)?$/s.exec(message.trim());
  if (!m) return none;
  const total = Number(m[1]);
  let counted = 0;
  let resources = false;
  for (const item of m[2]!.split(/, (?=\d+ )/)) {
    const part = /^(\d+) (.+)$/.exec(item.trim());
    if (!part) return none;
    const why = part[2]!;
    if (NO_RESOURCES.some((r) => r.test(why))) resources = true;
    else if (KEYLESS_TAINT.test(why)) {
      if (!taintsPermanent) return none;
    } else if (!NODE_MISMATCH.some((r) => r.test(why))) return none;
    counted += Number(part[1]);
  }
  // Every node must be accounted for; a node the message does not mention may still take the pod.
  return { permanent: total > 0 && counted >= total, resources };
}

/**
 * A cause of a stuck rollout that waiting will not fix, or undefined.
 * Image pull errors and CreateContainerConfigError (a missing Secret or
 * ConfigMap, or a missing key in one) are read from container waiting
 * reasons. An unschedulable pod counts only when the scheduler rules out
 * every node for permanent reasons, no pod was nominated for preemption, the
 * cluster autoscaler has not triggered a scale-up, and, when the reason is a
 * lack of free resources, no pod of the Deployment is terminating (its
 * capacity is about to come back). The caller still requires the same cause
 * on polls some seconds apart with nothing moving in between.
 */
export function unresolvableCause(e: StallEvidence): UnresolvableCause | undefined {
  for (const p of e.pods) {
    for (const c of (p as unknown as PodShape).status?.containerStatuses ?? []) {
      const w = c.state?.waiting;
      if (w?.reason && PULL_FATAL.has(w.reason)) {
        return { kind: "image-pull", reason: `image pull failed (${w.reason}${w.message ? `: ${w.message}` : ""}); waiting will not fix it` };
      }
      if (w?.reason === "CreateContainerConfigError") {
        return { kind: "container-config", reason: `container ${c.name} cannot be created (${w.reason}${w.message ? `: ${w.message}` : ""}); waiting will not fix it` };
      }
    }
  }
  if (e.normalEvents.some((ev) => ev.reason === "TriggeredScaleUp")) return undefined;
  const terminating = e.allPods.some((p) => p.metadata.deletionTimestamp !== undefined);
  for (const p of e.pods) {
    const sched = condition(p, "PodScheduled");
    if (sched?.status !== "False" || sched.reason !== "Unschedulable" || !sched.message) continue;
    if ((p.status as { nominatedNodeName?: string } | undefined)?.nominatedNodeName) continue;
    const v = schedulerVerdict(sched.message, e.nodeTaintKeys);
    if (!v.permanent || (v.resources && terminating)) continue;
    return { kind: "unschedulable", reason: `unschedulable: ${sched.message} (no node can take the pod and nothing is freeing capacity; waiting will not fix it)` };
  }
  return undefined;
}

/**
 * Why a Deployment has not converged on its latest revision, or undefined
 * when it has: read at plan time, so a re-run after an interrupted deploy
 * still waits for (or reports) the rollout it left behind.
 */
export function unconvergedReason(deployment: KubeObject): string | undefined {
  if ((deployment.spec as { paused?: boolean } | undefined)?.paused) return "rollout paused";
  const r = evaluateRollout(deployment);
  if (r.phase === "succeeded") {
    const unavailable = (deployment.status as { unavailableReplicas?: number } | undefined)?.unavailableReplicas ?? 0;
    if (r.ready < r.desired) return `${r.ready} of ${r.desired} replicas ready`;
    if (unavailable > 0) return `${unavailable} replicas unavailable`;
    return undefined;
  }
  return r.message;
}
