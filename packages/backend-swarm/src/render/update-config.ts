import { effectiveRollout, type HealthCheck, type Service } from "@sdx/sdk";

/** Swarm's UpdateConfig / RollbackConfig shape (durations in nanoseconds). */
export interface SwarmUpdateConfig {
  readonly Parallelism: number;
  readonly Delay: number;
  readonly FailureAction: "pause" | "continue" | "rollback";
  readonly Monitor: number;
  readonly MaxFailureRatio: number;
  readonly Order: "stop-first" | "start-first";
}

export const NS_PER_SECOND = 1_000_000_000;

/** A count or a percentage of `replicas`; percentages round up for surge and down for unavailability, as Kubernetes does. */
export function resolveCount(v: number | string, replicas: number, round: "up" | "down"): number {
  if (typeof v === "number") return v;
  const m = /^(\d+(?:\.\d+)?)%$/.exec(v.trim());
  if (!m) return Number(v) || 0;
  const x = (replicas * Number(m[1])) / 100;
  return round === "up" ? Math.ceil(x) : Math.floor(x);
}

/**
 * How long Swarm watches each updated task for a failure. With a healthcheck a
 * task only reaches `running` once healthy, so one interval plus the grace
 * period is enough to see a crash; without one, Swarm's own default (5 s).
 */
export function monitorSeconds(health: HealthCheck | undefined): number {
  if (!health) return 5;
  return Math.min(60, Math.max(5, health.intervalSeconds + health.startPeriodSeconds));
}

/**
 * UpdateConfig and RollbackConfig from the service's rollout. Swarm has one
 * batch size, so rolling updates with surge start `maxSurge` new tasks before
 * stopping old ones (start-first); without surge it stops `maxUnavailable`
 * (at least one) first. Recreate replaces every task at once, stop-first, and
 * so does one replica with a persistent volume unless the app asked for a
 * surge ({@link effectiveRollout}); a rollback then stops first too.
 */
export function updateConfigs(svc: Service, replicas: number): { update: SwarmUpdateConfig; rollback: SwarmUpdateConfig } {
  const rollout = effectiveRollout(svc);
  const monitor = monitorSeconds(svc.health) * NS_PER_SECOND;
  let parallelism: number;
  let order: SwarmUpdateConfig["Order"];
  if (rollout.strategy === "recreate") {
    parallelism = 0;
    order = "stop-first";
  } else {
    const surge = resolveCount(rollout.maxSurge, replicas, "up");
    const unavailable = resolveCount(rollout.maxUnavailable, replicas, "down");
    if (surge > 0) {
      parallelism = surge;
      order = "start-first";
    } else {
      parallelism = Math.max(1, unavailable);
      order = "stop-first";
    }
  }
  const base = { Parallelism: parallelism, Delay: 0, Monitor: monitor, MaxFailureRatio: 0, Order: order };
  return {
    update: { ...base, FailureAction: rollout.autoRollback ? "rollback" : "pause" },
    // A failing rollback stops where it is: rolling back a rollback would loop.
    rollback: { ...base, FailureAction: "pause" },
  };
}
