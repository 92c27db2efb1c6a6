import { LABEL_REVISION, emit, sleep, type EventListener, type Resource } from "@sdx/sdk";
import type { K8sClient, KubeObject } from "../client/k8s-client.js";
import { FIELD_MANAGER } from "../client/field-manager.js";
import { classifyFailure, evaluateRollout, unresolvableCause, type RolloutState, type StallEvidence, type UnresolvableCause } from "./rollout-state.js";

/** Options for {@link waitForRollout}. */
export interface WaitRolloutOptions {
  readonly target: string;
  readonly service: string;
  /** Give up after this long even if the controller has not declared the deadline exceeded. */
  readonly timeoutMs: number;
  readonly onEvent?: EventListener;
  readonly signal?: AbortSignal;
  /** First poll delay; grows by half each poll up to {@link maxPollMs}. @default 150 */
  readonly minPollMs?: number;
  /** @default 1000 */
  readonly maxPollMs?: number;
  /** Injected for tests. @default Date.now */
  readonly now?: () => number;
  /** Injected for tests. @default the sdk's abortable sleep */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Looks for a cause waiting cannot fix (see {@link unresolvableCause}); when
   * absent the wait only ends on success, the controller's deadline or sdx's.
   * @default undefined (no fail-fast)
   */
  readonly stallCheck?: (deployment: KubeObject) => Promise<UnresolvableCause | undefined>;
  /** How long the same unresolvable cause must hold, with nothing moving, before the wait gives up. @default 5000 */
  readonly failFastAfterMs?: number;
  /** Least time between two stall checks (each lists ReplicaSets, pods and events). @default 1000 */
  readonly stallCheckEveryMs?: number;
}

/** How waiting ended. `timeout` means sdx's own deadline passed first. */
export type WaitOutcome =
  | { readonly kind: "succeeded"; readonly state: RolloutState }
  | { readonly kind: "failed" | "timeout"; readonly state: RolloutState; readonly deployment: KubeObject; readonly reason?: string }
  | { readonly kind: "gone" };

/**
 * Polls a Deployment until its rollout succeeds, the controller reports
 * ProgressDeadlineExceeded, or the deadline passes, with backoff, emitting
 * `rollout-progress` whenever the counts change. Aborting rejects with SDX_ABORTED.
 */
export async function waitForRollout(client: K8sClient, namespace: string, name: string, options: WaitRolloutOptions): Promise<WaitOutcome> {
  const now = options.now ?? Date.now;
  const nap = options.sleep ?? sleep;
  const deadline = now() + options.timeoutMs;
  let delay = options.minPollMs ?? 150;
  const maxDelay = options.maxPollMs ?? 1000;
  let last = "";
  const checkEvery = options.stallCheckEveryMs ?? 1000;
  const failFastAfter = options.failFastAfterMs ?? 5000;
  // The first stall check waits one interval: a healthy rollout is usually done by then.
  let lastCheck = now();
  let stall: { kind: UnresolvableCause["kind"]; key: string; since: number } | undefined;
  for (;;) {
    const dep = await client.get("Deployment", name, namespace, options.signal);
    if (!dep) return { kind: "gone" };
    const state = evaluateRollout(dep);
    const key = `${state.desired}/${state.updated}/${state.ready}/${state.phase}`;
    if (key !== last) {
      last = key;
      emit(options.onEvent, {
        kind: "rollout-progress", target: options.target, service: options.service,
        desired: state.desired, updated: state.updated, ready: state.ready, message: `${name}: ${state.message}`,
      });
      delay = options.minPollMs ?? 150; // poll fast again while things move
    }
    if (state.phase === "succeeded") return { kind: "succeeded", state };
    if (state.phase === "failed") return { kind: "failed", state, deployment: dep };
    if (options.stallCheck && now() - lastCheck >= checkEvery) {
      lastCheck = now();
      const cause = await options.stallCheck(dep);
      if (!cause) stall = undefined;
      else if (stall && stall.kind === cause.kind && stall.key === key) {
        // Same cause, and nothing moved since it was first seen.
        if (now() - stall.since >= failFastAfter) return { kind: "failed", state, deployment: dep, reason: cause.reason };
      } else stall = { kind: cause.kind, key, since: now() };
    }
    if (now() >= deadline) return { kind: "timeout", state, deployment: dep };
    await nap(delay, options.signal);
    delay = Math.min(maxDelay, Math.ceil(delay * 1.5));
  }
}

const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
const HASH_LABEL = "pod-template-hash";

function revisionOf(o: KubeObject): number {
  const v = Number(o.metadata.annotations?.[REVISION_ANNOTATION]);
  return Number.isFinite(v) ? v : -1;
}

function matchLabels(dep: KubeObject): Record<string, string> {
  return ((dep.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined)?.selector?.matchLabels) ?? {};
}

function selectorString(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",");
}

/** The Deployment's ReplicaSets (by controller reference), newest revision first. */
export async function replicaSetsOf(client: K8sClient, dep: KubeObject, signal?: AbortSignal): Promise<KubeObject[]> {
  const all = await client.list("ReplicaSet", dep.metadata.namespace, { labelSelector: selectorString(matchLabels(dep)) }, signal);
  return all
    .filter((rs) => rs.metadata.ownerReferences?.some((o) => o.controller && o.uid === dep.metadata.uid))
    .sort((a, b) => revisionOf(b) - revisionOf(a));
}

/** Gathers the new ReplicaSet, the Deployment's pods and the events about the new ones. */
export async function rolloutEvidence(client: K8sClient, dep: KubeObject, signal?: AbortSignal): Promise<StallEvidence> {
  const ns = dep.metadata.namespace;
  const sets = await replicaSetsOf(client, dep, signal);
  const current = sets.find((rs) => revisionOf(rs) === revisionOf(dep)) ?? sets[0];
  const hash = current?.metadata.labels?.[HASH_LABEL];
  const owners = new Set(sets.map((rs) => rs.metadata.uid));
  const allPods = (await client.list("Pod", ns, { labelSelector: selectorString(matchLabels(dep)) }, signal))
    .filter((p) => p.metadata.ownerReferences?.some((o) => owners.has(o.uid)) ?? true);
  const pods = hash ? allPods.filter((p) => p.metadata.labels?.[HASH_LABEL] === hash) : [];
  const uids = new Set([current?.metadata.uid, ...pods.map((p) => p.metadata.uid)].filter(Boolean));
  const events = (await client.list("Event", ns, {}, signal))
    .filter((e) => uids.has((e.involvedObject as { uid?: string } | undefined)?.uid))
    .sort((a, b) => eventTime(b).localeCompare(eventTime(a)));
  return {
    ...(current ? { replicaSet: current } : {}), pods, allPods, deployment: dep,
    events: events.filter((e) => e.type === "Warning"), normalEvents: events.filter((e) => e.type !== "Warning"),
  };
}

/** Names the cause of a failed rollout from its evidence. */
export async function diagnoseRollout(client: K8sClient, dep: KubeObject, signal?: AbortSignal): Promise<string> {
  return classifyFailure(await rolloutEvidence(client, dep, signal));
}

/** A stall check for {@link waitForRollout}: the evidence, judged by {@link unresolvableCause}. */
export function stallCheckFor(client: K8sClient, signal?: AbortSignal): (dep: KubeObject) => Promise<UnresolvableCause | undefined> {
  return async (dep) => {
    const evidence = await rolloutEvidence(client, dep, signal);
    // Nodes are read only when the scheduler blames taints without naming them (kube-scheduler 1.36), and
    // only if allowed: a namespace-scoped user cannot list nodes, and then sdx waits as before.
    if (!evidence.pods.some((p) => /untolerated taint\(s\)/.test(JSON.stringify((p.status as { conditions?: unknown } | undefined)?.conditions ?? "")))) return unresolvableCause(evidence);
    const nodes = await client.list("Node", undefined, {}, signal).catch(() => undefined);
    const nodeTaintKeys = nodes?.map((n) => ((n.spec as { taints?: { key: string; effect?: string }[] } | undefined)?.taints ?? [])
      .filter((t) => t.effect === "NoSchedule" || t.effect === "NoExecute").map((t) => t.key));
    return unresolvableCause(nodeTaintKeys ? { ...evidence, nodeTaintKeys } : evidence);
  };
}

/** When an event last happened, as a sortable string (core/v1 events fill one of these). */
export function eventTime(e: KubeObject): string {
  return String(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? "");
}

/** What ran before a deploy changed a Deployment, from the plan's live object. */
export interface PreviousDeployment {
  /** Its `sdx.dev/revision` label. */
  readonly revisionLabel?: string;
  /** Its `spec.replicas`; restored only when sdx sets replicas (not under an HPA). */
  readonly replicas?: number;
  /** Its `deployment.kubernetes.io/revision`: the ReplicaSet whose template to restore. */
  readonly revision?: number;
}

/** Reads {@link PreviousDeployment} from a live Deployment body (as a plan's `live.body`). */
export function previousOf(body: Record<string, unknown> | undefined): PreviousDeployment {
  const b = (body ?? {}) as { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: { replicas?: number } };
  const rev = Number(b.metadata?.annotations?.[REVISION_ANNOTATION]);
  const label = b.metadata?.labels?.[LABEL_REVISION];
  return {
    ...(label ? { revisionLabel: label } : {}),
    ...(typeof b.spec?.replicas === "number" ? { replicas: b.spec.replicas } : {}),
    ...(Number.isFinite(rev) && rev > 0 ? { revision: rev } : {}),
  };
}

/**
 * Rolls a Deployment back to what ran before the deploy: the pod template of
 * the ReplicaSet that was current then (as `kubectl rollout undo` does,
 * without `pod-template-hash`), the replicas and the revision label. A
 * scale-only change has no new ReplicaSet: then only replicas and label go
 * back. kubectl sends a JSON patch; sdx re-applies the Deployment with
 * server-side apply as field manager sdx instead, so sdx keeps owning the
 * template fields and the next deploy does not conflict with itself.
 * Without `previous.revision` (a rollout found unfinished by a re-run, whose
 * starting point is unknown) the newest older ReplicaSet is the target.
 * Returns false when there is nothing to go back to.
 */
export async function rollbackDeployment(
  client: K8sClient, desired: Resource, dep: KubeObject, previous: PreviousDeployment, signal?: AbortSignal,
): Promise<boolean> {
  const currentRev = revisionOf(dep);
  const body = desired.body as { metadata: { labels?: Record<string, string> }; spec: Record<string, unknown> };
  let template: unknown = body.spec.template;
  if (previous.revision === undefined || previous.revision !== currentRev) {
    const sets = await replicaSetsOf(client, dep, signal);
    const target = (previous.revision === undefined ? undefined : sets.find((rs) => revisionOf(rs) === previous.revision))
      ?? sets.find((rs) => revisionOf(rs) < currentRev && revisionOf(rs) >= 0);
    if (!target) return false;
    const t = structuredClone((target.spec as { template: { metadata?: { labels?: Record<string, string> } } }).template);
    if (t.metadata?.labels) delete t.metadata.labels[HASH_LABEL];
    template = t;
  } else if (previous.replicas === undefined || body.spec.replicas === undefined || previous.replicas === body.spec.replicas) {
    // Same template, same replicas: a label-only change, nothing to undo in the pods.
    if (previous.revisionLabel === undefined) return false;
  }
  const restored = {
    ...body,
    metadata: { ...body.metadata, labels: { ...body.metadata.labels, ...(previous.revisionLabel ? { [LABEL_REVISION]: previous.revisionLabel } : {}) } },
    spec: {
      ...body.spec, template,
      // Under an HPA sdx never sets replicas; otherwise the old count comes back with the old template.
      ...(body.spec.replicas !== undefined && previous.replicas !== undefined ? { replicas: previous.replicas } : {}),
    },
  };
  // Force: these fields held exactly these values minutes ago; putting them back must not stop on a conflict.
  await client.apply(restored as unknown as KubeObject, { force: true, fieldManager: FIELD_MANAGER }, signal);
  return true;
}
