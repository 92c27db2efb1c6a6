import {
  LABEL_REVISION,
  SdxError,
  emit,
  executeActions,
  isSdxError,
  sleep,
  throwIfAborted,
  toSdxError,
  type BackendApplyOptions,
  type BackendApplyResult,
  type BackendContext,
  type BackendPlan,
  type PlannedAction,
  type SdxErrorData,
  type ServiceRollout,
} from "@sdx/sdk";
import type { K8sClient, KubeObject } from "../client/k8s-client.js";
import { applyRank } from "../k8s-kinds.js";
import { ANNOTATION_INITIAL_REPLICAS, k8sTarget } from "../render/render-k8s.js";
import { diagnoseRollout, rollbackDeployment, waitForRollout, type WaitOutcome } from "./wait-rollout.js";

/** Objects applied at once within a rank. */
const APPLY_CONCURRENCY = 8;
/** Extra time sdx waits past progressDeadlineSeconds, so the controller's own verdict (with its reason) usually comes first. */
const DEADLINE_GRACE_SECONDS = 15;
/** Field manager that seeds replicas of an autoscaled Deployment, so sdx's own apply never owns spec.replicas. */
const SEED_MANAGER = "sdx-initial-scale";

/** Test seams for {@link applyK8s}. */
export interface ApplyK8sDeps {
  /** Poll delays of the rollout wait. @default 150 / 1000 ms */
  readonly minPollMs?: number;
  readonly maxPollMs?: number;
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
      await client.apply(body, { force }, signal);
      const seed = body.metadata.annotations?.[ANNOTATION_INITIAL_REPLICAS];
      if (a.kind === "create" && a.resource.kind === "Deployment" && seed !== undefined) {
        await client.scale("Deployment", a.resource.name, namespace, Number(seed), SEED_MANAGER, signal);
      }
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
      await client.apply(a.desired!.body as unknown as KubeObject, { force }, signal);
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
 * rolls back those that fail. Old content-named ConfigMaps and Secrets are
 * deleted last, and only for services whose rollout went through.
 */
export async function applyK8s(client: K8sClient, ctx: BackendContext, plan: BackendPlan, options: BackendApplyOptions, deps: ApplyK8sDeps = {}): Promise<BackendApplyResult> {
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
  const deployments = first.completed.filter((a) => a.resource.kind === "Deployment" && a.kind !== "delete");
  if (options.wait === false) {
    const rollouts = deployments.map((a): DeploymentRollout => ({ service: a.resource.service ?? a.resource.name, name: a.resource.name, status: "not-waited", desired: 0, ready: 0 }));
    // Without a wait there is no moment when the old config is safe to drop: the next deploy prunes it.
    return { status: "succeeded", completed: first.completed, failed: [], remaining: pending, rollouts: mergeRollouts(rollouts) };
  }

  let rollouts: DeploymentRollout[];
  try {
    rollouts = await Promise.all(deployments.map((a) => waitOne(client, ctx, a, ns, options, deps)));
  } catch (e) {
    const err = toSdxError(e, "SDX_BACKEND_ERROR", "backend");
    return {
      status: err.code === "SDX_ABORTED" ? "aborted" : "failed",
      completed: first.completed, failed: [], remaining: pending, rollouts: [], error: err.toJSON(),
    };
  }
  const bad = new Set(rollouts.filter((r) => r.status !== "succeeded").map((r) => r.service));
  const prune = pending.filter((a) => !bad.has(a.resource.service ?? ""));
  const second = await executeActions(prune, {
    target: target.name, run: (a, s) => runAction(client, a, ns, force, s), concurrency: APPLY_CONCURRENCY, rank: () => 0,
    ...(onEvent ? { onEvent } : {}), ...(signal ? { signal } : {}),
  });
  const completed = [...first.completed, ...second.completed];
  const remaining = [...second.remaining, ...pending.filter((a) => !prune.includes(a))];
  const merged = mergeRollouts(rollouts);
  const failedRollout = merged.find((r) => r.status === "failed");
  const rolledBack = merged.find((r) => r.status === "rolled-back");
  const worst = failedRollout ?? rolledBack;
  let error: SdxErrorData | undefined = second.failed[0]?.error;
  if (worst) {
    error = new SdxError("SDX_ROLLOUT_FAILED", `${worst.service}: ${worst.reason ?? "the rollout failed"}${worst.status === "rolled-back" ? " (rolled back to the previous revision)" : ""}`, {
      fault: "backend", details: { service: worst.service, reason: worst.reason, status: worst.status },
      hint: worst.status === "rolled-back" ? "Fix the cause and deploy again; `sdx status` shows recent warnings." : "Inspect the Deployment's events (`sdx status`) and fix the cause.",
    }).toJSON();
  }
  const status: BackendApplyResult["status"] = failedRollout || second.failed.length > 0 ? "failed" : rolledBack ? "rolled-back" : second.aborted ? "aborted" : "succeeded";
  return { status, completed, failed: second.failed, remaining, rollouts: merged, ...(error ? { error } : {}) };
}

async function waitOne(client: K8sClient, ctx: BackendContext, a: PlannedAction, ns: string, options: BackendApplyOptions, deps: ApplyK8sDeps): Promise<DeploymentRollout> {
  const target = ctx.target.name;
  const service = a.resource.service ?? a.resource.name;
  const name = a.resource.name;
  const body = a.desired!.body as { spec?: { progressDeadlineSeconds?: number } };
  const seconds = options.timeoutSeconds ?? body.spec?.progressDeadlineSeconds ?? 600;
  const svc = ctx.app.services.find((s) => s.name === service);
  const waitOpts = {
    target, service, timeoutMs: (seconds + DEADLINE_GRACE_SECONDS) * 1000,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}), ...(options.signal ? { signal: options.signal } : {}),
    ...(deps.minPollMs ? { minPollMs: deps.minPollMs } : {}), ...(deps.maxPollMs ? { maxPollMs: deps.maxPollMs } : {}),
  };
  const outcome: WaitOutcome = await waitForRollout(client, ns, name, waitOpts);
  if (outcome.kind === "gone") return { service, name, status: "failed", desired: 0, ready: 0, reason: "the Deployment disappeared during the rollout" };
  if (outcome.kind === "succeeded") {
    emit(options.onEvent, { kind: "rollout-succeeded", target, service });
    return { service, name, status: "succeeded", desired: outcome.state.desired, ready: outcome.state.ready };
  }
  throwIfAborted(options.signal);
  const why = await diagnoseRollout(client, outcome.deployment, options.signal).catch(() => outcome.state.message);
  const reason = outcome.kind === "timeout" ? `not finished after ${seconds} s: ${why}` : why;
  emit(options.onEvent, { kind: "rollout-failed", target, service, reason });
  const fail: DeploymentRollout = { service, name, status: "failed", desired: outcome.state.desired, ready: outcome.state.ready, reason };
  if (a.kind === "create" || svc?.rollout.autoRollback === false) return fail;
  emit(options.onEvent, { kind: "rollback-started", target, service, reason });
  const prevLabel = (a.live?.body.metadata as { labels?: Record<string, string> } | undefined)?.labels?.[LABEL_REVISION];
  let ok = false;
  try {
    ok = await rollbackDeployment(client, a.desired!, outcome.deployment, prevLabel, options.signal);
    if (ok) {
      const back = await waitForRollout(client, ns, name, { ...waitOpts, onEvent: options.onEvent ?? (() => undefined) });
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
