import type { CheckReport } from "../backend/backend.js";
import type { Rollout, Service } from "./app.js";

/**
 * Whether the app wrote `rollout.strategy` itself. Validation records it as
 * `Rollout.strategyGiven`; a rollout without the flag counts as defaulted, so
 * the data-safe choice (stop-first) wins when in doubt.
 */
function strategyGiven(rollout: Rollout): boolean {
  return rollout.strategyGiven === true;
}

// "0" and "0%" add no instance; any other count or percentage of one replica adds one (surge rounds up).
const surges = (v: number | string): boolean => !(v === 0 || (typeof v === "string" && /^0+%?$/.test(v.trim())));

/** One instance at most (fixed scale 1, or autoscale up to 1) and a persistent volume it writes to. */
function singleWithPersistentVolume(service: Service): boolean {
  const max = service.scale.kind === "fixed" ? service.scale.replicas : service.scale.max;
  return max === 1 && service.volumes.some((v) => v.kind === "persistent");
}

/**
 * Whether `service` updates stop-first (recreate) although its rollout says
 * `rolling`: it runs one replica with a persistent volume, so starting the new
 * instance before stopping the old one would run two processes on one data
 * directory (two Postgres on one volume corrupt it). The app keeps a rolling,
 * start-first update only by writing `strategy: rolling` with a `maxSurge`
 * above zero itself. Backend-neutral; every backend applies it. Pure.
 */
export function isStopFirstByDefault(service: Service): boolean {
  if (service.rollout.strategy !== "rolling" || !singleWithPersistentVolume(service)) return false;
  return !(strategyGiven(service.rollout) && surges(service.rollout.maxSurge));
}

/**
 * The rollout a backend renders: `recreate` where {@link isStopFirstByDefault}
 * says so, else the model's own. Pure.
 */
export function effectiveRollout(service: Service): Rollout {
  return isStopFirstByDefault(service) ? { ...service.rollout, strategy: "recreate" } : service.rollout;
}

/**
 * The check lines for the stop-first default: an `exact` fidelity line saying
 * which order was chosen and why (with `how`, the backend's own words for it),
 * or a warning when the app itself asked for a start-first update of one
 * replica with a persistent volume. Empty for every other service. Pure.
 */
export function stopFirstReport(service: Service, target: string, how: string): CheckReport {
  if (isStopFirstByDefault(service)) {
    return {
      diagnostics: [],
      fidelity: [{
        service: service.name, field: "rollout", level: "exact",
        note: `one replica with a persistent volume: stop-first (recreate) so two processes never share the volume (${how}); set strategy: rolling with maxSurge: 1 to start the new one first`,
      }],
    };
  }
  if (service.rollout.strategy === "rolling" && singleWithPersistentVolume(service) && surges(service.rollout.maxSurge)) {
    return {
      diagnostics: [{
        code: "SDX_ROLLOUT_SHARED_VOLUME", severity: "warning", target, path: `services.${service.name}.rollout`,
        message: `rolling update with maxSurge ${JSON.stringify(service.rollout.maxSurge)}: during each update two processes of "${service.name}" will share its persistent volume`,
        hint: "Remove `strategy: rolling` (sdx then stops the old instance first) or set `strategy: recreate`, unless the program tolerates a second writer.",
      }],
      fidelity: [],
    };
  }
  return { diagnostics: [], fidelity: [] };
}
