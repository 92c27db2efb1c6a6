import type { SwarmService, SwarmTask, SwarmUpdateStatus } from "../client/swarm-client.js";

/** Where one service's rollout stands, judged from one observation. A tagged union on `kind`. */
export type RolloutState =
  | { readonly kind: "progressing"; readonly desired: number; readonly updated: number; readonly ready: number; readonly message: string }
  | { readonly kind: "rolling-back"; readonly desired: number; readonly updated: number; readonly ready: number; readonly message: string; readonly reason: string }
  | { readonly kind: "succeeded"; readonly desired: number; readonly updated: number; readonly ready: number; readonly message: string }
  | { readonly kind: "rolled-back"; readonly desired: number; readonly updated: number; readonly ready: number; readonly message: string; readonly reason: string }
  | { readonly kind: "failed"; readonly desired: number; readonly updated: number; readonly ready: number; readonly message: string; readonly reason: string };

/** One observation of a service: the service, all its tasks, and those on its current spec. */
export interface RolloutObservation {
  readonly service: SwarmService;
  readonly tasks: readonly SwarmTask[];
  readonly upToDate: readonly SwarmTask[];
  /** UpdateStatus before sdx changed the service, so a stale status from an earlier update is not taken for this one. */
  readonly baseline?: SwarmUpdateStatus;
}

const FAILED_STATES = new Set(["failed", "rejected", "orphaned"]);

/** The most recent task failure, in words: `task 2 failed: task: non-zero exit (1)`. */
export function lastTaskError(tasks: readonly SwarmTask[]): string | undefined {
  const failed = tasks
    .filter((t) => t.Status.Err || FAILED_STATES.has(t.Status.State))
    .sort((a, b) => (b.Status.Timestamp ?? "").localeCompare(a.Status.Timestamp ?? ""));
  const t = failed[0];
  if (!t) return undefined;
  const exit = t.Status.ContainerStatus?.ExitCode;
  const why = t.Status.Err || t.Status.Message || t.Status.State;
  return `task ${t.Slot ?? t.ID.slice(0, 12)} ${t.Status.State}: ${why}${exit ? ` (exit code ${exit})` : ""}`;
}

/** Task errors newest first, without repeats. */
export function taskErrors(tasks: readonly SwarmTask[], max = 5): string[] {
  const out: string[] = [];
  const sorted = [...tasks].sort((a, b) => (b.Status.Timestamp ?? "").localeCompare(a.Status.Timestamp ?? ""));
  for (const t of sorted) {
    const e = lastTaskError([t]);
    if (e && !out.includes(e)) out.push(e);
    if (out.length >= max) break;
  }
  return out;
}

function isFresh(now: SwarmUpdateStatus | undefined, baseline: SwarmUpdateStatus | undefined): boolean {
  if (!now?.State) return false;
  if (!baseline) return true;
  return now.State !== baseline.State || now.StartedAt !== baseline.StartedAt || now.CompletedAt !== baseline.CompletedAt;
}

/**
 * Judges a rollout from one observation. Swarm's UpdateStatus says how an
 * update ends (`rollback_completed` and `paused` are failures, whatever
 * `docker stack deploy` reports); task counts decide the rest: the rollout is
 * done when every desired task on the current spec is running and no task of
 * an older spec still is.
 */
export function assessRollout(o: RolloutObservation): RolloutState {
  const mode = o.service.Spec.Mode as { Replicated?: { Replicas?: number } } | undefined;
  const desired = mode?.Replicated?.Replicas ?? 0;
  const live = o.upToDate.filter((t) => t.DesiredState === "running");
  const updated = live.length;
  const ready = live.filter((t) => t.Status.State === "running").length;
  const upToDateIds = new Set(o.upToDate.map((t) => t.ID));
  const stale = o.tasks.filter((t) => !upToDateIds.has(t.ID) && t.DesiredState === "running" && t.Status.State === "running").length;
  const us = o.service.UpdateStatus;
  const err = lastTaskError(o.tasks);
  const counts = { desired, updated, ready };
  const message = `${ready}/${desired} tasks running on the new spec${stale ? `, ${stale} old still running` : ""}`;
  if (isFresh(us, o.baseline)) {
    const said = us?.Message ? `${us.Message}` : "";
    switch (us?.State) {
      case "updating":
        return { kind: "progressing", ...counts, message: said || message };
      case "rollback_started":
        return { kind: "rolling-back", ...counts, message: said || "rolling back", reason: err ?? (said || "the update failed") };
      case "rollback_completed":
        return { kind: "rolled-back", ...counts, message: said || "rolled back", reason: err ?? (said || "the update failed and was rolled back") };
      case "paused":
        return { kind: "failed", ...counts, message: said || "update paused", reason: `update paused: ${err ?? (said || "a task failed")}` };
      case "rollback_paused":
        return { kind: "failed", ...counts, message: said || "rollback paused", reason: `the rollback itself failed: ${err ?? said}` };
      default:
        break; // completed: the counts below decide
    }
  }
  if (ready >= desired && stale === 0) return { kind: "succeeded", ...counts, message };
  return { kind: "progressing", ...counts, message };
}
