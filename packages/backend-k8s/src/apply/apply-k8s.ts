import {
  applyPlan,
  isSdxError,
  resourceKey,
  rolloutSettings,
  sleep,
  throwIfAborted,
  type ApplyHooks,
  type ApplyWatch,
  type BackendApplyOptions,
  type BackendApplyResult,
  type BackendContext,
  type BackendPlan,
  type PlannedAction,
  type Resource,
  type RolloutOutcome,
} from "@sdx/sdk";
import type { K8sClient, KubeObject } from "../client/k8s-client.js";
import { applyRank } from "../k8s-kinds.js";
import { deletedDeploymentUids, liveConfigReferences } from "../plan/config-references.js";
import type { K8sTarget } from "../k8s-target.js";
import { ANNOTATION_INITIAL_REPLICAS } from "../render/render-k8s.js";
import { initialScale, SEED_MANAGER } from "./initial-scale.js";
import {
  diagnoseRollout, previousOf, rollbackDeployment, stallCheckFor, waitForRollout, type PreviousDeployment, type WaitOutcome, type WaitRolloutOptions,
} from "./wait-rollouts.js";

/** Objects applied at once within a rank. */
const APPLY_CONCURRENCY = 8;
/** Extra time sdx waits past progressDeadlineSeconds, so the controller's own verdict (with its reason) usually comes first. */
const DEADLINE_GRACE_SECONDS = 15;

/** Test seams for {@link applyK8s}. */
export interface ApplyK8sSeams {
  /** Poll delays of the rollout wait. @default 150 / 1000 ms */
  readonly minPollMs?: number;
  readonly maxPollMs?: number;
  /** How long an unresolvable cause (unschedulable everywhere, image pull error) must persist before the wait gives up. @default 5000 */
  readonly failFastAfterMs?: number;
  /** Least time between two looks at pods and events while a rollout is stuck. @default 1000 */
  readonly stallCheckEveryMs?: number;
}

/** Secrets and ConfigMaps are content-named: an old one stays until its rollout is through, so a rollback can still mount it. */
const isDeferredDelete = (a: PlannedAction): boolean => a.kind === "delete" && (a.resource.kind === "ConfigMap" || a.resource.kind === "Secret");

/** Runs one planned action against the cluster. */
async function runAction(client: K8sClient, a: PlannedAction, namespace: string, force: boolean, signal: AbortSignal | undefined): Promise<void> {
  const liveMeta = (a.live?.body.metadata ?? {}) as { uid?: string };
  switch (a.kind) {
    case "create":
    case "update": {
      const body = a.desired!.body as unknown as KubeObject;
      const applied = await client.apply(body, { force }, signal);
      if (a.resource.kind === "Deployment") await seedReplicas(client, body, applied, namespace, signal);
      return;
    }
    case "replace": {
      await client.delete(a.resource.kind, a.resource.name, namespace, { ...(liveMeta.uid ? { uid: liveMeta.uid } : {}), propagation: "Background" }, signal);
      // The name is free only once the old object is gone (finalizers may hold it).
      for (let i = 0; i < 100; i++) {
        const cur = await client.get(a.resource.kind, a.resource.name, namespace, signal);
        if (!cur || cur.metadata.uid !== liveMeta.uid) break;
        await sleep(200, signal);
      }
      const body = a.desired!.body as unknown as KubeObject;
      const applied = await client.apply(body, { force }, signal);
      if (a.resource.kind === "Deployment") await seedReplicas(client, body, applied, namespace, signal);
      return;
    }
    case "delete":
      // The uid precondition guarantees sdx deletes the very object it planned to, never a newcomer with the name.
      await client.delete(a.resource.kind, a.resource.name, namespace, { ...(liveMeta.uid ? { uid: liveMeta.uid } : {}), propagation: "Background" }, signal);
      return;
    case "no-op":
      return;
    default: {
      const never: never = a.kind;
      throw new Error(`unhandled action ${String(never)}`);
    }
  }
}

/**
 * Seeds an autoscaled Deployment's replicas through the scale subresource
 * when, after the apply, it runs fewer than the HPA's minimum (see
 * {@link initialScale}): a new Deployment, a switch from fixed replicas, or
 * a seed an earlier deploy did not get to.
 */
async function seedReplicas(client: K8sClient, body: KubeObject, applied: KubeObject | undefined, namespace: string, signal: AbortSignal | undefined): Promise<void> {
  if (body.metadata.annotations?.[ANNOTATION_INITIAL_REPLICAS] === undefined) return;
  // The server's answer has the replicas in force; the annotation is the one just applied.
  const seed = initialScale({ ...(applied ?? body), metadata: { ...(applied ?? body).metadata, annotations: body.metadata.annotations } });
  if (seed !== undefined) await client.scale("Deployment", body.metadata.name, namespace, seed, SEED_MANAGER, signal);
}

/** A Deployment to wait for: one this apply changed, or one a re-run found unfinished. */
interface WaitItem extends ApplyWatch {
  readonly name: string;
  readonly desired: Resource;
  readonly previous: PreviousDeployment;
}

/**
 * Applies a plan with the engine's skeleton ({@link applyPlan}): server-side
 * apply of independent objects concurrently (rank by rank), prunes what left
 * the app, waits for every changed Deployment and every rollout the plan
 * found unfinished, and rolls back those that fail (sdx does it: Kubernetes
 * does not roll back by itself). Old content-named ConfigMaps and Secrets are
 * deleted last, only for services whose rollout went through, and only when
 * nothing still uses them. It never throws.
 */
export async function applyK8s(client: K8sClient, ctx: BackendContext<K8sTarget>, plan: BackendPlan, options: BackendApplyOptions, seams: ApplyK8sSeams = {}): Promise<BackendApplyResult> {
  return applyPlan(ctx, plan, options, k8sApplyHooks(client, ctx, options, seams));
}

/** The Kubernetes hooks for {@link applyPlan}. */
export function k8sApplyHooks(client: K8sClient, ctx: BackendContext<K8sTarget>, options: BackendApplyOptions, seams: ApplyK8sSeams = {}): ApplyHooks<WaitItem> {
  const ns = ctx.target.namespace;
  const force = options.forceConflicts === true;
  // The Deployment as the failed wait last saw it: the rollback starts from there.
  const failedAt = new Map<WaitItem, KubeObject>();
  const waitOptions = (item: WaitItem, signal: AbortSignal | undefined): WaitRolloutOptions & { seconds: number } => {
    const body = item.desired.body as { spec?: { progressDeadlineSeconds?: number } };
    const seconds = options.timeoutSeconds ?? body.spec?.progressDeadlineSeconds ?? rolloutSettings(ctx, item.service, options).timeoutSeconds;
    return {
      target: ctx.target.name, service: item.service, seconds, timeoutMs: (seconds + DEADLINE_GRACE_SECONDS) * 1000,
      onEvent: options.onEvent, signal, minPollMs: seams.minPollMs, maxPollMs: seams.maxPollMs,
      failFastAfterMs: seams.failFastAfterMs, stallCheckEveryMs: seams.stallCheckEveryMs,
    };
  };

  const waitOne = async (item: WaitItem, signal: AbortSignal): Promise<RolloutOutcome> => {
    const { seconds, ...opts } = waitOptions(item, signal);
    const outcome: WaitOutcome = await waitForRollout(client, ns, item.name, { ...opts, stallCheck: stallCheckFor(client, signal) });
    if (outcome.kind === "gone") return { kind: "failed", desired: 0, ready: 0, reason: "the Deployment disappeared during the rollout" };
    if (outcome.kind === "succeeded") return { kind: "succeeded", desired: outcome.state.desired, ready: outcome.state.ready };
    throwIfAborted(signal);
    const why = outcome.reason ?? await diagnoseRollout(client, outcome.deployment, signal).catch(() => outcome.state.message);
    failedAt.set(item, outcome.deployment);
    const counts = { desired: outcome.state.desired, ready: outcome.state.ready };
    return outcome.kind === "timeout" ? { kind: "timed-out", ...counts, reason: `not finished after ${seconds} s: ${why}` } : { kind: "failed", ...counts, reason: why };
  };

  return {
    concurrency: APPLY_CONCURRENCY,
    rank: (a) => applyRank(a.resource.kind, a.kind),
    isDeferred: isDeferredDelete,
    run: async (a, signal) => {
      await runAction(client, a, ns, force, signal);
      // Every changed Deployment is waited for; a deleted one is not.
      if (a.resource.kind !== "Deployment" || a.kind === "delete" || !a.desired) return undefined;
      return {
        service: a.resource.service ?? a.resource.name, name: a.resource.name, desired: a.desired,
        created: a.kind === "create" || a.kind === "replace", previous: previousOf(a.live?.body),
      };
    },
    // Its starting point is unknown: the rollback goes to the newest older ReplicaSet.
    resume: (u, a) => (u.resource.kind === "Deployment" && a?.desired ? { service: u.service, name: u.resource.name, desired: a.desired, previous: {} } : undefined),
    waitRollouts: async (items, { settle, signal }) => {
      // Each wait settles on its own: one Deployment's API error must not cut the others' waits short.
      const settled = await Promise.allSettled(items.map(async (i) => settle(i, await waitOne(i, signal))));
      const errors = settled.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
      if (errors.length > 0) throw errors.find((e) => !(isSdxError(e) && e.code === "SDX_ABORTED")) ?? errors[0];
    },
    rollback: async (item, _outcome, signal) => {
      const dep = failedAt.get(item);
      if (!dep || !(await rollbackDeployment(client, item.desired, dep, item.previous, signal))) return false;
      // The rollback's own wait does not fail fast: going back to what ran must be given its time.
      const { seconds: _s, ...plain } = waitOptions(item, signal);
      return (await waitForRollout(client, ns, item.name, plain)).kind === "succeeded";
    },
    // The plan checked references before the rollouts; look again now (a pod or ReplicaSet may have appeared since).
    stillReferenced: async (deferred, completed, signal) => {
      const refs = await liveConfigReferences(client, ns, ctx.app.name, signal, undefined, deletedDeploymentUids(completed));
      return deferred.filter((a) => refs.has(resourceKey(a.resource)));
    },
    rolloutHint: (r) => (r.status === "rolled-back" ? "The previous revision runs again. Fix the cause and deploy again; `sdx status` shows the Deployment's recent warnings." : "Inspect the Deployment's events and pods (`sdx status`) and fix the cause."),
  };
}
