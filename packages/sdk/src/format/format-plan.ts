import type { CheckReport } from "../backend/backend.js";
import { describeBreak, type FidelityVerdict } from "../backend/fidelity-from-capabilities.js";
import type { PlannedAction } from "../plan/plan.js";
import type { CostEstimate, EstimateReport } from "../pricing/pricing-contract.js";
import type { PlanResult, TargetPlan } from "../api/plan.js";
import { formatBreakdowns, type BreakdownOptions } from "./format-breakdown.js";
import { formatUsd } from "./format-usd.js";
import { formatTable } from "./table.js";

// Kept here too: callers and the package index import it from this module.
export { formatUsd };

const SYMBOL: Record<PlannedAction["kind"], string> = { create: "+", update: "~", replace: "±", delete: "-", "no-op": " " };

function show(v: unknown): string {
  if (v === undefined) return "(none)";
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Options of {@link formatEstimates} and {@link formatPlanResult}. */
export interface FormatCostOptions extends BreakdownOptions {
  /**
   * Add each planned target's cost breakdown (per service with bars, per
   * line, and what is not priced there) after the table: the marked target's
   * in `formatEstimates`, every planned target's in `formatPlanResult`.
   * @default false
   */
  readonly breakdown?: boolean;
  /**
   * Each target's fidelity verdict (target name → verdict), shown in a
   * FIDELITY column. @default no column
   */
  readonly verdicts?: Readonly<Record<string, FidelityVerdict>>;
}

/**
 * The SkyPilot-style table of considered targets, backends by their display
 * names (`backendNames`: target kind → name; a kind without one shows as is).
 * `→` marks the target being planned or deployed (the cheapest unless one was named); when a named
 * target is not the cheapest, a line says what the cheapest would save.
 */
export function formatEstimates(report: EstimateReport, selected?: string, backendNames: Readonly<Record<string, string>> = {}, options: FormatCostOptions = {}): string {
  const mark = selected ?? report.chosen;
  const rows = [...report.estimates]
    .sort((a, b) => a.monthlyUsd - b.monthlyUsd)
    .map((e: CostEstimate) => {
      const row = [e.target === mark ? "→" : " ", e.target, backendNames[e.backend] ?? e.backend, e.region, e.capacity, formatUsd(e.hourlyUsd), formatUsd(e.monthlyUsd), e.priceAsOf];
      const v = options.verdicts?.[e.target];
      return options.verdicts ? [...row, v ? formatVerdict(v) : "not checked"] : row;
    });
  const header = ["", "TARGET", "BACKEND", "REGION", "CAPACITY", "$/HOUR", "$/MONTH", "PRICES AS OF", ...(options.verdicts ? ["FIDELITY"] : [])];
  const out = [rows.length ? formatTable(header, rows, { rightAlign: [5, 6] }) : "No target could be priced."];
  for (const r of report.rejected) out.push(`  ✗ ${r.target}: ${r.reason}`);
  const cheapest = report.estimates.find((e) => e.target === report.chosen);
  const sel = report.estimates.find((e) => e.target === selected);
  if (selected && cheapest && sel && cheapest.target !== selected) {
    out.push(`Planning ${selected} as named; the cheapest is ${cheapest.target} at ${formatUsd(cheapest.monthlyUsd)}/month (${formatUsd(sel.monthlyUsd - cheapest.monthlyUsd)} less).`);
  } else if (report.chosen && report.reason) out.push(`Chosen: ${report.chosen} (${report.reason})`);
  // Each target leaves out different things (a load balancer is priced on ECS, not on a flat rate):
  // the marked target's list is the one that qualifies the number acted on; the breakdown repeats it per target.
  const marked = report.estimates.find((e) => e.target === mark);
  if (options.breakdown && mark) out.push("", formatBreakdowns(report, [mark], options));
  else if (marked?.notPriced.length) out.push(`Not priced on ${marked.target}: ${marked.notPriced.join(", ")}.`);
  return out.join("\n");
}

/** A fidelity verdict in a few words, e.g. `approximated (3), drops 1` or `breaks discovery by name (api)`. */
export function formatVerdict(v: FidelityVerdict): string {
  switch (v.kind) {
    case "exact":
      return "exact";
    case "approximated":
      return v.approximated > 0 ? `approximated (${v.approximated})${v.dropped > 0 ? `, drops ${v.dropped}` : ""}` : `drops ${v.dropped}`;
    case "degraded":
      return `breaks ${v.breaks.map((b) => {
        const services = [...new Set(v.entries.filter((e) => e.breaks === b && e.service).map((e) => e.service!))];
        return `${describeBreak(b)}${services.length ? ` (${services.join(", ")})` : ""}`;
      }).join(", ")}`;
    case "refused":
      return `cannot run (${v.errors} error${v.errors === 1 ? "" : "s"})`;
    default: {
      const never: never = v;
      return String(never);
    }
  }
}

/** The fidelity report of one target, approximations and drops only (exact fields are the norm). */
export function formatFidelity(check: CheckReport): string {
  const notable = check.fidelity.filter((f) => f.level !== "exact");
  if (notable.length === 0) return "  Fidelity: every field is carried exactly.";
  return ["  Fidelity:", ...notable.map((f) => `    ${f.level === "dropped" ? "dropped     " : "approximated"} ${f.service ? `${f.service}.` : ""}${f.field}${f.note ? `: ${f.note}` : ""}`)].join("\n");
}

/** One target's plan: actions with per-field changes, then a summary line. */
export function formatTargetPlan(tp: TargetPlan): string {
  const p = tp.plan;
  const out: string[] = [];
  out.push(`Target ${tp.target} (${tp.displayName}, ${p.mode === "live" ? "compared with the live state" : "render only: nothing was contacted"}):`);
  if (p.unreachable) out.push(`  ! ${p.unreachable.message}${p.unreachable.hint ? ` (${p.unreachable.hint})` : ""}; showing everything as a create.`);
  for (const a of p.actions) {
    if (a.kind === "no-op") continue;
    out.push(`  ${SYMBOL[a.kind]} ${a.kind.padEnd(7)} ${a.resource.kind} ${a.resource.name}${a.reason && a.kind !== "delete" ? `  (${a.reason})` : ""}`);
    for (const c of a.changes.slice(0, 20)) out.push(`      ${c.path}: ${show(c.before)} → ${show(c.after)}`);
    if (a.changes.length > 20) out.push(`      … and ${a.changes.length - 20} more changes (--json shows all)`);
  }
  // An interrupted deploy leaves rollouts running: not a change to any object, but not "nothing to do" either.
  for (const u of p.unconverged ?? []) out.push(`  … rollout of ${u.service} unfinished: ${u.reason}`);
  const s = p.summary;
  const waits = p.unconverged?.length ?? 0;
  out.push(`  ${s.create} to create, ${s.update} to update, ${s.replace} to replace, ${s.delete} to delete, ${s.noop} unchanged${waits ? `; ${waits} unfinished rollout${waits === 1 ? "" : "s"} to wait for` : ""}.`);
  if (tp.costDelta) {
    const changed = tp.costDelta.filter((d) => Math.abs(d.deltaMonthlyUsd) >= 0.005);
    const total = changed.reduce((a, d) => a + d.deltaMonthlyUsd, 0);
    const sign = (n: number): string => `${n >= 0 ? "+" : "-"}${formatUsd(Math.abs(n))}`;
    const before = tp.costDelta.reduce((a, d) => a + d.beforeMonthlyUsd, 0);
    out.push(changed.length > 0
      ? `  Cost per month vs the deployed revision: ${changed.map((d) => `${d.service ?? "shared nodes"} ${formatUsd(d.beforeMonthlyUsd)} → ${formatUsd(d.afterMonthlyUsd)} (${sign(d.deltaMonthlyUsd)})`).join("; ")}; total ${sign(total)}.`
      : `  Cost per month vs the deployed revision: unchanged (${formatUsd(before)}).`);
  }
  out.push(formatFidelity(tp.check));
  return out.join("\n");
}

/** The whole `sdx plan` text; with `breakdown`, each planned target's cost breakdown follows the cost table. */
export function formatPlanResult(r: PlanResult, options: FormatCostOptions = {}): string {
  const out: string[] = [`App ${r.app}, revision ${r.revision.app}`];
  const resolved = r.images.filter((i) => i.status === "resolved");
  const builtNames = new Set(r.builds.map((b) => b.service));
  const unresolved = r.images.filter((i) => i.status === "unresolved" && i.reason !== "offline" && !builtNames.has(i.service));
  for (const b of r.builds) out.push(`  build ${b.service}${r.plans.length > 1 && b.target ? ` (${b.target})` : ""}: ${formatBuildLine(b)}`);
  for (const i of resolved) out.push(`  image ${i.service}: ${i.ref} → ${i.digest}`);
  for (const i of unresolved) out.push(`  image ${i.service}: ${i.ref} not resolved (${i.reason}); the tag may point elsewhere at deploy time`);
  if (r.estimates) out.push("", formatEstimates(r.estimates, r.target, r.backendNames, r.verdicts ? { verdicts: r.verdicts } : {}));
  if (options.breakdown) out.push("", formatBreakdowns(r.estimates, r.plans.map((p) => p.target), options));
  for (const tp of r.plans) out.push("", formatTargetPlan(tp));
  return `${out.join("\n")}\n`;
}

/** What a plan says about one built service: its digest and whether a deploy would upload it. */
function formatBuildLine(b: PlanResult["builds"][number]): string {
  switch (b.status) {
    case "new":
      return `→ ${b.image} (new digest: a deploy pushes it and rolls ${b.service})`;
    case "unchanged":
      return `→ ${b.image} (unchanged: already in the registry, nothing to upload)`;
    case "built":
      return `→ ${b.image} (the registry could not be asked whether it has it)`;
    case "not-built":
      return `${b.repository ? `${b.repository}: ` : ""}will be built at deploy (${b.reason ?? "not built"})`;
    default: {
      const never: never = b.status;
      return String(never);
    }
  }
}
