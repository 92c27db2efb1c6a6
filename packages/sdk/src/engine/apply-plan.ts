import type { BackendApplyOptions, BackendApplyResult, BackendContext, ServiceRollout } from "../backend/backend.js";
import { SdxError, isSdxError, toSdxError, type SdxErrorData } from "../errors/sdx-error.js";
import { emit } from "../events/sdx-event.js";
import type { Target } from "../model/app.js";
import type { BackendPlan, PlannedAction, UnconvergedRollout } from "../plan/plan.js";
import { resourceKey } from "../plan/resource.js";
import { executeActions, type ExecuteActionsResult } from "./execute-actions.js";

/**
 * A rollout {@link applyPlan} waits for, as a backend describes it. Backends
 * extend it with what their wait needs (an object name, a deployment id, a
 * baseline); the engine reads only these fields.
 */
export interface ApplyWatch {
  /** The app's service the rollout belongs to (a service may have several, e.g. a spot and an on-demand Deployment). */
  readonly service: string;
  /** Created by this apply: there is no earlier revision to roll back to. @default false */
  readonly created?: boolean;
}

/**
 * How one watched rollout ended, as the backend's wait observed it. Decided by
 * typed state only (controller conditions, update states, deployment states),
 * never by message text. `reason` is for people.
 * - `succeeded`: the new revision runs at the desired count.
 * - `failed`: it cannot finish (crash loop, unschedulable, image pull error, the object disappeared).
 * - `timed-out`: the rollout timeout passed first.
 * - `rolled-back`: it failed and the orchestrator (or sdx) brought the previous revision back.
 * - `aborted`: the signal fired while waiting.
 */
export type RolloutOutcome =
  | { readonly kind: "succeeded"; readonly desired: number; readonly ready: number }
  | { readonly kind: "failed"; readonly desired: number; readonly ready: number; readonly reason: string }
  | { readonly kind: "timed-out"; readonly desired: number; readonly ready: number; readonly reason: string }
  | { readonly kind: "rolled-back"; readonly desired: number; readonly ready: number; readonly reason: string }
  | { readonly kind: "aborted"; readonly desired: number; readonly ready: number; readonly reason?: string };

/** What a backend's {@link ApplyHooks.waitRollouts} gets besides the watches. */
export interface WaitRolloutsContext<W extends ApplyWatch> {
  /**
   * Reports one watch's outcome as soon as it is known (the engine emits the
   * rollout event and starts a rollback at once). Pass the very object the
   * wait was given; a watch settled twice keeps its first outcome.
   */
  readonly settle: (watch: W, outcome: RolloutOutcome) => void;
  /** Fires when the caller aborts, or when the engine stops the wait. */
  readonly signal: AbortSignal;
}

/**
 * What a backend supplies to {@link applyPlan}: how to perform one action and
 * how to watch rollouts. Everything else (order, concurrency, deferred
 * deletes, rollback policy, garbage collection, status and error) is the
 * engine's. A hook that throws never makes `applyPlan` throw.
 */
export interface ApplyHooks<W extends ApplyWatch = ApplyWatch> {
  /** Actions in flight at once within a rank. @default 4 */
  readonly concurrency?: number;
  /** Lower ranks finish before higher ranks start; equal ranks run concurrently. @default 0 for every action */
  rank?(action: PlannedAction): number;
  /**
   * Deletes held back until the rollouts succeeded: objects the old revision
   * (and a rollback to it) still needs, e.g. content-named ConfigMaps and
   * Secrets, Swarm secrets, SSM parameters. Only deletes can be deferred.
   * @default no action is deferred
   */
  isDeferred?(action: PlannedAction): boolean;
  /** Reads what `run` needs before the first change (Swarm's secret IDs). A throw ends the apply with nothing changed. @default nothing */
  prepare?(signal: AbortSignal | undefined): Promise<void>;
  /** Performs one action. Returns the rollout it started, if any, to be waited for. */
  run(action: PlannedAction, signal: AbortSignal | undefined): Promise<W | undefined | void>;
  /**
   * A rollout the plan found unfinished (an interrupted earlier deploy) that
   * this apply did not restart: what to wait for, or undefined to skip it.
   * `action` is the plan's action on the same object, if any (a no-op, or a
   * change that started no rollout). Never called for an object the plan deletes.
   * @default unconverged rollouts are not waited for
   */
  resume?(rollout: UnconvergedRollout, action: PlannedAction | undefined): W | undefined;
  /**
   * Waits for the rollouts and settles each watch with its outcome. Rejects
   * only when waiting itself cannot go on (the backend unreachable, an abort):
   * the watches not settled by then are reported `not-waited`, and the error
   * becomes the apply's.
   */
  waitRollouts(watches: readonly W[], context: WaitRolloutsContext<W>): Promise<void>;
  /**
   * Rolls a `failed` or `timed-out` rollout back to the previous revision
   * and waits for that; resolves true when the previous revision runs again.
   * Called by the engine only for a watch that was not `created` and whose
   * service has `rollout.autoRollback` on. Absent when the orchestrator rolls
   * back by itself (the wait then settles `rolled-back`). @default no sdx-driven rollback
   */
  rollback?(watch: W, outcome: Extract<RolloutOutcome, { kind: "failed" | "timed-out" }>, signal: AbortSignal | undefined): Promise<boolean>;
  /**
   * Of the deferred deletes about to run (their services' rollouts
   * succeeded), those a live object still references, looked up now: the
   * plan's view predates the rollouts. They stay for a later deploy.
   * @default none is referenced
   */
  stillReferenced?(deferred: readonly PlannedAction[], completed: readonly PlannedAction[], signal: AbortSignal | undefined): Promise<readonly PlannedAction[]>;
  /**
   * Housekeeping once the rollouts were waited for (ECS deregisters old task
   * definition revisions of services that rolled out). A failure is reported
   * as a warning event; it does not fail the apply. @default nothing
   */
  afterRollouts?(rollouts: readonly ServiceRollout[], signal: AbortSignal | undefined): Promise<void>;
  /** A backend-specific `hint` for a rollout error, e.g. where its logs are. @default the engine's generic hint */
  rolloutHint?(rollout: ServiceRollout): string | undefined;
}

/** How bad a rollout status is, for merging several rollouts of one service and choosing the error. */
const SEVERITY: Record<ServiceRollout["status"], number> = { "not-waited": 0, succeeded: 1, aborted: 2, "rolled-back": 3, "timed-out": 4, failed: 5 };

/**
 * The one rollout-error policy: the error a rollout status stands for, or
 * undefined when it is none. `failed` → `SDX_ROLLOUT_FAILED`, `timed-out` →
 * `SDX_ROLLOUT_TIMEOUT`, `rolled-back` → `SDX_ROLLOUT_FAILED` (details.status
 * `rolled-back`), all fault `backend` (the app was valid; the orchestrator
 * could not run it); `aborted` → `SDX_ABORTED`, fault `user`.
 */
export function rolloutError(rollout: ServiceRollout, hint?: string): SdxErrorData | undefined {
  const { service, status } = rollout;
  const reason = rollout.reason ?? "no reason given";
  const details = { service, status, ...(rollout.reason === undefined ? {} : { reason: rollout.reason }) };
  switch (status) {
    case "succeeded":
    case "not-waited":
      return undefined;
    case "failed":
      return new SdxError("SDX_ROLLOUT_FAILED", `${service}: the rollout failed: ${reason}`, {
        fault: "backend", details, hint: hint ?? "See the service's recent events and task errors (`sdx status`), fix the cause and deploy again.",
      }).toJSON();
    case "timed-out":
      return new SdxError("SDX_ROLLOUT_TIMEOUT", `${service}: the rollout did not finish in time: ${reason}`, {
        fault: "backend", details, hint: hint ?? "If it only needs longer, raise rollout.timeout (or pass --timeout); otherwise `sdx status` shows why it is stuck.",
      }).toJSON();
    case "rolled-back":
      return new SdxError("SDX_ROLLOUT_FAILED", `${service}: the rollout failed and was rolled back to the previous revision: ${reason}`, {
        fault: "backend", details, hint: hint ?? "The previous revision runs again. Fix the cause and deploy again; `sdx status` shows recent warnings.",
      }).toJSON();
    case "aborted":
      return aborted();
    default: {
      const never: never = status;
      throw new Error(`unhandled rollout status ${String(never)}`);
    }
  }
}

/** The rollout timeout and rollback setting of one service, as every backend's wait applies them. */
export function rolloutSettings(ctx: Pick<BackendContext, "app">, service: string, options: Pick<BackendApplyOptions, "timeoutSeconds">): { readonly timeoutSeconds: number; readonly autoRollback: boolean } {
  const svc = ctx.app.services.find((s) => s.name === service);
  return { timeoutSeconds: options.timeoutSeconds ?? svc?.rollout.timeoutSeconds ?? 600, autoRollback: svc?.rollout.autoRollback ?? true };
}

/**
 * Applies a plan with a backend's hooks, the same way for every backend:
 * 1. `prepare`, then every change except the deferred deletes, rank by rank
 *    with bounded concurrency (stopping at the first failure or abort);
 * 2. waits for the rollouts those changes started and for those the plan
 *    found unfinished (`plan.unconverged`), rolling failures back;
 * 3. runs the deferred deletes of services whose rollouts succeeded, minus
 *    what a live object still references (`stillReferenced`), then `afterRollouts`.
 * With `wait: false` it stops after step 1 and keeps the deferred deletes.
 * It never throws: every failure, abort or hook error comes back as a result
 * whose completed, failed and remaining partition the plan's changes, with
 * one rollout per service and the first error. A cut-off action (aborted in
 * flight) counts as remaining: it may or may not have landed, and the next
 * plan settles it.
 */
export async function applyPlan<T extends Target, W extends ApplyWatch>(
  ctx: BackendContext<T>, plan: BackendPlan, options: BackendApplyOptions, hooks: ApplyHooks<W>,
): Promise<BackendApplyResult> {
  const done: PlannedAction[] = [];
  try {
    return await run(ctx, plan, options, hooks, done);
  } catch (e) {
    // Not expected (every step reports its own failures); a deploy that began
    // must still say what may have changed: everything not known done.
    const error = toSdxError(e, "SDX_INTERNAL", "internal").toJSON();
    return {
      status: error.code === "SDX_ABORTED" || options.signal?.aborted ? "aborted" : "failed",
      completed: [...done], failed: [], remaining: plan.actions.filter((a) => a.kind !== "no-op" && !done.includes(a)), rollouts: [],
      error: options.signal?.aborted ? aborted() : error,
    };
  }
}

async function run<T extends Target, W extends ApplyWatch>(
  ctx: BackendContext<T>, plan: BackendPlan, options: BackendApplyOptions, hooks: ApplyHooks<W>, done: PlannedAction[],
): Promise<BackendApplyResult> {
  const target = ctx.target.name;
  const { onEvent, signal } = options;
  const changes = plan.actions.filter((a) => a.kind !== "no-op");
  const nothingDone = (e: unknown): BackendApplyResult => {
    const error = toSdxError(e, "SDX_BACKEND_ERROR", "backend").toJSON();
    const stop = error.code === "SDX_ABORTED" || signal?.aborted === true;
    return { status: stop ? "aborted" : "failed", completed: [], failed: [], remaining: changes, rollouts: [], error: stop ? aborted() : error };
  };

  // The hooks' sync answers are taken once, up front: one that throws fails the apply before anything changed.
  let ranks: Map<PlannedAction, number>;
  let deferred: PlannedAction[];
  try {
    ranks = new Map(changes.map((a) => [a, hooks.rank?.(a) ?? 0]));
    deferred = changes.filter((a) => a.kind === "delete" && hooks.isDeferred?.(a) === true);
  } catch (e) {
    return nothingDone(hookError("rank/isDeferred", e));
  }
  if (signal?.aborted) return nothingDone(aborted());
  try {
    await hooks.prepare?.(signal);
  } catch (e) {
    return nothingDone(e);
  }

  const watches: { watch: W; key: string | undefined }[] = [];
  const exec = (actions: readonly PlannedAction[]): Promise<ExecuteActionsResult> => executeActions(actions, {
    target, onEvent, signal, concurrency: hooks.concurrency ?? 4, rank: (a) => ranks.get(a) ?? 0,
    run: async (a, s) => {
      const w = await hooks.run(a, s);
      done.push(a);
      if (w) watches.push({ watch: w, key: resourceKey(a.resource) });
    },
  });
  const first = splitCut(await exec(changes.filter((a) => !deferred.includes(a))));
  const completed = [...first.completed];

  // Rollouts an earlier deploy left unfinished: a deploy is complete only once they converged too.
  try {
    const seen = new Set(watches.map((w) => w.key));
    for (const u of plan.unconverged ?? []) {
      const key = resourceKey(u.resource);
      if (seen.has(key)) continue;
      seen.add(key);
      const action = plan.actions.find((a) => resourceKey(a.resource) === key);
      if (action?.kind === "delete") continue;
      const w = hooks.resume?.(u, action);
      if (w) watches.push({ watch: w, key });
    }
  } catch (e) {
    const error = hookError("resume", e).toJSON();
    return result("failed", completed, first.failed, [...first.remaining, ...deferred], notWaited(watches), error);
  }

  if (first.failed.length > 0 || first.aborted) {
    const error = signal?.aborted || first.failed.length === 0 ? aborted() : first.failed[0]!.error;
    return result(signal?.aborted || first.failed.length === 0 ? "aborted" : "failed", completed, first.failed, [...first.remaining, ...deferred], notWaited(watches), error);
  }
  if (options.wait === false) {
    // Without a wait there is no moment when the old objects are safe to drop: a later, waited deploy collects them.
    return result("succeeded", completed, [], deferred, notWaited(watches));
  }

  const waited = await waitAll(ctx, options, hooks, watches.map((w) => w.watch));
  const rollouts = mergeByService(waited.rollouts);
  if (waited.error || signal?.aborted) {
    // The changes are made; the wait could not finish. A re-run finds the rollouts unconverged and waits again.
    const error = signal?.aborted ? aborted() : waited.error!;
    return result(signal?.aborted ? "aborted" : "failed", completed, [], deferred, rollouts, error);
  }

  // Garbage of a service whose rollout did not succeed stays: its old revision still runs, or is what a retry rolls back to.
  const bad = new Set(rollouts.filter((r) => r.status !== "succeeded").map((r) => r.service));
  const allowed = deferred.filter((a) => (a.resource.service === undefined ? bad.size === 0 : !bad.has(a.resource.service)));
  let prune = allowed;
  let gcError: SdxErrorData | undefined;
  if (prune.length > 0 && hooks.stillReferenced) {
    try {
      const referenced = await hooks.stillReferenced(prune, completed, signal);
      prune = prune.filter((a) => !referenced.includes(a));
    } catch (e) {
      gcError = toSdxError(e, "SDX_BACKEND_ERROR", "backend").toJSON();
      prune = [];
    }
  }
  const gc = prune.length > 0 ? splitCut(await exec(prune)) : { completed: [], failed: [], remaining: [], aborted: false };
  const kept = deferred.filter((a) => !prune.includes(a));
  if (hooks.afterRollouts && !signal?.aborted) {
    try {
      await hooks.afterRollouts(rollouts, signal);
    } catch (e) {
      // Housekeeping: the deploy still counts; the user learns what was left behind.
      emit(onEvent, { kind: "log", target, level: "warning", message: `housekeeping after the rollouts failed: ${toSdxError(e).message}` });
    }
  }

  const worst = [...rollouts].sort((a, b) => SEVERITY[b.status] - SEVERITY[a.status])[0];
  const rolloutErr = worst ? rolloutError(worst, hooks.rolloutHint?.(worst)) : undefined;
  const stopped = signal?.aborted || gc.aborted;
  const status: BackendApplyResult["status"] = stopped ? "aborted"
    : worst && (worst.status === "failed" || worst.status === "timed-out") ? "failed"
      : gc.failed.length > 0 || gcError ? "failed"
        : worst?.status === "rolled-back" ? "rolled-back"
          : worst?.status === "aborted" ? "aborted" : "succeeded";
  const error = stopped ? aborted() : rolloutErr ?? gc.failed[0]?.error ?? gcError;
  // A superseded object still referenced stays for a later deploy: it is not done, and not an error.
  return result(status, [...completed, ...gc.completed], gc.failed, [...gc.remaining, ...kept], rollouts, error);
}

/** What {@link waitAll} saw: one rollout per watch, and the error that stopped the wait, if one did. */
interface WaitAllResult {
  readonly rollouts: readonly ServiceRollout[];
  readonly error?: SdxErrorData;
}

/** Runs the backend's wait, applies the rollback policy as outcomes arrive, and turns the outcomes into rollouts. */
async function waitAll<T extends Target, W extends ApplyWatch>(
  ctx: BackendContext<T>, options: BackendApplyOptions, hooks: ApplyHooks<W>, watches: readonly W[],
): Promise<WaitAllResult> {
  if (watches.length === 0) return { rollouts: [] };
  const target = ctx.target.name;
  const { onEvent } = options;
  const outcomes = new Map<W, RolloutOutcome>();
  const rollbacks: Promise<void>[] = [];
  // Stops whatever the backend's wait left running once it returned: no wait outlives the result.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;

  const settle = (w: W, outcome: RolloutOutcome): void => {
    if (!watches.includes(w) || outcomes.has(w)) return;
    outcomes.set(w, outcome);
    switch (outcome.kind) {
      case "succeeded":
        emit(onEvent, { kind: "rollout-succeeded", target, service: w.service });
        return;
      case "aborted":
        return;
      case "rolled-back":
        emit(onEvent, { kind: "rollout-failed", target, service: w.service, reason: outcome.reason });
        return;
      case "failed":
      case "timed-out": {
        emit(onEvent, { kind: "rollout-failed", target, service: w.service, reason: outcome.reason });
        if (hooks.rollback && w.created !== true && rolloutSettings(ctx, w.service, options).autoRollback) rollbacks.push(rollBack(w, outcome));
        return;
      }
      default: {
        const never: never = outcome;
        throw new Error(`unhandled rollout outcome ${JSON.stringify(never)}`);
      }
    }
  };

  const rollBack = async (w: W, outcome: Extract<RolloutOutcome, { kind: "failed" | "timed-out" }>): Promise<void> => {
    emit(onEvent, { kind: "rollback-started", target, service: w.service, reason: outcome.reason });
    let ok = false;
    try {
      // The caller's signal, not the wait's: a rollback in progress must not be cut off because the other waits ended.
      ok = await hooks.rollback!(w, outcome, options.signal);
    } catch (e) {
      if (isSdxError(e) && e.code === "SDX_ABORTED") return; // the abort is the apply's result; the rollout stays failed
      ok = false;
    }
    emit(onEvent, { kind: "rollback-finished", target, service: w.service, succeeded: ok });
    outcomes.set(w, ok
      ? { kind: "rolled-back", desired: outcome.desired, ready: outcome.ready, reason: outcome.reason }
      : { ...outcome, reason: `${outcome.reason}; the rollback did not complete either` });
  };

  let error: SdxErrorData | undefined;
  try {
    await hooks.waitRollouts(watches, { settle, signal });
  } catch (e) {
    error = toSdxError(e, "SDX_BACKEND_ERROR", "backend").toJSON();
  }
  stop.abort();
  await Promise.all(rollbacks);
  const missing = watches.filter((w) => !outcomes.has(w));
  if (!error && missing.length > 0 && !options.signal?.aborted) {
    error = new SdxError("SDX_INTERNAL", `the backend's rollout wait ended without an outcome for ${missing.map((w) => w.service).join(", ")}`, {
      fault: "internal", hint: "This is a bug in the backend (its waitRollouts hook must settle every watch); re-run the deploy to wait again.",
    }).toJSON();
  }
  const stopReason = error?.code === "SDX_ABORTED" || options.signal?.aborted ? "the wait was interrupted" : `the wait stopped: ${error?.message ?? "no outcome"}`;
  const rollouts = watches.map((w): ServiceRollout => {
    const o = outcomes.get(w);
    if (!o) return { service: w.service, status: "not-waited", desired: 0, ready: 0, reason: stopReason };
    const reason = o.kind === "succeeded" ? undefined : o.reason;
    return { service: w.service, status: o.kind, desired: o.desired, ready: o.ready, ...(reason === undefined ? {} : { reason }) };
  });
  return { rollouts, ...(error ? { error } : {}) };
}

/** One entry per service: the worst status wins, counts add up (a service's spot and on-demand parts). */
function mergeByService(rs: readonly ServiceRollout[]): ServiceRollout[] {
  const by = new Map<string, ServiceRollout>();
  for (const r of rs) {
    const prev = by.get(r.service);
    if (!prev) {
      by.set(r.service, r);
      continue;
    }
    const worse = SEVERITY[r.status] > SEVERITY[prev.status] ? r : prev;
    const reason = worse.reason ?? prev.reason ?? r.reason;
    by.set(r.service, { service: r.service, status: worse.status, desired: prev.desired + r.desired, ready: prev.ready + r.ready, ...(reason === undefined ? {} : { reason }) });
  }
  return [...by.values()];
}

function notWaited<W extends ApplyWatch>(watches: readonly { watch: W }[]): ServiceRollout[] {
  return mergeByService(watches.map((w) => ({ service: w.watch.service, status: "not-waited", desired: 0, ready: 0 })));
}

/** Actions an abort cut off in flight did not fail: they move to remaining (apply is idempotent, a re-run settles them). */
function splitCut(r: ExecuteActionsResult): ExecuteActionsResult {
  const cut = r.failed.filter((f) => f.error.code === "SDX_ABORTED");
  if (cut.length === 0) return r;
  return { completed: r.completed, failed: r.failed.filter((f) => !cut.includes(f)), remaining: [...cut.map((f) => f.action), ...r.remaining], aborted: true };
}

function result(
  status: BackendApplyResult["status"], completed: readonly PlannedAction[], failed: BackendApplyResult["failed"], remaining: readonly PlannedAction[],
  rollouts: readonly ServiceRollout[], error?: SdxErrorData,
): BackendApplyResult {
  return { status, completed, failed, remaining, rollouts, ...(error ? { error } : {}) };
}

function hookError(hook: string, e: unknown): SdxError {
  const err = toSdxError(e, "SDX_INTERNAL", "internal");
  return isSdxError(e) ? err : new SdxError("SDX_INTERNAL", `the backend's ${hook} hook failed: ${err.message}`, { fault: "internal", cause: e });
}

function aborted(): SdxErrorData {
  return new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user" }).toJSON();
}
