import type { SdxEvent } from "../events/sdx-event.js";

/** One progress line per event, for a terminal. Returns undefined for events not worth a line. */
export function formatEvent(e: SdxEvent): string | undefined {
  switch (e.kind) {
    case "target-selected":
      return `target ${e.target} (${e.backend}): ${e.reason}`;
    case "target-unreachable":
      return `target ${e.target} is unreachable: ${e.error.message}${e.error.hint ? ` (${e.error.hint})` : ""}`;
    case "plan-ready":
      return undefined;
    case "diagnostic":
      return `${e.diagnostic.severity}: ${e.diagnostic.message}`;
    case "action-started":
      return undefined;
    case "action-succeeded":
      return `  ✓ ${e.action} ${e.resource.kind} ${e.resource.name}`;
    case "action-failed":
      return `  ✗ ${e.action} ${e.resource.kind} ${e.resource.name}: ${e.error.message}`;
    case "rollout-progress":
      return `  … ${e.service}: ${e.updated}/${e.desired} updated, ${e.ready}/${e.desired} ready${e.message ? ` (${e.message})` : ""}`;
    case "rollout-succeeded":
      return `  ✓ ${e.service} rolled out`;
    case "rollout-failed":
      return `  ✗ ${e.service} rollout failed: ${e.reason}`;
    case "rollback-started":
      return `  ↺ rolling back ${e.service}: ${e.reason}`;
    case "rollback-finished":
      return `  ↺ ${e.service} rollback ${e.succeeded ? "finished" : "FAILED"}`;
    case "spot-fallback":
      return `  ! ${e.service}: spot capacity unavailable, ${e.reason}`;
    case "log":
      return `${e.level === "warning" ? "warning: " : ""}${e.message}`;
    default: {
      const never: never = e;
      return String(never);
    }
  }
}
