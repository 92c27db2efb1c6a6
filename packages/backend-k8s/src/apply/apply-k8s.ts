import {
  SdxError,
  emit,
  executeActions,
  isSdxError,
  resourceKey,
  sleep,
  throwIfAborted,
  toSdxError,
  type BackendApplyOptions,
  type BackendApplyResult,
  type BackendContext,
  type BackendPlan,
  type PlannedAction,
  type Resource,
  type SdxErrorData,
  type ServiceRollout,
} from "@sdx/sdk";
import type { K8sClient, KubeObject } from "../client/k8s-client.js";
import { applyRank } from "../k8s-kinds.js";
import { deletedDeploymentUids, liveConfigReferences } from "../plan/config-references.js";
import { ANNOTATION_INITIAL_REPLICAS, k8sTarget } from "../render/render-k8s.js";
import { initialScale, SEED_MANAGER } from "./initial-scale.js";
import {
  diagnoseRollout, previousOf, rollbackDeployment, stallCheckFor, waitForRollout, type PreviousDeployment, type WaitOutcome,
} from "./wait-rollout.js";

/** Objects applied at once within a rank. */
const APPLY_CONCURRENCY = 8;
/** Extra time sdx waits past progressDeadlineSeconds, so the controller's own verdict (with its reason) usually comes first. */
const DEADLINE_GRACE_SECONDS = 15;

/** Test seams for {@link applyK8s}. */
export interface ApplyK8sDeps {
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
interface WaitItem {
  readonly service: string;
  readonly name: string;
  readonly desired: Resource;
  /** Created by this apply: nothing to roll back to. */
  readonly created: boolean;
  readonly previous: PreviousDeployment;
}

interface DeploymentRollout {
  readonly service: string;
  readonly name: string;
  readonly status: ServiceRollout["status"];
  readonly desired: number;
  readonly ready: number;
  readonly reason?: string;
}

/**
 * Applies a plan: server-side apply of independent objects concurrently (rank
 * by rank), prunes what left the app, waits for every changed Deployment and
 * every rollout the plan found unfinished, and rolls back those that fail.
 * Old content-named ConfigMaps and Secrets are deleted last, only for
 * services whose rollout went through, and only when nothing still uses them.
 * It never throws: every failure comes back with completed/failed/remaining.
 */
export async function applyK8s(client: K8sClient, ctx: BackendContext, plan: BackendPlan, options: BackendApplyOptions, deps: ApplyK8sDeps = {}): Promise<BackendApplyResult> {
  try {
    return await applyPlan(client, ctx, plan, options, deps);
  } catch (e) {
    // Not expected (every step below reports its own failures), but a deploy
    // that began must still say what may have changed: all of it, unknown.
    const err = toSdxError(e, "SDX_INTERNAL", "internal");
    return {
      status: err.code === "SDX_ABORTED" ? "aborted" : "failed", completed: [], failed: [],
      remaining: plan.actions.filter((a) => a.kind !== "no-op"), rollouts: [], error: err.toJSON(),
    };
  }
}

async function applyPlan(client: K8sClient, ctx: BackendContext, plan: BackendPlan, options: BackendApplyOptions, deps: ApplyK8sDeps): Promise<BackendApplyResult> {
  const target = k8sTarget(ctx);
  const ns = target.namespace;
  const { onEvent, signal } = options;
  const force = options.forceConflicts === true;
  const deferred = plan.actions.filter(isDeferredDelete);
  const first = await executeActions(plan.actions.filter((a) => !isDeferredDelete(a)), {
    target: target.name,
    run: (a, s) => runAction(client, a, ns, force, s),
    rank: (a) => applyRank(a.resource.kind, a.kind),
    concurrency: APPLY_CONCURRENCY,
    ...(onEvent ? { onEvent } : {}),
    ...(signal ? { signal } : {}),
  });
  const pending = deferred.filter((a) => a.kind !== "no-op");
  // An action cut off by the abort did not fail: it may or may not have landed,
  // and since apply is idempotent a re-run settles it either way.
  const cut = first.failed.filter((f) => f.error.code === "SDX_ABORTED");
  const failed = first.failed.filter((f) => !cut.includes(f));
  if (failed.length > 0 || first.aborted) {
    return {
      status: failed.length > 0 ? "failed" : "aborted",
      completed: first.completed, failed, remaining: [...cut.map((f) => f.action), ...first.remaining, ...pending], rollouts: [],
      error: failed[0]?.error ?? aborted(),
    };
  }
  const items = waitItems(plan, first.completed);
  if (options.wait === false) {
    const rollouts = items.map((i): DeploymentRollout => ({ service: i.service, name: i.name, status: "not-waited", desired: 0, ready: 0 }));
    // Without a wait there is no moment when the old config is safe to drop: the next deploy prunes it.
    return { status: "succeeded", completed: first.completed, failed: [], remaining: pending, rollouts: mergeRollouts(rollouts) };
  }

  // Each wait settles on its own: one Deployment's API error must not leave
  // the others' waits (and rollbacks) running after apply has returned.
  const settled = await Promise.allSettled(items.map((i) => waitOne(client, ctx, i, ns, options, deps)));
  const rollouts: DeploymentRollout[] = [];
  let waitError: SdxErrorData | undefined;
  settled.forEach((r, n) => {
    if (r.status === "fulfilled") {
      rollouts.push(r.value);
      return;
    }
    const err = toSdxError(r.reason, "SDX_BACKEND_ERROR", "backend").toJSON();
    if (!waitError || waitError.code === "SDX_ABORTED") waitError = err;
    const i = items[n]!;
    rollouts.push({ service: i.service, name: i.name, status: "failed", desired: 0, ready: 0, reason: `waiting for the rollout failed: ${err.message}` });
  });
  if (waitError?.code === "SDX_ABORTED" || signal?.aborted) {
    return { status: "aborted", completed: first.completed, failed: [], remaining: pending, rollouts: mergeRollouts(rollouts), error: waitError ?? aborted() };
  }
  const bad = new Set(rollouts.filter((r) => r.status !== "succeeded").map((r) => r.service));
  let prune = pending.filter((a) => !bad.has(a.resource.service ?? ""));
  let gcError: SdxErrorData | undefined;
  if (prune.length > 0) {
    // The plan checked references before the rollouts; look again now that
    // they are done (a pod or ReplicaSet may have appeared since).
    try {
      const refs = await liveConfigReferences(client, ns, ctx.app.name, signal, undefined, deletedDeploymentUids(first.completed));
      prune = prune.filter((a) => !refs.has(resourceKey(a.resource)));
    } catch (e) {
      gcError = toSdxError(e, "SDX_BACKEND_ERROR", "backend").toJSON();
      prune = [];
    }
  }
  const second = await executeActions(prune, {
    target: target.name, run: (a, s) => runAction(client, a, ns, force, s), concurrency: APPLY_CONCURRENCY, rank: () => 0,
    ...(onEvent ? { onEvent } : {}), ...(signal ? { signal } : {}),
  });
  const completed = [...first.completed, ...second.completed];
  const secondCut = second.failed.filter((f) => f.error.code === "SDX_ABORTED");
  const secondFailed = second.failed.filter((f) => !secondCut.includes(f));
  const remaining = [...secondCut.map((f) => f.action), ...second.remaining, ...pending.filter((a) => !prune.includes(a))];
  const merged = mergeRollouts(rollouts);
  const failedRollout = merged.find((r) => r.status === "failed");
  const rolledBack = merged.find((r) => r.status === "rolled-back");
  const worst = failedRollout ?? rolledBack;
  let error: SdxErrorData | undefined = waitError ?? secondFailed[0]?.error ?? gcError;
  if (worst && !waitError) {
    error = new SdxError("SDX_ROLLOUT_FAILED", `${worst.service}: ${worst.reason ?? "the rollout failed"}${worst.status === "rolled-back" ? " (rolled back to the previous revision)" : ""}`, {
      fault: "backend", details: { service: worst.service, reason: worst.reason, status: worst.status },
      hint: worst.status === "rolled-back" ? "Fix the cause and deploy again; `sdx status` shows recent warnings." : "Inspect the Deployment's events (`sdx status`) and fix the cause.",
    }).toJSON();
  }
  const status: BackendApplyResult["status"] = failedRollout || secondFailed.length > 0 || gcError ? "failed"
    : rolledBack ? "rolled-back" : second.aborted ? "aborted" : "succeeded";
  return {
    status, completed, failed: secondFailed, remaining, rollouts: merged,
    ...(error ? { error } : status === "aborted" ? { error: aborted() } : {}),
  };
}

/**
 * The Deployments to wait for: those this apply created, updated or
 * replaced, plus those the plan found unfinished (an interrupted earlier
 * deploy), which a re-run must see through before calling the deploy done.
 */
function waitItems(plan: BackendPlan, completed: readonly PlannedAction[]): WaitItem[] {
  const items = new Map<string, WaitItem>();
  for (const a of completed) {
    if (a.resource.kind !== "Deployment" || a.kind === "delete" || !a.desired) continue;
    items.set(a.resource.name, {
      service: a.resource.service ?? a.resource.name, name: a.resource.name, desired: a.desired,
      created: a.kind === "create" || a.kind === "replace", previous: previousOf(a.live?.body),
    });
  }
  for (const u of plan.unconverged ?? []) {
    if (u.resource.kind !== "Deployment" || items.has(u.resource.name)) continue;
    const a = plan.actions.find((x) => x.resource.kind === "Deployment" && x.resource.name === u.resource.name);
    // A Deployment the plan deletes, or one whose change failed, is not waited for.
    if (!a?.desired || a.kind !== "no-op") continue;
    items.set(u.resource.name, { service: u.service, name: u.resource.name, desired: a.desired, created: false, previous: {} });
  }
  return [...items.values()];
}

async function waitOne(client: K8sClient, ctx: BackendContext, item: WaitItem, ns: string, options: BackendApplyOptions, deps: ApplyK8sDeps): Promise<DeploymentRollout> {
  const target = ctx.target.name;
  const { service, name } = item;
  const body = item.desired.body as { spec?: { progressDeadlineSeconds?: number } };
  const seconds = options.timeoutSeconds ?? body.spec?.progressDeadlineSeconds ?? 600;
  const svc = ctx.app.services.find((s) => s.name === service);
  const waitOpts = {
    target, service, timeoutMs: (seconds + DEADLINE_GRACE_SECONDS) * 1000,
    stallCheck: stallCheckFor(client, options.signal),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}), ...(options.signal ? { signal: options.signal } : {}),
    ...(deps.minPollMs ? { minPollMs: deps.minPollMs } : {}), ...(deps.maxPollMs ? { maxPollMs: deps.maxPollMs } : {}),
    ...(deps.failFastAfterMs !== undefined ? { failFastAfterMs: deps.failFastAfterMs } : {}),
    ...(deps.stallCheckEveryMs !== undefined ? { stallCheckEveryMs: deps.stallCheckEveryMs } : {}),
  };
  const outcome: WaitOutcome = await waitForRollout(client, ns, name, waitOpts);
  if (outcome.kind === "gone") return { service, name, status: "failed", desired: 0, ready: 0, reason: "the Deployment disappeared during the rollout" };
  if (outcome.kind === "succeeded") {
    emit(options.onEvent, { kind: "rollout-succeeded", target, service });
    return { service, name, status: "succeeded", desired: outcome.state.desired, ready: outcome.state.ready };
  }
  throwIfAborted(options.signal);
  const why = outcome.reason ?? await diagnoseRollout(client, outcome.deployment, options.signal).catch(() => outcome.state.message);
  const reason = outcome.kind === "timeout" ? `not finished after ${seconds} s: ${why}` : why;
  emit(options.onEvent, { kind: "rollout-failed", target, service, reason });
  const fail: DeploymentRollout = { service, name, status: "failed", desired: outcome.state.desired, ready: outcome.state.ready, reason };
  if (item.created || svc?.rollout.autoRollback === false) return fail;
  emit(options.onEvent, { kind: "rollback-started", target, service, reason });
  let ok = false;
  try {
    ok = await rollbackDeployment(client, item.desired, outcome.deployment, item.previous, options.signal);
    if (ok) {
      // The rollback's own wait does not fail fast: going back to what ran must be given its time.
      const { stallCheck: _s, ...plain } = waitOpts;
      const back = await waitForRollout(client, ns, name, { ...plain, onEvent: options.onEvent ?? (() => undefined) });
      ok = back.kind === "succeeded";
    }
  } catch (e) {
    if (isSdxError(e) && e.code === "SDX_ABORTED") throw e;
    ok = false;
  }
  emit(options.onEvent, { kind: "rollback-finished", target, service, succeeded: ok });
  return ok ? { ...fail, status: "rolled-back" } : { ...fail, reason: `${reason}; the rollback did not complete either` };
}

/** One entry per service: a service with an on-demand Deployment has two rollouts; the worse one wins. */
function mergeRollouts(rs: readonly DeploymentRollout[]): ServiceRollout[] {
  const rank: Record<ServiceRollout["status"], number> = { "not-waited": 0, succeeded: 1, "rolled-back": 2, failed: 3 };
  const by = new Map<string, ServiceRollout>();
  for (const r of rs) {
    const prev = by.get(r.service);
    if (!prev) {
      by.set(r.service, { service: r.service, status: r.status, desired: r.desired, ready: r.ready, ...(r.reason ? { reason: r.reason } : {}) });
      continue;
    }
    const worse = rank[r.status] > rank[prev.status] ? r : prev;
    const reason = worse.reason ?? prev.reason ?? r.reason;
    by.set(r.service, { service: r.service, status: worse.status, desired: prev.desired + r.desired, ready: prev.ready + r.ready, ...(reason ? { reason } : {}) });
  }
  return [...by.values()];
}

function aborted(): SdxErrorData {
  return new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user" }).toJSON();
}
