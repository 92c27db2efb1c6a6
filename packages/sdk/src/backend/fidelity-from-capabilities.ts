import type { App, Service, Target } from "../model/app.js";
import type { Diagnostic } from "../validation/diagnostic.js";
import type { Backend, BackendContext, CheckReport, FidelityBreak, FidelityEntry, FidelityLevel } from "./backend.js";

/** What {@link fidelityFromCapabilities} reads of a backend: its declaration, never its code. */
export type DeclaredBackend = Pick<Backend, "kind" | "displayName" | "capabilities">;

const RANK: Record<FidelityLevel, number> = { dropped: 0, approximated: 1, exact: 2 };

/**
 * The fidelity lines and refusals that follow from a backend's declared
 * `capabilities` alone (SkyPilot's `CloudImplementationFeatures`: declared
 * once, checked by the core), so no backend repeats them:
 * - a health probe kind the backend does not run natively is approximated
 *   (run as a command in the container, when it runs `exec` probes) or dropped;
 * - autoscaling without an autoscaler runs a fixed `min` replicas;
 * - spot placement without spot capacity runs on on-demand capacity;
 * - a volume kind the backend cannot provide is dropped, and a persistent one
 *   is refused (an error): data is never dropped silently;
 * - automatic rollback without a backend that rolls back is dropped.
 * Pure.
 */
export function fidelityFromCapabilities(app: App, target: Target, backend: DeclaredBackend): CheckReport {
  const caps = backend.capabilities;
  const who = backend.displayName;
  const diagnostics: Diagnostic[] = [];
  const fidelity: FidelityEntry[] = [];
  for (const svc of app.services) {
    const f = (field: string, level: FidelityLevel, note: string, breaks?: FidelityBreak): void =>
      void fidelity.push({ service: svc.name, field, level, note, ...(breaks ? { breaks } : {}) });
    const probe = svc.health?.probe;
    if (probe && !caps.nativeProbes.includes(probe.kind)) {
      if (probe.kind !== "exec" && caps.nativeProbes.includes("exec")) {
        f(`health.${probe.kind}`, "approximated", `${who} runs only command health checks: sdx runs the ${probe.kind} probe as a command inside the container, against 127.0.0.1:${probe.port}`);
      } else {
        f(`health.${probe.kind}`, "dropped", `${who} cannot run ${probe.kind} health checks: instances count as healthy once started`);
      }
    }
    if (svc.scale.kind === "auto" && !caps.autoscale) {
      f("scale", "approximated", `${who} has no autoscaler: the service runs a fixed ${svc.scale.min} replica${svc.scale.min === 1 ? "" : "s"} (autoscale.min)`);
    }
    if (svc.placement.spot !== "never" && !caps.spot) {
      f("placement.spot", "dropped", `${who} has no spot capacity: every replica runs on on-demand capacity`);
    }
    for (const v of svc.volumes) {
      if (caps.volumes.includes(v.kind)) continue;
      f(`volumes.${v.name}`, "dropped", `${who} provides no ${v.kind} volumes: ${v.path} is not mounted`, v.kind === "persistent" ? "persistent-data" : undefined);
      if (v.kind === "persistent") diagnostics.push(volumeRefusal(svc, v.name, target, who));
    }
    if (svc.rollout.autoRollback && !caps.rollback) {
      f("rollout.autoRollback", "dropped", `${who} does not roll back a failed rollout: the failed revision stays until the next deploy`);
    }
  }
  return { diagnostics, fidelity };
}

function volumeRefusal(svc: Service, volume: string, target: Target, who: string): Diagnostic {
  return {
    code: "SDX_BACKEND_UNSUPPORTED", severity: "error", target: target.name, path: `services.${svc.name}.volumes.${volume}`,
    message: `persistent volume "${volume}" cannot be provided by target "${target.name}" (${who} has no persistent volumes); its data would be lost`,
    hint: "Deploy this service to a target whose backend provides persistent volumes, or remove the volume and mount storage through the target's `overrides`.",
  };
}

/**
 * Merges the derived report with the backend's own. A backend's line for the
 * same service and field refines the derived one: its note says how it does
 * it, but its level can only be lower, since capabilities are the contract.
 * Lines are grouped by service in app order; diagnostics keep their order,
 * derived first.
 */
export function mergeCheckReports(app: App, derived: CheckReport, own: CheckReport): CheckReport {
  const key = (e: FidelityEntry): string => `${e.service ?? ""}\u0000${e.field}`;
  const floor = new Map(derived.fidelity.map((e) => [key(e), e]));
  const refined = new Set<string>();
  const merged: FidelityEntry[] = own.fidelity.map((e) => {
    const d = floor.get(key(e));
    if (!d) return e;
    refined.add(key(e));
    const level = RANK[d.level] < RANK[e.level] ? d.level : e.level;
    const note = e.note ?? d.note;
    // Like the level, what a line breaks can only get worse: the derived break stays.
    const breaks = e.breaks ?? d.breaks;
    return { ...e, level, ...(note === undefined ? {} : { note }), ...(breaks === undefined ? {} : { breaks }) };
  });
  for (const d of derived.fidelity) if (!refined.has(key(d))) merged.push(d);
  const order = new Map(app.services.map((s, i) => [s.name, i]));
  const at = (e: FidelityEntry): number => (e.service === undefined ? -1 : order.get(e.service) ?? app.services.length);
  // Array.prototype.sort is stable: within a service, the backend's lines come first, in its order.
  merged.sort((a, b) => at(a) - at(b));
  return { diagnostics: [...derived.diagnostics, ...own.diagnostics], fidelity: merged };
}

/**
 * A target's full check report: what the sdk derives from the backend's
 * capabilities, merged with the backend's own `check()`. This is what `sdx
 * check`, `sdx plan` and `deploy` show and act on. Pure.
 */
export function checkTarget<T extends Target>(backend: Backend<T>, ctx: BackendContext<T>): CheckReport {
  return mergeCheckReports(ctx.app, fidelityFromCapabilities(ctx.app, ctx.target, backend), backend.check(ctx));
}

/**
 * How faithfully a target runs the app, in one word for the considered-options
 * table and `--json`:
 * - `refused`: its check has errors; it cannot run the app as written;
 * - `degraded`: it runs, but breaks something the app depends on (lines with
 *   `breaks`: persistent data, discovery by name, a public port);
 * - `approximated`: it runs the app, some fields approximated or dropped;
 * - `exact`: every field is carried exactly.
 * Counts are of fidelity lines; `breaks` lists each broken dependency once, in
 * the order first met.
 */
export type FidelityVerdict =
  | { readonly kind: "exact" }
  | { readonly kind: "approximated"; readonly approximated: number; readonly dropped: number }
  | {
      readonly kind: "degraded";
      readonly breaks: readonly FidelityBreak[];
      /** The lines that break them. */
      readonly entries: readonly FidelityEntry[];
      readonly approximated: number;
      readonly dropped: number;
    }
  | { readonly kind: "refused"; readonly errors: number };

/** The verdict of a target's full check report (see {@link FidelityVerdict}). Pure. */
export function fidelityVerdict(report: CheckReport): FidelityVerdict {
  const errors = report.diagnostics.filter((d) => d.severity === "error").length;
  if (errors > 0) return { kind: "refused", errors };
  const approximated = report.fidelity.filter((e) => e.level === "approximated").length;
  const dropped = report.fidelity.filter((e) => e.level === "dropped").length;
  // An "exact" line that claims a break is a contradiction; only lines that lose something count.
  const entries = report.fidelity.filter((e) => e.breaks !== undefined && e.level !== "exact");
  if (entries.length > 0) return { kind: "degraded", breaks: [...new Set(entries.map((e) => e.breaks!))], entries, approximated, dropped };
  return approximated + dropped > 0 ? { kind: "approximated", approximated, dropped } : { kind: "exact" };
}

const BREAK_NAMES: Record<FidelityBreak, string> = { "persistent-data": "persistent data", discovery: "discovery by name", "public-port": "public port" };

/** A dependency's name for people, e.g. "discovery by name". */
export function describeBreak(b: FidelityBreak): string {
  return BREAK_NAMES[b];
}
