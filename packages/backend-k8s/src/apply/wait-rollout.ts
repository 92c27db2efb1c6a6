import { LABEL_REVISION, emit, sleep, type EventListener, type Resource } from "@sdx/sdk";
import type { K8sClient, KubeObject } from "../client/k8s-client.js";
import { FIELD_MANAGER } from "../client/field-manager.js";
import { classifyFailure, evaluateRollout, type RolloutState } from "./rollout-state.js";

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
}

/** How waiting ended. `timeout` means sdx's own deadline passed first. */
export type WaitOutcome =
  | { readonly kind: "succeeded"; readonly state: RolloutState }
  | { readonly kind: "failed" | "timeout"; readonly state: RolloutState; readonly deployment: KubeObject }
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

/** Gathers the new ReplicaSet, its pods and their Warning events, and names the cause. */
export async function diagnoseRollout(client: K8sClient, dep: KubeObject, signal?: AbortSignal): Promise<string> {
  const ns = dep.metadata.namespace;
  const sets = await replicaSetsOf(client, dep, signal);
  const current = sets.find((rs) => revisionOf(rs) === revisionOf(dep)) ?? sets[0];
  const hash = current?.metadata.labels?.[HASH_LABEL];
  const pods = hash ? await client.list("Pod", ns, { labelSelector: selectorString({ ...matchLabels(dep), [HASH_LABEL]: hash }) }, signal) : [];
  const uids = new Set([current?.metadata.uid, ...pods.map((p) => p.metadata.uid)].filter(Boolean));
  const events = (await client.list("Event", ns, { fieldSelector: "type=Warning" }, signal))
    .filter((e) => uids.has((e.involvedObject as { uid?: string } | undefined)?.uid))
    .sort((a, b) => eventTime(b).localeCompare(eventTime(a)));
  return classifyFailure({ ...(current ? { replicaSet: current } : {}), pods, events, deployment: dep });
}

/** When an event last happened, as a sortable string (core/v1 events fill one of these). */
export function eventTime(e: KubeObject): string {
  return String(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? "");
}

/**
 * Rolls a Deployment back to its previous ReplicaSet's pod template, as
 * `kubectl rollout undo` does (template copied, pod-template-hash label
 * removed). kubectl sends a JSON patch; sdx re-applies the Deployment with
 * server-side apply as field manager sdx instead, so sdx keeps owning the
 * template fields and the next deploy does not conflict with itself.
 * Returns false when there is no earlier revision to go back to.
 */
export async function rollbackDeployment(
  client: K8sClient, desired: Resource, dep: KubeObject, previousRevisionLabel: string | undefined, signal?: AbortSignal,
): Promise<boolean> {
  const sets = await replicaSetsOf(client, dep, signal);
  const currentRev = revisionOf(dep);
  const previous = sets.find((rs) => revisionOf(rs) < currentRev && revisionOf(rs) >= 0);
  if (!previous) return false;
  const template = structuredClone((previous.spec as { template: { metadata?: { labels?: Record<string, string> } } }).template);
  if (template.metadata?.labels) delete template.metadata.labels[HASH_LABEL];
  const body = desired.body as { metadata: { labels?: Record<string, string> }; spec: Record<string, unknown> };
  const restored = {
    ...body,
    metadata: { ...body.metadata, labels: { ...body.metadata.labels, ...(previousRevisionLabel ? { [LABEL_REVISION]: previousRevisionLabel } : {}) } },
    spec: { ...body.spec, template },
  };
  // Force: these fields held exactly these values minutes ago; putting them back must not stop on a conflict.
  await client.apply(restored as unknown as KubeObject, { force: true, fieldManager: FIELD_MANAGER }, signal);
  return true;
}
