import type { AppRevision } from "../revision/compute-revision.js";
import type { Diagnostic } from "../validation/diagnostic.js";
import { plan, type OperationOptions, type TargetPlan, type TargetSelector } from "./plan.js";
import type { AppSource } from "./prepare-app.js";

/** Options for {@link check}. */
export interface CheckOptions extends OperationOptions {
  /** A target name, or every target. @default "all" */
  readonly target?: TargetSelector;
}

/** Result of {@link check}: each target's fidelity report and backend-specific problems. */
export interface CheckResult {
  readonly app: string;
  readonly revision: AppRevision;
  /** App-level diagnostics (validation warnings, unresolved secrets). */
  readonly diagnostics: readonly Diagnostic[];
  /** One per checked target, with its rendered (offline) plan. */
  readonly targets: readonly TargetPlan[];
}

/**
 * Which fields each target carries exactly, approximates or drops, and what its
 * backend refuses. Offline and unpriced: contacts no backend, asks no registry.
 */
export async function check(app: AppSource, options: CheckOptions = {}): Promise<CheckResult> {
  const r = await plan(app, { ...options, target: options.target ?? "all", offline: true, estimate: false });
  return { app: r.app, revision: r.revision, diagnostics: r.diagnostics, targets: r.plans };
}
