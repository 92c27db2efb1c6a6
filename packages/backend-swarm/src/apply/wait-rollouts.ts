import { emit, sleep, type EventListener, type ServiceRollout } from "@sdx/sdk";
import type { SwarmClient, SwarmUpdateStatus } from "../client/swarm-client.js";
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
}

/** A rollout's outcome, and whether it ended by running out of time. */
export type WatchedRollout = ServiceRollout & { readonly timedOut?: boolean };

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
}

/**
 * Polls each service's UpdateStatus and tasks until its rollout succeeds,
 * fails, rolls back or times out, reporting progress as events. On a timeout
 * of an update with auto-rollback it asks the engine to roll back and waits for
 * that. A rollback is never a success.
 */
export async function waitRollouts(client: SwarmClient, watches: readonly RolloutWatch[], options: WaitRolloutsOptions): Promise<WatchedRollout[]> {
  return Promise.all(watches.map((w) => waitOne(client, w, options)));
}

async function observe(client: SwarmClient, w: RolloutWatch, baseline: SwarmUpdateStatus | undefined): Promise<RolloutState | undefined> {
  const service = await client.inspectService(w.swarmName);
  if (!service) return undefined;
  const [tasks, upToDate] = await Promise.all([client.listTasks({ service: service.ID }), client.listTasks({ service: service.ID, upToDate: true })]);
  return assessRollout({ service, tasks, upToDate, ...(baseline ? { baseline } : {}) });
}

async function waitOne(client: SwarmClient, w: RolloutWatch, o: WaitRolloutsOptions): Promise<WatchedRollout> {
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
  let timedOut = false;
  const result = (status: ServiceRollout["status"], s: { desired: number; ready: number }, reason?: string): WatchedRollout => ({
    service: w.service, status, desired: s.desired, ready: s.ready, ...(reason ? { reason } : {}), ...(timedOut ? { timedOut } : {}),
  });
  for (;;) {
    const s = await observe(client, w, baseline);
    if (!s) return result("failed", { desired: 0, ready: 0 }, `service ${w.swarmName} disappeared during the rollout`);
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
        emit(o.onEvent, { kind: "rollout-failed", target, service: w.service, reason: s.reason });
        return result("rolled-back", s, s.reason);
      case "failed":
        if (rollingBack) emit(o.onEvent, { kind: "rollback-finished", target, service: w.service, succeeded: false });
        emit(o.onEvent, { kind: "rollout-failed", target, service: w.service, reason: s.reason });
        return result("failed", s, s.reason);
      case "succeeded": {
        // A fresh "completed" already includes Swarm's monitor window; task counts alone need a stable spell.
        convergedSince ??= now();
        if (now() - convergedSince >= w.stableSeconds * 1000) {
          if (rollbackRequested) {
            emit(o.onEvent, { kind: "rollback-finished", target, service: w.service, succeeded: true });
            return result("rolled-back", s, `timed out after ${w.timeoutSeconds}s; rolled back to the previous spec`);
          }
          emit(o.onEvent, { kind: "rollout-succeeded", target, service: w.service });
          return result("succeeded", s);
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
      return result("failed", s, `timed out after ${w.timeoutSeconds}s and the rollback did not finish in time`);
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
        emit(o.onEvent, { kind: "rollout-failed", target, service: w.service, reason });
        return result("failed", s, reason);
      }
    }
    await sleep(poll, o.signal);
  }
}
