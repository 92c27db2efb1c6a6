import type { SdxErrorData } from "../errors/sdx-error.js";
import type { Diagnostic } from "../validation/diagnostic.js";
import type { LiveResource, Resource, ResourceRef } from "./resource.js";

/** What happens to one object. */
export type ActionKind = "create" | "update" | "replace" | "delete" | "no-op";

/** One changed field. Values wrapped in `Redacted` print as `[redacted]`. */
export interface FieldChange {
  /** e.g. `spec.template.spec.containers[name=web].env[name=LOG_LEVEL].value` */
  readonly path: string;
  readonly before?: unknown;
  readonly after?: unknown;
}

/** One step of a plan. */
export interface PlannedAction {
  readonly kind: ActionKind;
  readonly resource: ResourceRef;
  readonly changes: readonly FieldChange[];
  /** Why a replace is needed, or other context. */
  readonly reason?: string;
  /** The desired object (absent for deletes). Not part of `--json` output. */
  readonly desired?: Resource;
  /** The live object (absent for creates). Not part of `--json` output. */
  readonly live?: LiveResource;
}

/** Counts by action kind. */
export interface PlanSummary {
  readonly create: number;
  readonly update: number;
  readonly replace: number;
  readonly delete: number;
  readonly noop: number;
}

/** What runs now for one service, read from live objects during a plan, for cost deltas. */
export interface DeployedService {
  readonly service: string;
  /** Desired replicas now (for autoscaled services, the current desired count). */
  readonly replicas: number;
  /** Requested per replica. */
  readonly cpuMillis: number;
  readonly memoryMiB: number;
}

/** A backend's plan for one target. */
export interface BackendPlan {
  readonly target: string;
  readonly backend: string;
  /** `live`: diffed against the backend. `render-only`: the backend was not contacted, so everything is a create. */
  readonly mode: "live" | "render-only";
  /** In execution order. */
  readonly actions: readonly PlannedAction[];
  readonly summary: PlanSummary;
  /** Plan-time findings: foreign objects in the way, conflicts, approximations. Errors block apply. */
  readonly diagnostics: readonly Diagnostic[];
  /** Why the backend could not be contacted, when `mode` fell back to render-only. */
  readonly unreachable?: SdxErrorData;
  /**
   * Sizing of the deployed revision, from the live objects the plan already read.
   * When present, `plan()` prices it against the new revision (Δ $/month per service).
   * @default undefined (no cost delta)
   */
  readonly deployed?: readonly DeployedService[];
  /**
   * Services whose live rollout has not converged on the desired revision
   * (a deploy interrupted during its wait, a rollout still in progress or
   * stuck). A plan without changes but with unconverged rollouts is not a
   * no-op: `deploy()` still calls `Backend.apply`, which waits for (and
   * reports) them, so a re-run after an interruption never exits 0 early.
   * @default [] (everything converged)
   */
  readonly unconverged?: readonly UnconvergedRollout[];
}

/** A service whose rollout the backend sees unfinished at plan time. */
export interface UnconvergedRollout {
  readonly service: string;
  /** The backend object that carries the rollout (Deployment, Swarm service, ECS service). */
  readonly resource: ResourceRef;
  /** What is unfinished, e.g. `1 of 3 tasks running`, `update paused`. */
  readonly reason: string;
}

/** Counts actions by kind. */
export function summarize(actions: readonly PlannedAction[]): PlanSummary {
  const s = { create: 0, update: 0, replace: 0, delete: 0, noop: 0 };
  for (const a of actions) {
    if (a.kind === "no-op") s.noop++;
    else s[a.kind]++;
  }
  return s;
}

/** True when the plan leaves rollouts to wait for even if no object changes. */
export function hasUnconverged(plan: Pick<BackendPlan, "unconverged">): boolean {
  return (plan.unconverged?.length ?? 0) > 0;
}

/** True when applying the plan would change anything. */
export function hasChanges(plan: Pick<BackendPlan, "summary">): boolean {
  const s = plan.summary;
  return s.create + s.update + s.replace + s.delete > 0;
}

/** The JSON shape of a plan: actions without their bodies. */
export function planToJson(plan: BackendPlan): Record<string, unknown> {
  return {
    target: plan.target,
    backend: plan.backend,
    mode: plan.mode,
    actions: plan.actions.map((a) => ({
      kind: a.kind,
      resource: { kind: a.resource.kind, name: a.resource.name, ...(a.resource.service ? { service: a.resource.service } : {}) },
      changes: a.changes,
      ...(a.reason ? { reason: a.reason } : {}),
    })),
    summary: plan.summary,
    diagnostics: plan.diagnostics,
    ...(plan.unreachable ? { unreachable: plan.unreachable } : {}),
    // Always present, so scripts can test `plan.unconverged.length` without a guard.
    unconverged: (plan.unconverged ?? []).map((u) => ({ service: u.service, resource: { kind: u.resource.kind, name: u.resource.name }, reason: u.reason })),
  };
}
