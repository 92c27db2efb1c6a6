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
    case "build-started":
      return `building ${e.service} → ${e.repository}`;
    case "build-progress":
      return `  … ${e.service}: ${e.message}`;
    case "build-finished":
      return `  ✓ ${e.service} → ${e.image}${e.uploaded === undefined ? "" : e.uploaded === 0 ? " (nothing to upload)" : ` (${e.uploaded} blob${e.uploaded === 1 ? "" : "s"} uploaded${e.bytesUploaded === undefined ? "" : `, ${shortBytes(e.bytesUploaded)}`})`}`;
    case "log":
      return `${e.level === "warning" ? "warning: " : ""}${e.message}`;
    default: {
      const never: never = e;
      return String(never);
    }
  }
}

/** "812 B", "3.4 KiB", "41.2 MiB": progress lines want the size at a glance, not exactly. */
export function shortBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
