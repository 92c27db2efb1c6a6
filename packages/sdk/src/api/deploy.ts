import type { BackendApplyResult } from "../backend/backend.js";
import { SdxError, toSdxError } from "../errors/sdx-error.js";
import { emit } from "../events/sdx-event.js";
import { hasChanges, hasUnconverged } from "../plan/plan.js";
import type { ChoosePolicy, EstimateReport } from "../pricing/pricing-contract.js";
import type { AppRevision } from "../revision/compute-revision.js";
import type { Diagnostic } from "../validation/diagnostic.js";
import { budgetExceededError, budgetUnpricedError, checkBudget, checkBudgetPriced } from "./check-budget.js";
import type { FidelityVerdict } from "../backend/fidelity-from-capabilities.js";
import { discoverPricing, planTarget, selectTargets, type OperationOptions, type SelectOptions, type TargetPlan } from "./plan.js";
import { prepareApp, type AppSource, type PreparedApp } from "./prepare-app.js";
import type { BuiltImage } from "../build/build-node-image.js";
import type { ImageStore } from "../image/image-source.js";
import type { BuildOptions, BuiltService, RegistryAccess } from "./build.js";
import { sdxServices } from "./sdx-services.js";

/** Options for {@link deploy}. */
export interface DeployOptions extends OperationOptions, SelectOptions {
  /** A target name or "cheapest". @default as for plan */
  readonly target?: string | "cheapest";
  /** Wait for rollouts and roll back failures. @default true */
  readonly wait?: boolean;
  /** Overrides every service's rollout timeout, in seconds. */
  readonly timeoutSeconds?: number;
  /** @default false */
  readonly forceConflicts?: boolean;
  readonly policy?: ChoosePolicy;
  /** Called with the plan (and the cost estimates) before anything changes; return false to cancel (the CLI's confirmation). */
  readonly confirm?: (plan: TargetPlan, estimates: EstimateReport | undefined, verdicts?: Readonly<Record<string, FidelityVerdict>>) => boolean | Promise<boolean>;
  /** Registry access for building, pushing and checking images. */
  readonly registry?: RegistryAccess;
  /** Options for building services that have `build`, as for `build()`. */
  readonly build?: Pick<BuildOptions, "cacheDir" | "sourceDateEpoch">;
  /**
   * Before changing anything, ask each image's registry whether its pinned digest
   * exists, and refuse with `SDX_IMAGE_NOT_FOUND` when a registry says it does not
   * (an unreachable registry only warns). @default true, unless SDX_RESOLVE_IMAGES=0
   */
  readonly verifyImages?: boolean;
}

/** How a deploy ended. `no-changes` means the live state already matched and every rollout had converged. */
export type DeployStatus = BackendApplyResult["status"] | "no-changes" | "cancelled";

/** Result of {@link deploy}. */
export interface DeployResult {
  readonly app: string;
  readonly revision: AppRevision;
  readonly target: string;
  readonly backend: string;
  /** Why this target was selected (for "cheapest": the chooser's reason). */
  readonly selection: string;
  readonly diagnostics: readonly Diagnostic[];
  readonly plan: TargetPlan;
  readonly status: DeployStatus;
  /** Absent when nothing was applied. */
  readonly apply?: BackendApplyResult;
  readonly estimates?: EstimateReport;
  /** Each considered target's fidelity verdict, as for `plan`; present whenever targets were priced. */
  readonly verdicts?: Readonly<Record<string, FidelityVerdict>>;
  /** The services built (and pushed) for this deploy. @default [] */
  readonly builds: readonly BuiltService[];
}

function verifyImagesWanted(options: DeployOptions, runtimeEnv: Readonly<Record<string, string | undefined>>): boolean {
  if (options.verifyImages !== undefined) return options.verifyImages;
  return ![options.env, runtimeEnv, process.env].some((e) => e?.SDX_RESOLVE_IMAGES === "0");
}

/**
 * Plans against the live target and applies it: action by action, then waits
 * for rollouts and rolls back failures. Nothing is changed when the app is
 * invalid, a secret is missing, or a foreign object is in the way. A plan
 * with no changes but unfinished rollouts still applies (the backend waits
 * for them). Once apply began it never throws: failures, aborts and wait
 * errors come back as `apply` with completed/failed/remaining and `error`.
 */
export async function deploy(app: AppSource, options: DeployOptions = {}): Promise<DeployResult> {
  const services = sdxServices(options);
  const prepared = await prepareApp(app, services, { secretsMissing: "error", ...(options.env ? { env: options.env } : {}), ...(options.baseDir ? { baseDir: options.baseDir } : {}), ...(options.allowOutside ? { allowOutside: options.allowOutside } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  let built: BuiltService[] = [];
  let p: PreparedApp = { ...prepared, app: await discoverPricing(prepared.app, services, { ...(options.signal ? { signal: options.signal } : {}), ...(options.onEvent ? { onEvent: options.onEvent } : {}) }) };
  const sel = await selectTargets(p, services, options.target, {
    offlinePrices: false, ...(options.policy ? { policy: options.policy } : {}), ...(options.signal ? { signal: options.signal } : {}),
    ...(options.allowDegraded ? { allowDegraded: true } : {}),
  });
  const target = sel.targets[0]!;
  emit(options.onEvent, { kind: "target-selected", target: target.name, backend: target.kind, reason: sel.reason });
  // Checked before planning against the backend: an over-budget deploy, or one whose budget cannot be checked, must change nothing.
  const unpriced = checkBudgetPriced(sel.estimates, target.name, options.policy);
  if (unpriced) throw budgetUnpricedError(unpriced);
  const over = checkBudget(sel.estimates, target.name, options.policy);
  if (over) throw budgetExceededError(over);
  // Built services are built first and deployed by digest (the revision follows the digest); what the
  // registry lacks is pushed only once the deploy is confirmed and its checks passed, right before applying.
  let pending: (() => Promise<BuiltService>)[] = [];
  // A backend that delivers images itself (over SSH, say) reads them from this machine: nothing is pushed for it.
  const delivered = (await services.registry.get(target.kind).catch(() => undefined))?.deliversImages?.(target) === true;
  let builtImages: BuiltImage[] = [];
  if (p.app.services.some((s) => s.build)) {
    const { buildImages, withBuiltImages } = await import("./build.js");
    const outcomes = await buildImages(p, target, {
      push: "defer", env: options.env ?? services.runtime.env,
      ...(delivered ? { delivered } : {}),
      ...(options.build?.cacheDir ? { cacheDir: options.build.cacheDir } : {}),
      ...(options.build?.sourceDateEpoch !== undefined ? { sourceDateEpoch: options.build.sourceDateEpoch } : {}),
      ...(options.registry ? { registry: options.registry } : {}),
      ...(options.allowOutside ? { allowOutside: options.allowOutside } : {}),
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    built = outcomes.flatMap((o) => (o.kind === "built" ? [o.built] : []));
    builtImages = outcomes.flatMap((o) => (o.kind === "built" ? [o.image] : []));
    pending = outcomes.flatMap((o) => (o.kind === "built" && o.push ? [o.push] : []));
    p = withBuiltImages(p, built);
  }
  if (verifyImagesWanted(options, services.runtime.env)) {
    const { verifyImages } = await import("./verify-images.js");
    // Images this deploy pushes are not in their registry yet, by design; delivered ones never are
    // (other images of a delivered target are still checked: this machine pulls them).
    const toPush = new Set(built.filter((b) => delivered || b.existed !== true).map((b) => b.image));
    await verifyImages(p.app, { ...(options.registry ? { registry: options.registry } : {}), env: options.env ?? services.runtime.env, ...(options.onEvent ? { onEvent: options.onEvent } : {}), ...(options.signal ? { signal: options.signal } : {}), target: target.name, skip: toPush });
  }
  const pushBuilt = async (): Promise<BuiltService[]> => {
    const pushed: BuiltService[] = [];
    for (const push of pending) pushed.push(await push());
    return pushed;
  };
  const images = delivered ? await imageStoreFor(builtImages, options, services.runtime.env) : undefined;
  const tp = await planTarget(p, target, services, {
    offline: false, fallback: false,
    ...(images ? { images } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.forceConflicts ? { forceConflicts: true } : {}),
  });
  const base: Omit<DeployResult, "status" | "apply"> & { builds: readonly BuiltService[] } = {
    app: p.app.name, revision: p.revision, target: target.name, backend: tp.backend, selection: sel.reason,
    diagnostics: p.diagnostics, plan: tp, ...(sel.estimates ? { estimates: sel.estimates } : {}), ...(sel.verdicts ? { verdicts: sel.verdicts } : {}), builds: built,
  };
  const blocking = [...tp.check.diagnostics, ...tp.plan.diagnostics].filter((d) => d.severity === "error");
  if (blocking.length > 0) {
    const first = blocking[0]!;
    // Keep backend codes (conflicts, rejections) so callers can switch on them.
    const code = first.code === "SDX_NOT_OWNED" || first.code.startsWith("SDX_BACKEND_") ? first.code : "SDX_VALIDATION";
    throw new SdxError(code, `${target.name}: ${first.message}`, {
      fault: first.code.startsWith("SDX_BACKEND_") ? "backend" : "user", ...(first.hint ? { hint: first.hint } : {}), details: { diagnostics: blocking },
    });
  }
  // Unfinished rollouts (an interrupted earlier deploy) are not "no changes": apply waits for them.
  // With nothing to change, what runs must still be in its registry (the next restart pulls it): push what is missing.
  if (!hasChanges(tp.plan) && !hasUnconverged(tp.plan)) return { ...base, builds: await pushBuilt(), status: "no-changes" };
  if (options.confirm && !(await options.confirm(tp, sel.estimates, sel.verdicts))) return { ...base, status: "cancelled" };
  // Pushed after the confirmation: a cancelled or refused deploy leaves no new images behind. A failed push throws: nothing was applied.
  if (pending.length > 0) base.builds = await pushBuilt();
  const backend = await services.registry.get(target.kind);
  let apply: BackendApplyResult;
  try {
    apply = await backend.apply({ app: p.app, target, revision: p.revision, secrets: p.secrets, baseDir: p.baseDir, ...(images ? { images } : {}) }, tp.plan, {
      wait: options.wait !== false,
      ...(options.timeoutSeconds === undefined ? {} : { timeoutSeconds: options.timeoutSeconds }),
      ...(options.forceConflicts ? { forceConflicts: true } : {}),
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (e) {
    apply = applyThrew(tp, e);
  }
  return { ...base, status: apply.status, apply };
}

/** The image store of a deploy to a target that delivers images: this run's builds, then this machine's registry access. */
async function imageStoreFor(builtImages: readonly BuiltImage[], options: DeployOptions, runtimeEnv: Readonly<Record<string, string | undefined>>): Promise<ImageStore> {
  const { registryClientFor } = await import("./build.js");
  const { defaultBuildCacheDir } = await import("../build/build-node-image.js");
  const { createLocalImageStore } = await import("../image/local-image-store.js");
  const env = options.env ?? runtimeEnv;
  return createLocalImageStore({
    built: builtImages,
    client: registryClientFor(options.registry, env, options.signal ? { signal: options.signal } : {}),
    cacheDir: options.build?.cacheDir ?? defaultBuildCacheDir({ ...process.env, ...env }),
  });
}

/**
 * A backend whose apply threw (a contract breach: it should return) may have
 * changed anything in the plan, so the caller gets a result, never an
 * exception after changes began: every change counts as remaining (not known
 * to be done), and a re-run re-plans from the live state.
 */
function applyThrew(tp: TargetPlan, e: unknown): BackendApplyResult {
  const err = toSdxError(e, "SDX_BACKEND_ERROR", "backend");
  return {
    status: err.code === "SDX_ABORTED" ? "aborted" : "failed",
    completed: [], failed: [],
    remaining: tp.plan.actions.filter((a) => a.kind !== "no-op"),
    rollouts: (tp.plan.unconverged ?? []).map((u) => ({ service: u.service, status: "not-waited" as const, desired: 0, ready: 0, reason: u.reason })),
    error: err.toJSON(),
  };
}
