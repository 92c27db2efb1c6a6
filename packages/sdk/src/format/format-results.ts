// Text for people from the API's results: one or two lines per command.
// Pure; the CLI decides where each goes (stdout or stderr).
import type { BuildResult } from "../api/build.js";
import type { BudgetExcess } from "../api/check-budget.js";
import type { CheckResult } from "../api/check.js";
import type { ImportFileResult } from "../api/import-file.js";
import type { DestroyResult, StatusResult } from "../api/status.js";
import type { LoadAppResult } from "../load/load-app.js";
import { formatFidelity } from "./format-plan.js";
import { formatTable } from "./table.js";

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/** `app.yaml: valid (2 warnings)` or `app.yaml: 3 errors`. */
export function formatValidateSummary(r: LoadAppResult): string {
  const errors = r.diagnostics.filter((d) => d.severity === "error").length;
  if (errors > 0) return `${r.file}: ${plural(errors, "error")}`;
  return `${r.file}: valid${r.diagnostics.length ? ` (${plural(r.diagnostics.length, "warning")})` : ""}`;
}

/** Each target's fidelity report, under `Target <name> (<backend>):`. */
export function formatCheck(r: CheckResult): string {
  return r.targets.map((p) => `Target ${p.target} (${p.displayName}):\n${formatFidelity(p.check)}`).join("\n");
}

/** The status table, then up to three messages per service and ten warnings. */
export function formatStatus(r: StatusResult): string {
  const lines = [formatTable(["SERVICE", "DESIRED", "RUNNING", "READY", "STATE", "REVISION"], r.services.map((s) => [s.service, String(s.desired), String(s.running), String(s.ready), s.state, s.revision ?? "-"]), { rightAlign: [1, 2, 3] })];
  for (const s of r.services) for (const m of s.messages.slice(0, 3)) lines.push(`  ${s.service}: ${m}`);
  for (const w of r.warnings.slice(0, 10)) lines.push(`  warning: ${w}`);
  return lines.join("\n");
}

/** `Removed 3 objects of shop from local.` */
export function formatDestroySummary(r: DestroyResult): string {
  return `Removed ${plural(r.deleted.length, "object")} of ${r.app} from ${r.target}.`;
}

/** One line per object destroy could not remove. */
export function formatDestroyFailures(r: DestroyResult): string[] {
  return r.failed.map((f) => `  ✗ ${f.resource.kind} ${f.resource.name}: ${f.error.message}`);
}

/** `Wrote sdx.yaml from compose file compose.yaml: 4 translated, ...`. */
export function formatImportSummary(r: ImportFileResult, written: string, source: string): string {
  const count = (lvl: string): number => r.report.filter((n) => n.level === lvl).length;
  return `Wrote ${written} from ${r.format} file ${source}: ${count("translated")} translated, ${count("approximated")} approximated, ${count("dropped")} dropped, ${count("ignored")} ignored (listed at the top of the file).`;
}

/** `web costs $80.00/month, over the budget of $50/month`. */
export function formatBudgetExcess(x: BudgetExcess): string {
  return `${x.target} costs $${x.monthlyUsd.toFixed(2)}/month, over the budget of $${x.maxMonthlyUsd}/month`;
}

/**
 * One line per built service, `web → registry/app-web@sha256:…`, then what the
 * push did: the line a script greps and the figure a person checks.
 */
export function formatBuildResult(r: BuildResult, pushed: boolean): string {
  if (r.services.length === 0) return `${r.app}: no service has \`build\`; nothing to build\n`;
  const lines = r.services.map((s) => {
    const what = !pushed ? "built, not pushed" : s.existed ? "unchanged: already in the registry, nothing uploaded" : `pushed ${s.push?.uploaded ?? 0} of ${s.layers.length + 1} blobs (${s.push?.bytesUploaded ?? 0} bytes)${s.push?.mounted ? `, ${s.push.mounted} mounted` : ""}`;
    return `${s.service} → ${s.image}\n  ${s.platform}, ${s.layers.length} layers; ${what}${s.warnings.length ? `\n  warning: ${s.warnings.join("\n  warning: ")}` : ""}`;
  });
  return `${lines.join("\n")}\n`;
}
