import type { Deployment, Service as EcsService, Task } from "@aws-sdk/client-ecs";
import { emit, sleep as defaultSleep, throwIfAborted, type EventListener, type RolloutOutcome } from "@sdx/sdk";
import type { EcsPort } from "../client/ecs-port.js";
import { ON_DEMAND_STRATEGY } from "../render/render-ecs.js";

/** One service whose rollout apply waits for. */
export interface RolloutWatch {
  readonly service: string;
  /** Created by this apply (nothing to roll back to). @default false */
  readonly created?: boolean;
  /** The deployment sdx started (PRIMARY in the Create/UpdateService response). */
  readonly deploymentId?: string;
  /** The task definition that deployment runs. */
  readonly taskDefinitionArn?: string;
  /** The circuit breaker rolls failed deployments back. */
  readonly autoRollback: boolean;
  /** The service's strategy uses FARGATE_SPOT. */
  readonly spot: boolean;
  readonly timeoutSeconds: number;
}

/** A clock, injected so tests drive time without sleeping. */
export interface Clock {
  /** Milliseconds. */
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now(), sleep: defaultSleep };

/** Options for {@link waitForRollouts}. */
export interface WaitForRolloutsOptions {
  readonly target: string;
  readonly cluster: string;
  /** Seconds FARGATE_SPOT tasks may stay unplaced before sdx reports it. */
  readonly spotFallbackSeconds: number;
  /** Switch the strategy to FARGATE when that happens. */
  readonly spotFallback: boolean;
  /** Poll period in ms. @default 5000 */
  readonly pollMs?: number;
  /** @default systemClock */
  readonly clock?: Clock;
  readonly onEvent?: EventListener;
  readonly signal?: AbortSignal;
  /** Called with each watch's outcome as soon as it is known (the engine's `settle`). @default nothing */
  readonly settle?: (watch: RolloutWatch, outcome: RolloutOutcome) => void;
}

interface WatchState {
  watch: RolloutWatch;
  deploymentId: string | undefined;
  taskDefinitionArn: string | undefined;
  startedAt: number;
  lastProgress: string;
  lastRunning: number;
  stallSince: number | undefined;
  fellBack: boolean;
  failedSeen: number;
  failureReason: string | undefined;
  rollbackStarted: boolean;
  stopped: string[];
  done: RolloutOutcome | undefined;
}

const primaryOf = (s: EcsService): Deployment | undefined => s.deployments?.find((d) => d.status === "PRIMARY");

/** Why tasks stopped, newest first, de-duplicated: ECS's stoppedReason plus container exit codes and reasons. */
export function stoppedReasons(tasks: readonly Task[]): string[] {
  const sorted = [...tasks].sort((a, b) => (b.stoppedAt?.getTime() ?? 0) - (a.stoppedAt?.getTime() ?? 0));
  const out: string[] = [];
  for (const t of sorted) {
    const containers = (t.containers ?? [])
      .filter((c) => c.reason || (c.exitCode !== undefined && c.exitCode !== 0))
      .map((c) => `${c.name}: ${c.reason ?? `exit code ${c.exitCode}`}`);
    const line = [t.stoppedReason ?? t.stopCode, ...containers].filter(Boolean).join("; ");
    if (line && !out.includes(line)) out.push(line);
  }
  return out.slice(0, 3);
}

/**
 * Polls the services being rolled out (one batched DescribeServices per tick)
 * until each deployment completes, fails, is rolled back by the circuit
 * breaker, or times out: one outcome per watch, in order, each also passed to
 * `settle` as it ends. Emits progress, rollback and spot-fallback events, and
 * collects stopped tasks' reasons for failures. Rejects on an abort or a port error. When FARGATE_SPOT
 * tasks stay unplaced for `spotFallbackSeconds`, reports it and, when allowed,
 * moves the service to FARGATE with a forced new deployment.
 */
export async function waitForRollouts(port: EcsPort, watches: readonly RolloutWatch[], options: WaitForRolloutsOptions): Promise<RolloutOutcome[]> {
  const clock = options.clock ?? systemClock;
  const pollMs = options.pollMs ?? 5000;
  const { target, cluster, onEvent, signal } = options;
  const states = watches.map((w): WatchState => ({
    watch: w, deploymentId: w.deploymentId, taskDefinitionArn: w.taskDefinitionArn, startedAt: clock.now(), lastProgress: "", lastRunning: -1,
    stallSince: undefined, fellBack: false, failedSeen: 0, failureReason: undefined, rollbackStarted: false, stopped: [], done: undefined,
  }));
  const finish = (st: WatchState, outcome: RolloutOutcome["kind"], s: EcsService | undefined, reason = ""): void => {
    const counts = { desired: s?.desiredCount ?? 0, ready: s?.runningCount ?? 0 };
    const done: RolloutOutcome = outcome === "succeeded" ? { kind: outcome, ...counts } : { kind: outcome, ...counts, reason };
    st.done = done;
    options.settle?.(st.watch, done);
  };
  const collectStopped = async (st: WatchState): Promise<void> => {
    const arns = await port.listTasks(cluster, st.watch.service, "STOPPED");
    if (arns.length === 0) return;
    const reasons = stoppedReasons(await port.describeTasks(cluster, arns.slice(0, 100)));
    for (const r of reasons) if (!st.stopped.includes(r)) {
      st.stopped.push(r);
      emit(onEvent, { kind: "log", target, level: "warning", message: `${st.watch.service}: task stopped: ${r}` });
    }
  };

  for (;;) {
    throwIfAborted(signal);
    const open = states.filter((s) => !s.done);
    if (open.length === 0) break;
    const { services } = await port.describeServices(cluster, open.map((s) => s.watch.service));
    const now = clock.now();
    for (const st of open) {
      const s = services.find((x) => x.serviceName === st.watch.service);
      if (!s) {
        finish(st, "failed", undefined, "the service disappeared while rolling out");
        continue;
      }
      const primary = primaryOf(s);
      const ours = s.deployments?.find((d) => d.id === st.deploymentId) ?? s.deployments?.find((d) => st.taskDefinitionArn !== undefined && d.taskDefinition === st.taskDefinitionArn) ?? primary;
      if (!st.deploymentId && ours?.id) st.deploymentId = ours.id;
      const desired = ours?.desiredCount ?? s.desiredCount ?? 0;
      const running = ours?.runningCount ?? 0;
      const pending = ours?.pendingCount ?? 0;
      const failed = ours?.failedTasks ?? 0;
      const progress = `${running}/${desired} running, ${pending} pending, ${failed} failed; deployment ${ours?.rolloutState ?? "?"}${s.deployments && s.deployments.length > 1 ? ` (${s.deployments.length} deployments)` : ""}`;
      if (progress !== st.lastProgress) {
        st.lastProgress = progress;
        emit(onEvent, { kind: "rollout-progress", target, service: st.watch.service, desired, updated: running + pending, ready: running, message: progress });
      }
      if (failed > st.failedSeen) {
        st.failedSeen = failed;
        await collectStopped(st);
      }
      const lastEvent = s.events?.[0]?.message;

      // The deployment sdx started failed: the circuit breaker tripped.
      if (ours?.rolloutState === "FAILED") {
        if (!st.failureReason) {
          if (st.stopped.length === 0) await collectStopped(st);
          st.failureReason = [ours.rolloutStateReason ?? "deployment failed", ...st.stopped.map((r) => `stopped task: ${r}`)].join("; ");
        }
        if (!st.watch.autoRollback) {
          finish(st, "failed", s, st.failureReason);
          continue;
        }
        // With rollback on, ECS starts a new PRIMARY deployment of the last completed revision.
        if (primary && primary.id !== ours.id) {
          if (!st.rollbackStarted) {
            st.rollbackStarted = true;
            emit(onEvent, { kind: "rollback-started", target, service: st.watch.service, reason: st.failureReason });
          }
          if (primary.rolloutState === "COMPLETED") {
            emit(onEvent, { kind: "rollback-finished", target, service: st.watch.service, succeeded: true });
            finish(st, "rolled-back", s, `${st.failureReason}; rolled back to ${primary.taskDefinition ?? "the previous revision"}`);
            continue;
          }
          if (primary.rolloutState === "FAILED") {
            emit(onEvent, { kind: "rollback-finished", target, service: st.watch.service, succeeded: false });
            finish(st, "failed", s, `${st.failureReason}; the rollback failed too: ${primary.rolloutStateReason ?? "unknown reason"}`);
            continue;
          }
        } else if (!(s.deployments ?? []).some((d) => d.id !== ours.id && d.rolloutState !== "FAILED")) {
          // A failed first deployment: there is no completed deployment to roll back to, so this is final.
          finish(st, "failed", s, `${st.failureReason}; no earlier deployment to roll back to`);
          continue;
        }
      } else if (ours && ours.status === "PRIMARY" && running === desired && (s.runningCount ?? running) === (s.desiredCount ?? desired)
        && (ours.rolloutState === "COMPLETED" || (ours.rolloutState === undefined && (s.deployments?.length ?? 0) === 1))) {
        // COMPLETED alone is not enough: a desiredCount-only UpdateService keeps the deployment's
        // rolloutState, so a scale-up or scale-down is done only when the running counts match, and
        // the service's own runningCount (all deployments) matches only once the old tasks drained.
        finish(st, "succeeded", s);
        continue;
      }

      // Spot capacity: tasks pending without progress for too long.
      if (st.watch.spot && !st.fellBack && !st.failureReason) {
        if (pending > 0 && running <= st.lastRunning) st.stallSince ??= now;
        else st.stallSince = undefined;
        if (st.stallSince !== undefined && now - st.stallSince >= options.spotFallbackSeconds * 1000) {
          const reason = `${pending} of ${desired} tasks not placed on FARGATE_SPOT for ${Math.round((now - st.stallSince) / 1000)}s${lastEvent ? ` (last ECS event: ${lastEvent})` : ""}`;
          emit(onEvent, { kind: "spot-fallback", target, service: st.watch.service, reason: options.spotFallback ? `${reason}; moving the service to FARGATE` : `${reason}; spotFallback is off, so the service stays on spot` });
          st.fellBack = true;
          if (options.spotFallback) {
            // A strategy change only takes effect with a new deployment.
            const updated = await port.updateService({ cluster, service: st.watch.service, capacityProviderStrategy: ON_DEMAND_STRATEGY.map((x) => ({ ...x })), forceNewDeployment: true });
            const np = primaryOf(updated);
            st.deploymentId = np?.id;
            st.taskDefinitionArn = np?.taskDefinition ?? st.taskDefinitionArn;
            st.lastProgress = "";
          }
        }
      }
      st.lastRunning = Math.max(st.lastRunning, running);

      if (now - st.startedAt >= st.watch.timeoutSeconds * 1000) {
        if (st.stopped.length === 0) await collectStopped(st);
        const why = [
          `timed out after ${st.watch.timeoutSeconds}s with ${running}/${desired} tasks running`,
          st.failureReason,
          lastEvent ? `last ECS event: ${lastEvent}` : undefined,
          ...st.stopped.map((r) => `stopped task: ${r}`),
        ].filter(Boolean).join("; ");
        finish(st, "timed-out", s, why);
      }
    }
    if (states.every((s) => s.done)) break;
    await clock.sleep(pollMs, signal);
  }
  return states.map((s) => s.done!);
}
