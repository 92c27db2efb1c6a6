// The JSON documents `sdx <command> --json` prints, built from the API's
// results. Pure: the CLI only serialises them. Their shapes are documented
// (README "JSON output") and tested; change them only on purpose.
import type { CheckResult } from "../api/check.js";
import type { DeployResult } from "../api/deploy.js";
import type { ImportFileResult } from "../api/import-file.js";
import type { PlanResult } from "../api/plan.js";
import type { LoadAppResult } from "../load/load-app.js";
import { planToJson } from "../plan/plan.js";
import { hasErrors } from "../validation/diagnostic.js";

/** `sdx validate --json`. */
export function validateJson(r: LoadAppResult): Record<string, unknown> {
  return { file: r.file, valid: !hasErrors(r.diagnostics), diagnostics: r.diagnostics };
}

/** `sdx plan --json`: the selected target's plan, every plan when several were made, and the estimates. */
export function planJson(r: PlanResult): Record<string, unknown> {
  const sel = r.plans[0]!;
  return {
    // Pricing warnings (stale prices, a failed estimate) belong with the app's, as in the human output.
    app: r.app, revision: r.revision.app, serviceRevisions: r.revision.services, diagnostics: [...r.diagnostics, ...(r.estimates?.diagnostics ?? [])],
    target: sel.target, backend: sel.backend, selection: r.selection, images: r.images, builds: r.builds,
    plan: planToJson(sel.plan), fidelity: sel.check.fidelity, checkDiagnostics: sel.check.diagnostics,
    ...(sel.costDelta ? { costDelta: sel.costDelta } : {}),
    ...(r.plans.length > 1 ? { plans: r.plans.map((p) => ({ ...planToJson(p.plan), fidelity: p.check.fidelity })) } : {}),
    ...(r.estimates ? { estimates: r.estimates.estimates, chosen: r.estimates.chosen ?? null, rejected: r.estimates.rejected } : {}),
    // Target → fidelity verdict (exact, approximated, degraded with what it breaks, refused): what "cheapest" acted on.
    ...(r.verdicts ? { verdicts: r.verdicts } : {}),
  };
}

/** `sdx check --json`. */
export function checkJson(r: CheckResult): Record<string, unknown> {
  return { app: r.app, revision: r.revision.app, targets: r.targets.map((p) => ({ target: p.target, backend: p.backend, diagnostics: p.check.diagnostics, fidelity: p.check.fidelity })) };
}

/** `sdx deploy --json`: what was applied, what failed or remains, and the rollouts. */
export function deployJson(r: DeployResult): Record<string, unknown> {
  const a = r.apply;
  return {
    app: r.app, revision: r.revision.app, target: r.target, backend: r.backend, selection: r.selection, status: r.status,
    builds: r.builds.map((b) => ({ service: b.service, image: b.image, platform: b.platform, existed: b.existed ?? null, push: b.push ?? null })),
    apply: a
      ? {
          status: a.status,
          completed: a.completed.map((x) => ({ kind: x.kind, resource: x.resource })),
          failed: a.failed.map((f) => ({ kind: f.action.kind, resource: f.action.resource, error: f.error })),
          remaining: a.remaining.map((x) => ({ kind: x.kind, resource: x.resource })),
          rollouts: a.rollouts,
          error: a.error,
        }
      : null,
  };
}

/**
 * `sdx import --json`. The template is what sdx.yaml holds (references, no
 * secret values). `out` is given when a file is (or would have been) written.
 */
export function importJson(r: ImportFileResult, withOut: boolean): Record<string, unknown> {
  return { source: r.source, format: r.format ?? null, ok: r.ok, document: r.template, report: r.report, diagnostics: r.diagnostics, ...(withOut ? { out: r.out } : {}) };
}
