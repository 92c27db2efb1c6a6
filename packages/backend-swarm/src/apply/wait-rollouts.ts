import { emit, isSdxError, sleep as defaultSleep, toSdxError, type EventListener, type RolloutOutcome, type SdxError } from "@sdx/sdk";
import type { SwarmClient, SwarmService, SwarmUpdateStatus } from "../client/swarm-client.js";
import { assessRollout, taskErrors, type RolloutState } from "./rollout-state.js";

/** One service to wait for. */
export interface RolloutWatch {
  /** The app's service name. */
  readonly service: string;
  /** The Swarm service name. */
  readonly swarmName: string;
  readonly created: boolean;
  readonly baseline?: SwarmUpdateStatus;
  readonly timeoutSeconds: number;
  /** Ask the engine to roll back when the update times out. */
  readonly autoRollback: boolean;
  /** Seconds converged before a rollout without an update status counts as done (a crash loop looks converged for a moment). */
  readonly stableSeconds: number;
  /**
   * A rollout an earlier deploy started and did not see finish (found unconverged by the plan):
   * an update status that already ended is its baseline, one still moving is this rollout's.
   * @default false
   */
  readonly resumed?: boolean;
}

/** Options for {@link waitRollouts}. */
export interface WaitRolloutsOptions {
  readonly target: string;
  readonly onEvent?: EventListener;
  readonly signal?: AbortSignal;
  /** @default 500 */
  readonly pollMs?: number;
  /** Injected for tests. @default Date.now */
  readonly now?: () => number;
  /** Seconds to wait for an engine-side rollback sdx requested after a timeout. @default 120 */
  readonly rollbackWaitSeconds?: number;
  /** Injected for tests. @default a timer that honours the signal */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Consecutive failed observations of one service tolerated before the wait gives up on it. @default 3 */
  readonly observeAttempts?: number;
  /** Called with each watch's outcome as soon as it is known (the engine's `settle`). @default nothing */
  readonly settle?: (watch: RolloutWatch, outcome: RolloutOutcome) => void;
}

/**
 * Polls each service's UpdateStatus and tasks until its rollout succeeds,
 * fails, rolls back or times out, reporting progress and the engine-side
 * rollback as events. On a timeout of an update with auto-rollback it asks the
 * engine to roll back and waits for that. A rollback is never a success.
 * Returns one outcome per watch, in order, each also passed to `settle` as it
 * ends. An abort, or an engine error that outlasts a few polls, stops every
 * wait still open and rejects with that error (not with the aborts it caused).
 */
export async function waitRollouts(client: SwarmClient, watches: readonly RolloutWatch[], options: WaitRolloutsOptions): Promise<RolloutOutcome[]> {
  // One service's failure stops the others' polling too (no wait left running behind the result).
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  let first: SdxError | undefined;
  const settled = await Promise.all(watches.map(async (w): Promise<RolloutOutcome | undefined> => {
    try {
      const outcome = await waitOne(client, w, { ...options, signal });
      options.settle?.(w, outcome);
      return outcome;
    } catch (e) {
      const err = toSdxError(e, "SDX_BACKEND_ERROR", "backend");
      // The error that stopped the wait, not the aborts it then caused in the other services' waits.
      if (!first && !(stop.signal.aborted && err.code === "SDX_ABORTED")) first = err;
      stop.abort();
      return undefined;
    }
  }));
  if (first) throw first;
  return settled.map((o) => o!);
}

async function observe(client: SwarmClient, w: RolloutWatch, baseline: () => SwarmUpdateStatus | undefined, first: (s: SwarmService) => void): Promise<RolloutState | undefined> {
  const service = await client.inspectService(w.swarmName);
  if (!service) return undefined;
  first(service);
  const [tasks, upToDate] = await Promise.all([client.listTasks({ service: service.ID }), client.listTasks({ service: service.ID, upToDate: true })]);
  const b = baseline();
  return assessRollout({ service, tasks, upToDate, ...(b ? { baseline: b } : {}) });
}

/** Update states that end a rollout; seen on a resumed rollout's first poll, they belong to an earlier update. */
const ENDED = new Set(["completed", "rollback_completed"]);

async function waitOne(client: SwarmClient, w: RolloutWatch, o: WaitRolloutsOptions): Promise<RolloutOutcome> {
  const now = o.now ?? Date.now;
  const poll = o.pollMs ?? 500;
  const target = o.target;
  const deadline = now() + w.timeoutSeconds * 1000;
  let lastMessage = "";
  let convergedSince: number | undefined;
  let rollingBack = false;
  let rollbackRequested = false;
  let rollbackDeadline = Infinity;
  let baseline = w.baseline;
  let seen = false;
  const firstSight = (service: SwarmService): void => {
    if (seen) return;
    seen = true;
    if (w.resumed && service.UpdateStatus?.State && ENDED.has(service.UpdateStatus.State)) baseline = service.UpdateStatus;
  };
  const nap = o.sleep ?? defaultSleep;
  let failures = 0;
  let timedOut = false;
  const counts = (s: { desired: number; ready: number }): { desired: number; ready: number } => ({ desired: s.desired, ready: s.ready });
  // A rollout that ran out of time is `timed-out`, also when the rollback sdx then asked for did not finish.
  const failed = (s: { desired: number; ready: number }, reason: string): RolloutOutcome => ({ kind: timedOut ? "timed-out" : "failed", ...counts(s), reason });
  for (;;) {
    let s: RolloutState | undefined;
    try {
      s = await observe(client, w, () => baseline, firstSight);
      failures = 0;
    } catch (e) {
      // A dropped connection during a poll changes nothing on the engine: poll again, a few times.
      if ((isSdxError(e) && e.code === "SDX_ABORTED") || o.signal?.aborted || ++failures >= (o.observeAttempts ?? 3)) throw e;
      await nap(poll, o.signal);
      continue;
    }
    if (!s) return failed({ desired: 0, ready: 0 }, `service ${w.swarmName} disappeared during the rollout`);
    if (s.message !== lastMessage) {
      lastMessage = s.message;
      emit(o.onEvent, { kind: "rollout-progress", target, service: w.service, desired: s.desired, updated: s.updated, ready: s.ready, message: s.message });
    }
    switch (s.kind) {
      case "rolling-back":
        if (!rollingBack) {
          rollingBack = true;
          emit(o.onEvent, { kind: "rollback-started", target, service: w.service, reason: s.reason });
        }
        break;
      case "rolled-back":
        if (!rollingBack) emit(o.onEvent, { kind: "rollback-started", target, service: w.service, reason: s.reason });
        emit(o.onEvent, { kind: "rollback-finished", target, service: w.service, succeeded: true });
        return { kind: "rolled-back", ...counts(s), reason: s.reason };
      case "failed":
        if (rollingBack) emit(o.onEvent, { kind: "rollback-finished", target, service: w.service, succeeded: false });
        return failed(s, s.reason);
      case "succeeded": {
        // A fresh "completed" already includes Swarm's monitor window; task counts alone need a stable spell.
        convergedSince ??= now();
        if (now() - convergedSince >= w.stableSeconds * 1000) {
          if (rollbackRequested) {
            emit(o.onEvent, { kind: "rollback-finished", target, service: w.service, succeeded: true });
            return { kind: "rolled-back", ...counts(s), reason: `timed out after ${w.timeoutSeconds}s; rolled back to the previous spec` };
          }
          return { kind: "succeeded", ...counts(s) };
        }
        break;
      }
      case "progressing":
        convergedSince = undefined;
        break;
      default: {
        const never: never = s;
        throw new Error(`unhandled rollout state ${JSON.stringify(never)}`);
      }
    }
    if (s.kind !== "succeeded") convergedSince = undefined;
    if (rollbackRequested && now() > rollbackDeadline) {
      return failed(s, `timed out after ${w.timeoutSeconds}s and the rollback did not finish in time`);
    }
    if (!rollbackRequested && now() > deadline) {
      timedOut = true;
      const service = await client.inspectService(w.swarmName);
      const errs = service ? taskErrors(await client.listTasks({ service: service.ID })) : [];
      const reason = `timed out after ${w.timeoutSeconds}s with ${s.ready}/${s.desired} tasks running${errs.length ? `; task errors: ${errs.join("; ")}` : ""}`;
      if (!w.created && w.autoRollback && service?.PreviousSpec) {
        emit(o.onEvent, { kind: "rollback-started", target, service: w.service, reason });
        baseline = service.UpdateStatus;
        await client.updateService(service.ID, service.Version.Index, service.Spec, { rollback: true });
        rollbackRequested = true;
        rollingBack = true;
        rollbackDeadline = now() + (o.rollbackWaitSeconds ?? 120) * 1000;
      } else {
        return failed(s, reason);
      }
    }
    await nap(poll, o.signal);
  }
}
