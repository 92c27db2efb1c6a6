import type { DeployResult } from "../api/deploy.js";

/** At most this many remaining steps are listed by name; the rest are counted. */
const LIST_MAX = 10;

/**
 * The closing lines of `sdx deploy`: how it ended and, when it did not
 * succeed, what failed, which steps were not started and which rollouts were
 * left unfinished, so the user knows what a re-run will do.
 */
export function formatDeploySummary(r: Pick<DeployResult, "status" | "target" | "apply">): string {
  const a = r.apply;
  switch (r.status) {
    case "succeeded": {
      const kept = a?.remaining.length ?? 0;
      return `Deployed to ${r.target}.\n${kept ? `  ${kept} superseded object${kept === 1 ? "" : "s"} kept until no revision references ${kept === 1 ? "it" : "them"}: ${names(a!.remaining)}\n` : ""}`;
    }
    case "no-changes":
      return `No changes: ${r.target} already runs this revision.\n`;
    case "cancelled":
      return "Cancelled; nothing was changed.\n";
    case "failed":
    case "rolled-back":
    case "aborted": {
      const out = [`Deploy to ${r.target} ${r.status}${a?.error ? `: ${a.error.message.replace(/\.$/, "")}` : ""}.`];
      if (!a) return `${out[0]}\n`;
      for (const f of a.failed) out.push(`  ✗ ${f.action.kind} ${f.action.resource.kind} ${f.action.resource.name}: ${f.error.code}`);
      if (a.completed.length) out.push(`  done: ${a.completed.length} step${a.completed.length === 1 ? "" : "s"}`);
      if (a.remaining.length) out.push(`  not started: ${names(a.remaining)}`);
      const open = a.rollouts.filter((x) => x.status !== "succeeded");
      for (const x of open) out.push(`  rollout of ${x.service}: ${x.status}${x.reason ? ` (${x.reason})` : ""}`);
      // A rollout nobody saw end (not waited, or the wait was aborted) is what a re-run waits for.
      if (a.remaining.length || open.some((x) => x.status === "not-waited" || x.status === "aborted")) out.push("  Re-run deploy to converge: it re-plans from the live state and waits for unfinished rollouts.");
      return `${out.join("\n")}\n`;
    }
    default: {
      const never: never = r.status;
      throw new Error(`unhandled deploy status ${String(never)}`);
    }
  }
}

function names(actions: readonly { kind: string; resource: { kind: string; name: string } }[]): string {
  const shown = actions.slice(0, LIST_MAX).map((x) => `${x.kind} ${x.resource.kind} ${x.resource.name}`);
  return `${shown.join(", ")}${actions.length > LIST_MAX ? `, … ${actions.length - LIST_MAX} more` : ""}`;
}
