import type { Container } from "inversify";
import type { Backend, Billables, CheckReport, CostModel, TargetKindSpec } from "../backend/backend.js";
import { checkTarget, describeBreak, fidelityFromCapabilities, fidelityVerdict, mergeCheckReports, type FidelityVerdict } from "../backend/fidelity-from-capabilities.js";
import { SdxError, isSdxError, toSdxError, type SdxErrorData } from "../errors/sdx-error.js";
import type { BuildOptions, RegistryAccess } from "./build.js";
import type { BuiltImage } from "../build/build-node-image.js";
import type { ImageStore } from "../image/image-source.js";
import { emit, type EventListener } from "../events/sdx-event.js";
import type { Target, PricingProfile } from "../model/app.js";
import { summarize, type BackendPlan } from "../plan/plan.js";
import type { ChoosePolicy, CostEstimator, EstimateReport, RejectedCandidate } from "../pricing/pricing-contract.js";
import { diffEstimates, type ServiceCostDelta } from "../pricing/diff-estimates.js";
import type { App, Service } from "../model/app.js";
import type { DeployedService } from "../plan/plan.js";
import { resolveImageDigests, toCredentialResolver, type ResolvedDigest, type ResolveImageDigestOptions } from "../image/resolve-image-digest.js";
import type { AppRevision } from "../revision/compute-revision.js";
import type { Diagnostic } from "../validation/diagnostic.js";
import { maskPlan } from "../secrets/sensitive-values.js";
import { assertSizeLimits, contextFor, findTarget, prepareApp, renderTarget, type AppSource, type PreparedApp } from "./prepare-app.js";
import { resolveBillables, resolveCostModels } from "./cost-models.js";
import { repositoryFor } from "./repository-for.js";
import { sdxServices, type SdxServices, type SdxSession } from "./sdx-services.js";

/** Options shared by every API operation. */
export interface OperationOptions {
  /** A container with extra or replacement backends and price sources. @default a container with the built-ins */
  readonly container?: Container;
  /** The session to run in (`createSdx()`): its backends, price sources and plugins. Wins over `container`. @default the default session (built-ins) */
  readonly session?: SdxSession;
  readonly onEvent?: EventListener;
  readonly signal?: AbortSignal;
  /** Environment for interpolation and `fromEnv` secrets. @default the container runtime's (process.env) */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Base directory when `app` is an {@link App} object. @default process.cwd() */
  readonly baseDir?: string;
  /**
   * Directories outside the app file's directory that file paths (`fromFile`,
   * `env_file`, ...) may read from, absolute or relative to the app file's
   * directory; the CLI's `--allow-outside`. Anything else outside is refused
   * with `SDX_PATH_OUTSIDE_APP`; /proc, /sys and /dev always are.
   * @default []
   */
  readonly allowOutside?: readonly string[];
}

/** Which target(s) to plan: a name, the cheapest by estimate, or all of them. */
export type TargetSelector = string | "cheapest" | "all";

/** Options of choosing a target, shared by {@link plan} and `deploy`. */
export interface SelectOptions {
  /**
   * Let `cheapest` choose a target that would break something the app depends
   * on (its fidelity verdict is `degraded`: name discovery, a public port,
   * persistent data dropped or approximated); the CLI's `--allow-degraded`.
   * A target that cannot run the app at all (check errors) is never chosen.
   * @default false
   */
  readonly allowDegraded?: boolean;
}

/** Options for {@link plan}. */
export interface PlanOptions extends OperationOptions, SelectOptions {
  /** @default the app's defaultTarget, else "cheapest" when pricing is available and there are several targets, else the first target */
  readonly target?: TargetSelector;
  /** Render only; contact no backend. @default false */
  readonly offline?: boolean;
  /** Price the targets. @default true when an estimator is registered */
  readonly estimate?: boolean;
  /** Use only embedded prices. @default the value of `offline` */
  readonly offlinePrices?: boolean;
  readonly policy?: ChoosePolicy;
  /** @default false */
  readonly forceConflicts?: boolean;
  /** Ask registries what each image tag points at. @default true, unless offline or SDX_RESOLVE_IMAGES=0 */
  readonly resolveImages?: boolean;
  /** Registry access for image resolution (credentials, insecure hosts, an injected fetch). */
  readonly registry?: Pick<ResolveImageDigestOptions, "fetch" | "credentials" | "insecureHosts" | "timeoutMs">;
  /**
   * Build the services that have `build` (without pushing) to show their digest
   * and whether the registry has it already. @default true, unless offline
   */
  readonly build?: boolean;
  /** Options for building, as for `build()`. */
  readonly buildOptions?: Pick<BuildOptions, "cacheDir" | "sourceDateEpoch" | "registry">;
}

/** A built service as the plan saw it. */
export interface PlannedBuild {
  readonly service: string;
  readonly target?: string;
  /** Where it is pushed, when known. */
  readonly repository?: string;
  /** `repository@sha256:…` when built. */
  readonly image?: string;
  readonly digest?: string;
  /**
   * `new`: this digest is not in the registry yet (a deploy uploads and rolls it);
   * `unchanged`: the registry has it (nothing to upload);
   * `built`: built, but the registry could not be asked, or the target delivers images itself (see `reason`);
   * `not-built`: offline, or the build failed (see `reason`).
   */
  readonly status: "new" | "unchanged" | "built" | "not-built";
  readonly reason?: string;
  readonly error?: SdxErrorData;
}

/** One target's plan with its check report. */
export interface TargetPlan {
  readonly target: string;
  /** The backend's target kind, e.g. `kubernetes`. */
  readonly backend: string;
  /** The backend's name for people, e.g. `Kubernetes`. */
  readonly displayName: string;
  readonly plan: BackendPlan;
  /** The backend's check merged with what the sdk derives from its capabilities. */
  readonly check: CheckReport;
  /** Δ $/month per service between the deployed revision and this one; only for live plans with pricing. */
  readonly costDelta?: readonly ServiceCostDelta[];
}

/** A service's image as the plan saw it: pinned, resolved to a digest by its registry, or not resolved (and why). */
export interface PlannedImage {
  readonly service: string;
  readonly ref: string;
  readonly digest?: string;
  readonly status: ResolvedDigest["kind"];
  /** Why it could not be resolved. */
  readonly reason?: string;
}

/** Result of {@link plan}. */
export interface PlanResult {
  readonly app: string;
  readonly revision: AppRevision;
  /** App-level diagnostics (validation warnings, unresolved secrets). */
  readonly diagnostics: readonly Diagnostic[];
  /** The selected target (the first when several were planned). */
  readonly target: string;
  /** Plans in selection order; `plans[0]` is the selected target's. */
  readonly plans: readonly TargetPlan[];
  readonly estimates?: EstimateReport;
  /** Why this target was selected. */
  readonly selection: string;
  /** Each service's image; tags are resolved to digests unless the plan is offline. */
  readonly images: readonly PlannedImage[];
  /** Target kind → the backend's display name, for every kind planned or priced (tables name backends with it). */
  readonly backendNames: Readonly<Record<string, string>>;
  /** Services built from source, per planned target. @default [] */
  readonly builds: readonly PlannedBuild[];
  /**
   * Each considered target's fidelity verdict (target name → verdict), from its
   * full check; present whenever targets were priced. A target whose backend
   * could not be loaded has none.
   */
  readonly verdicts?: Readonly<Record<string, FidelityVerdict>>;
}

/** The selected target's plan. */
export function selectedPlan(result: PlanResult): TargetPlan {
  return result.plans[0]!;
}

interface Selection {
  readonly targets: Target[];
  readonly reason: string;
  readonly estimates?: EstimateReport;
  readonly verdicts?: Readonly<Record<string, FidelityVerdict>>;
}

/** Guesses the cloud from instance type names, for clusters whose nodes do not say (no providerID). */
function providerFromTypes(types: readonly string[]): PricingProfile["provider"] | undefined {
  if (types.length === 0) return undefined;
  if (types.every((t) => /^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(t))) return "aws"; // m6i.large
  if (types.every((t) => /^Standard_/.test(t))) return "azure"; // Standard_D4s_v5
  if (types.every((t) => /^[a-z][a-z0-9]*-[a-z]+(-\d+)?$/.test(t))) return "gcp"; // n2-standard-4
  return undefined;
}

/**
 * Fills gaps in targets' pricing profiles from what their backends can see
 * (node labels on Kubernetes). Stated fields win. Quick and best-effort: an
 * unreachable backend just keeps the profile as written.
 */
export async function discoverPricing(app: App, services: SdxServices, opts: { signal?: AbortSignal; onEvent?: EventListener }): Promise<App> {
  const targets = await Promise.all(app.targets.map(async (t): Promise<Target> => {
    if (t.pricing && t.pricing.nodeTypes.length > 0) return t;
    const backend = await services.registry.get(t.kind).catch(() => undefined);
    if (!backend?.discoverPricing) return t;
    try {
      const signal = opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(3000)]) : AbortSignal.timeout(3000);
      const found = await backend.discoverPricing({ appName: app.name, target: t }, { signal });
      const nodeTypes = t.pricing?.nodeTypes.length ? t.pricing.nodeTypes : found.nodeTypes ?? [];
      const provider = t.pricing?.provider ?? found.provider ?? providerFromTypes(nodeTypes);
      const region = t.pricing?.region ?? found.region;
      if (!provider || !region || nodeTypes.length === 0) return t;
      const pricing: PricingProfile = {
        provider, region, nodeTypes,
        spot: t.pricing?.spot ?? found.spot ?? false,
        dedicatedCluster: t.pricing?.dedicatedCluster ?? false,
        controlPlane: t.pricing?.controlPlane ?? found.controlPlane ?? "none",
      };
      emit(opts.onEvent, { kind: "log", target: t.name, level: "info", message: `${t.name}: pricing from its nodes: ${provider} ${region}, ${nodeTypes.join(", ")}${pricing.spot ? " (spot available)" : ""}` });
      return { ...t, pricing };
    } catch {
      return t;
    }
  }));
  return { ...app, targets };
}

/** Picks targets and, when pricing is available, estimates their cost. */
export async function selectTargets(
  p: PreparedApp, services: SdxServices, selector: TargetSelector | undefined,
  opts: SelectOptions & { estimate?: boolean; offlinePrices: boolean; policy?: ChoosePolicy; signal?: AbortSignal },
): Promise<Selection> {
  const app = p.app;
  if (app.targets.length === 0) {
    throw new SdxError("SDX_UNKNOWN_TARGET", `app "${app.name}" has no targets`, { fault: "user", hint: "Add one under `targets:`, e.g. `local: { kind: swarm }`." });
  }
  const estimator = opts.estimate === false ? undefined : await services.estimator().catch(() => undefined);
  const asked = selector ?? app.defaultTarget;
  // Every priced target gets its fidelity verdict (the table shows it). For "cheapest", a target whose check
  // refuses the app (an error) cannot run it as written: never a candidate. One that breaks what the app
  // depends on runs it differently: a candidate only when degraded targets are allowed.
  const choosing = asked === "cheapest" || (asked === undefined && estimator !== undefined && app.targets.length > 1);
  const verdicts = choosing || estimator ? await targetVerdicts(p, services) : undefined;
  const refused = choosing ? refusals(app.targets, verdicts!, opts.allowDegraded === true) : [];
  const candidates = app.targets.filter((t) => !refused.some((r) => r.target === t.name));
  let estimates: EstimateReport | undefined;
  if (estimator) {
    try {
      const [costModels, billables] = await Promise.all([resolveCostModels(candidates, services.registry), resolveBillables(app, candidates, services.registry)]);
      const report = candidates.length === 0 ? { estimates: [], rejected: [], diagnostics: [] } : await estimator.estimate(app, {
        offline: opts.offlinePrices,
        costModels,
        billables,
        ...(refused.length > 0 ? { targets: candidates } : {}),
        ...(opts.policy ? { policy: opts.policy } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      estimates = refused.length > 0 ? { ...report, rejected: [...refused, ...report.rejected] } : report;
    } catch (e) {
      // Pricing must never block a plan; the reason is shown instead of the table.
      estimates = { estimates: [], rejected: refused, diagnostics: [{ code: "SDX_PRICING", severity: "warning", path: "", message: `pricing failed: ${toSdxError(e).message}` }] };
    }
  }
  const sel = asked ?? (estimates && app.targets.length > 1 ? "cheapest" : undefined);
  const known = verdicts ? { verdicts: Object.fromEntries([...verdicts].map(([t, v]) => [t, v.verdict])) } : {};
  if (sel === "all") return { targets: [...app.targets], reason: "all targets requested", ...(estimates ? { estimates } : {}), ...known };
  if (sel === "cheapest") {
    if (!estimator) {
      throw new SdxError("SDX_NO_CANDIDATE", "cannot pick the cheapest target: no price estimator is available", {
        fault: "user", hint: "Install @sdx/pricing, or name a target with --target.",
      });
    }
    if (!estimates?.chosen) {
      const why = estimates?.rejected.map((r) => `${r.target}: ${r.reason}`).join("; ") ?? "";
      throw new SdxError("SDX_NO_CANDIDATE", `no target satisfies the pricing policy${why ? ` (${why})` : ""}`, {
        fault: "user", hint: "Relax the policy (budget, regions, spot) or add a pricing profile to more targets.", details: { rejected: estimates?.rejected ?? [] },
      });
    }
    return { targets: [findTarget(app, estimates.chosen)], reason: estimates.reason ?? `cheapest: ${estimates.chosen}`, estimates, ...known };
  }
  if (sel !== undefined) {
    return { targets: [findTarget(app, sel)], reason: sel === app.defaultTarget && selector === undefined ? "the app's defaultTarget" : "requested by name", ...(estimates ? { estimates } : {}), ...known };
  }
  return { targets: [app.targets[0]!], reason: "the app's first target (name one with --target)", ...(estimates ? { estimates } : {}), ...known };
}

/** A target's full check (capabilities and the backend's own) and the verdict it gives. */
interface TargetVerdict {
  readonly displayName: string;
  readonly report: CheckReport;
  readonly verdict: FidelityVerdict;
}

/**
 * Each target's full check report and fidelity verdict, by target name. The
 * check is the kind's spec's when it declares one (no backend is loaded),
 * else the loaded backend's; a kind nobody registered, or whose backend does
 * not load, is reported by validation and when planned, and gets no verdict.
 */
async function targetVerdicts(p: PreparedApp, services: SdxServices): Promise<Map<string, TargetVerdict>> {
  const out = new Map<string, TargetVerdict>();
  const specs = await services.registry.targetKinds().catch(() => new Map<string, TargetKindSpec>());
  for (const t of p.app.targets) {
    const spec = specs.get(t.kind);
    const facts = spec?.capabilities && spec.displayName ? { kind: t.kind, displayName: spec.displayName, capabilities: spec.capabilities } : undefined;
    const declared: Pick<Backend, "kind" | "displayName" | "capabilities"> & Partial<Pick<Backend, "check">> | undefined = facts && spec?.check
      ? { ...facts, check: (ctx) => spec.check!(ctx) }
      // A backend that does not load still has its declared capabilities: what they refuse stays refused.
      : (await services.registry.get(t.kind).catch(() => undefined)) ?? facts;
    if (!declared) continue;
    const derived = fidelityFromCapabilities(p.app, t, declared);
    const report = declared.check ? mergeCheckReports(p.app, derived, declared.check(contextFor(p, t))) : derived;
    out.set(t.name, { displayName: declared.displayName, report, verdict: fidelityVerdict(report) });
  }
  return out;
}

/**
 * The targets "cheapest" may not choose, each with the reason the table
 * shows: those whose check has errors (they cannot run the app as written),
 * and, unless `allowDegraded`, those that break what the app depends on.
 */
function refusals(targets: readonly Target[], verdicts: ReadonlyMap<string, TargetVerdict>, allowDegraded: boolean): RejectedCandidate[] {
  const out: RejectedCandidate[] = [];
  for (const t of targets) {
    const v = verdicts.get(t.name);
    if (!v) continue;
    const where = (path: string | undefined, message: string | undefined, n: number): string => `${path ? `${path}: ` : ""}${message ?? ""}${n > 1 ? ` (and ${n - 1} more)` : ""}`;
    if (v.verdict.kind === "refused") {
      const errors = v.report.diagnostics.filter((d) => d.severity === "error");
      out.push({ target: t.name, reason: `cannot run the app as written on ${v.displayName}: ${where(errors[0]?.path, errors[0]?.message, errors.length)}` });
    } else if (v.verdict.kind === "degraded" && !allowDegraded) {
      const { entries } = v.verdict;
      // Each broken dependency with its first line: the reason says what would stop working, and where.
      const what = v.verdict.breaks.map((b) => {
        const lines = entries.filter((e) => e.breaks === b);
        const first = lines[0]!;
        return `${describeBreak(b)} (${where(`${first.service ? `services.${first.service}.` : ""}${first.field}`, first.note ?? first.level, lines.length)})`;
      });
      out.push({ target: t.name, reason: `would break what the app depends on on ${v.displayName}: ${what.join("; ")}; --allow-degraded (API: allowDegraded) lets it be chosen` });
    }
  }
  return out;
}

/** Plans one target: check, render with overrides, and diff against live state unless offline. */
export async function planTarget(
  p: PreparedApp, target: Target, services: SdxServices,
  opts: { offline: boolean; fallback: boolean; onEvent?: EventListener; signal?: AbortSignal; forceConflicts?: boolean; images?: ImageStore },
): Promise<TargetPlan> {
  const backend = await services.registry.get(target.kind);
  assertSizeLimits(p, target, backend);
  // Only a backend that delivers images gets the store (see Backend.deliversImages).
  const ctx = opts.images && backend.deliversImages?.(target) === true ? { ...contextFor(p, target), images: opts.images } : contextFor(p, target);
  const check = checkTarget(backend, ctx);
  const desired = renderTarget(backend, ctx);
  const renderOnly = (unreachable?: SdxError): BackendPlan => {
    const actions = desired.map((d) => ({ kind: "create" as const, resource: { kind: d.kind, name: d.name, ...(d.service ? { service: d.service } : {}) }, changes: [], desired: d }));
    return { target: target.name, backend: backend.kind, mode: "render-only", actions, summary: summarize(actions), diagnostics: [], ...(unreachable ? { unreachable: unreachable.toJSON() } : {}) };
  };
  let plan: BackendPlan;
  if (opts.offline) plan = renderOnly();
  else {
    try {
      plan = await backend.plan(ctx, desired, {
        ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.forceConflicts ? { forceConflicts: true } : {}),
      });
    } catch (e) {
      // Unreachable or no credentials: show what would be created instead of failing the preview.
      if (!opts.fallback || !isSdxError(e) || (e.code !== "SDX_BACKEND_UNREACHABLE" && e.code !== "SDX_BACKEND_AUTH")) throw e;
      emit(opts.onEvent, { kind: "target-unreachable", target: target.name, error: e.toJSON() });
      plan = renderOnly(e);
    }
  }
  // The sdk names the plan's target and backend and counts its actions: a backend's own values cannot disagree with the plan it returned.
  plan = { ...plan, target: target.name, backend: backend.kind, summary: summarize(plan.actions) };
  // Live values reach the plan's field changes as they are: mask what is secret before anyone prints it.
  if (p.sensitive?.length || plan.actions.some((a) => a.changes.length > 0)) plan = maskPlan(plan, p.sensitive ?? []);
  emit(opts.onEvent, { kind: "plan-ready", target: target.name, summary: plan.summary, mode: plan.mode });
  return { target: target.name, backend: backend.kind, displayName: backend.displayName, plan, check };
}

/**
 * Previews what a deploy would do: cost per target, and the changes on the
 * selected target. Without `offline` it contacts the targets; an unreachable
 * target falls back to a render-only plan (everything a create) and says so.
 */
export async function plan(app: AppSource, options: PlanOptions = {}): Promise<PlanResult> {
  const services = sdxServices(options);
  const prepared = await prepareApp(app, services, { secretsMissing: "warning", ...(options.env ? { env: options.env } : {}), ...(options.baseDir ? { baseDir: options.baseDir } : {}), ...(options.allowOutside ? { allowOutside: options.allowOutside } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  const p = options.offline || options.estimate === false ? prepared : { ...prepared, app: await discoverPricing(prepared.app, services, { ...(options.signal ? { signal: options.signal } : {}), ...(options.onEvent ? { onEvent: options.onEvent } : {}) }) };
  const sel = await selectTargets(p, services, options.target, {
    ...(options.estimate === undefined ? {} : { estimate: options.estimate }),
    offlinePrices: options.offlinePrices ?? options.offline ?? false,
    ...(options.policy ? { policy: options.policy } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.allowDegraded ? { allowDegraded: true } : {}),
  });
  emit(options.onEvent, { kind: "target-selected", target: sel.targets[0]!.name, backend: sel.targets[0]!.kind, reason: sel.reason });
  // Registries are asked while the targets are planned; an offline plan asks nothing.
  const resolve = options.resolveImages ?? (!options.offline && ![options.env, services.runtime.env, process.env].some((e) => e?.SDX_RESOLVE_IMAGES === "0"));
  const images = resolveImages(p.app, resolve, options);
  const plans: TargetPlan[] = [];
  const builds: PlannedBuild[] = [];
  let revision = p.revision;
  const estimator = sel.estimates ? await services.estimator().catch(() => undefined) : undefined;
  for (const t of sel.targets) {
    // Built services run what their source builds to: the plan builds it (no push) so the diff shows the digest.
    // Not gated by SDX_RESOLVE_IMAGES: an air-gapped registry serves bases too, and only a build tells the digest.
    const delivered = (await services.registry.get(t.kind).catch(() => undefined))?.deliversImages?.(t) === true;
    const built = p.app.services.some((s) => s.build) ? await planBuilds(p, t, options, services.runtime.env, delivered) : undefined;
    const pt = built?.prepared ?? p;
    if (built) builds.push(...built.builds);
    if (plans.length === 0) revision = pt.revision;
    const images = delivered && !options.offline ? await planImageStore(built?.images ?? [], options, services.runtime.env) : undefined;
    const tp = await planTarget(pt, t, services, {
      offline: options.offline === true, fallback: true,
      ...(images ? { images } : {}),
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.forceConflicts ? { forceConflicts: true } : {}),
    });
    const costDelta = estimator && tp.plan.deployed ? await costDeltaFor(estimator, p.app, t, tp.plan.deployed, sel.estimates, {
      ...options, costModels: await resolveCostModels([t], services.registry), billablesOf: (a) => resolveBillables(a, [t], services.registry),
    }) : undefined;
    plans.push(costDelta ? { ...tp, costDelta } : tp);
  }
  const backendNames: Record<string, string> = Object.fromEntries(plans.map((tp) => [tp.backend, tp.displayName]));
  const kinds = await services.registry.targetKinds().catch(() => new Map<string, TargetKindSpec>());
  for (const e of sel.estimates?.estimates ?? []) {
    if (backendNames[e.backend] === undefined) {
      // The spec's name first: the cost table must not load backends it does not plan.
      const b = kinds.get(e.backend)?.displayName ?? (await services.registry.get(e.backend).catch(() => undefined))?.displayName;
      if (b) backendNames[e.backend] = b;
    }
  }
  return {
    app: p.app.name, revision, diagnostics: p.diagnostics, target: plans[0]!.target, plans,
    selection: sel.reason, ...(sel.estimates ? { estimates: sel.estimates } : {}), images: await images, backendNames, builds,
    ...(sel.verdicts ? { verdicts: sel.verdicts } : {}),
  };
}

/** Seconds a credential helper may take in a preview (plan): a helper that prompts fails the look-up, not the plan. */
const PREVIEW_HELPER_TIMEOUT_MS = 5000;

/** Registry access for a plan's builds: the build options' own, else the plan's (credentials made async), else the defaults with a short helper deadline. */
async function previewRegistryAccess(options: PlanOptions, env: Readonly<Record<string, string | undefined>>): Promise<RegistryAccess> {
  const given = options.buildOptions?.registry ?? options.registry ?? {};
  const credentials = given.credentials
    ? toCredentialResolver(given.credentials)
    : (await import("../image/registry-credentials.js")).defaultCredentialResolver({ env, dockerConfig: { helperTimeoutMs: PREVIEW_HELPER_TIMEOUT_MS } });
  return {
    ...(given.fetch ? { fetch: given.fetch } : {}),
    ...(given.insecureHosts ? { insecureHosts: given.insecureHosts } : {}),
    credentials,
  };
}

/** Builds a target's services without pushing; a failure is reported, never thrown (a plan is a preview). */
async function planBuilds(
  p: PreparedApp, t: Target, options: PlanOptions, runtimeEnv: Readonly<Record<string, string | undefined>>, delivered: boolean,
): Promise<{ prepared: PreparedApp; builds: PlannedBuild[]; images: BuiltImage[] }> {
  const buildable = p.app.services.filter((s) => s.build);
  if (options.offline || options.build === false) {
    const reason = options.offline ? "offline: the base image is not fetched" : "building was turned off (build: false)";
    const where = (s: Service): string | undefined => { try { return repositoryFor(p.app, s, s.build!, t, { delivered }); } catch { return undefined; } };
    return { prepared: p, images: [], builds: buildable.map((s) => ({ service: s.name, target: t.name, ...(where(s) ? { repository: where(s)! } : {}), status: "not-built" as const, reason })) };
  }
  // Loaded only for apps that build: plain plans keep their start-up time.
  const { buildImages, withBuiltImages } = await import("./build.js");
  const outcomes = await buildImages(p, t, {
    push: false, keepGoing: true,
    ...(delivered ? { delivered } : {}),
    // A preview must not hang on a registry: short deadlines, one retry.
    requestTimeoutMs: 10_000, retries: 1,
    env: options.env ?? runtimeEnv,
    ...(options.buildOptions?.cacheDir ? { cacheDir: options.buildOptions.cacheDir } : {}),
    ...(options.buildOptions?.sourceDateEpoch !== undefined ? { sourceDateEpoch: options.buildOptions.sourceDateEpoch } : {}),
    registry: await previewRegistryAccess(options, options.env ?? runtimeEnv),
    ...(options.allowOutside ? { allowOutside: options.allowOutside } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const builds: PlannedBuild[] = outcomes.map((o) => o.kind === "built"
    ? {
        service: o.built.service, target: t.name, repository: o.built.repository, image: o.built.image, digest: o.built.digest,
        status: o.built.existed === undefined ? "built" : o.built.existed ? "unchanged" : "new",
        ...(delivered ? { reason: "the target's backend delivers it from this machine (no registry)" } : {}),
      }
    : { service: o.service, target: t.name, ...(o.repository ? { repository: o.repository } : {}), status: "not-built", reason: o.error.message, error: o.error.toJSON() });
  return {
    prepared: withBuiltImages(p, outcomes.flatMap((o) => (o.kind === "built" ? [o.built] : []))), builds,
    images: outcomes.flatMap((o) => (o.kind === "built" ? [o.image] : [])),
  };
}

/** The image store a plan gives a backend that delivers images: the plan's builds, then this machine's registry access. */
async function planImageStore(images: readonly BuiltImage[], options: PlanOptions, runtimeEnv: Readonly<Record<string, string | undefined>>): Promise<ImageStore> {
  const env = options.env ?? runtimeEnv;
  const [{ registryClientFor }, { defaultBuildCacheDir }, { createLocalImageStore }] = await Promise.all([
    import("./build.js"), import("../build/build-node-image.js"), import("../image/local-image-store.js"),
  ]);
  return createLocalImageStore({
    built: images,
    client: registryClientFor(await previewRegistryAccess(options, env), env, { requestTimeoutMs: 10_000, retries: 1, ...(options.signal ? { signal: options.signal } : {}) }),
    cacheDir: options.buildOptions?.cacheDir ?? defaultBuildCacheDir({ ...process.env, ...env }),
  });
}

/** What each service's image tag points at now, so the plan shows the digest a deploy would run. */
async function resolveImages(app: App, resolve: boolean, options: PlanOptions): Promise<PlannedImage[]> {
  // A built service's image is not a tag to look up: it is what its source builds to (see `builds`).
  const built = app.services.filter((s) => s.build).map((s) => ({ service: s.name, ref: s.image.ref, status: "unresolved" as const, reason: "built from source by sdx (see builds)" }));
  const services = app.services.filter((s) => !s.build);
  if (built.length > 0) {
    const rest = await resolveImages({ ...app, services }, resolve, options);
    return app.services.map((s) => (s.build ? built.find((b) => b.service === s.name)! : rest.find((r) => r.service === s.name)!));
  }
  if (!resolve) {
    return services.map((s) => ({ service: s.name, ref: s.image.ref, status: s.image.digest ? "pinned" : "unresolved", ...(s.image.digest ? { digest: s.image.digest } : { reason: "offline" }) }));
  }
  // The credentials builds use (SDX_REGISTRY_*, ~/.docker/config.json, ECR) unless the caller gives its own: private images resolve too.
  // A credential helper that prompts (pass, GPG) must not hold a preview up for its default minute.
  const credentials = options.registry?.credentials ?? (await import("../image/registry-credentials.js")).defaultCredentialResolver({ env: options.env ?? process.env, dockerConfig: { helperTimeoutMs: PREVIEW_HELPER_TIMEOUT_MS } });
  const found = await resolveImageDigests(services.map((s) => s.image), { ...options.registry, credentials, ...(options.signal ? { signal: options.signal } : {}) }).catch(() => undefined);
  return services.map((s, i) => {
    const r = found?.[i];
    if (!r) return { service: s.name, ref: s.image.ref, status: "unresolved" as const, reason: "not asked" };
    return r.kind === "unresolved"
      ? { service: s.name, ref: s.image.ref, status: r.kind, reason: r.reason }
      : { service: s.name, ref: s.image.ref, status: r.kind, digest: r.digest };
  });
}

/** A service standing for one that is deployed but no longer in the app, so its cost can be priced (on-demand, as its placement is unknown). */
function removedService(d: DeployedService): Service {
  return {
    name: d.service, image: { ref: "deployed", repository: "deployed" }, env: {}, secrets: [], files: [], ports: [], volumes: [], labels: {},
    placement: { spot: "never", minOnDemand: 0, arch: "amd64", constraints: {} },
    rollout: { strategy: "rolling", maxSurge: 1, maxUnavailable: 0, autoRollback: true, timeoutSeconds: 600 },
    resources: { cpuMillis: d.cpuMillis, memoryMiB: d.memoryMiB }, scale: { kind: "fixed", replicas: d.replicas },
  };
}

/** The app as it runs now: the new model's placement, with the deployed replicas and sizes. */
export function deployedApp(app: App, deployed: readonly DeployedService[]): App {
  const now = new Map(deployed.map((d) => [d.service, d]));
  const services: Service[] = [];
  for (const s of app.services) {
    const d = now.get(s.name);
    if (d) services.push({ ...s, scale: { kind: "fixed", replicas: d.replicas }, resources: { ...s.resources, cpuMillis: d.cpuMillis, memoryMiB: d.memoryMiB } });
  }
  for (const d of deployed) if (!app.services.some((s) => s.name === d.service)) services.push(removedService(d));
  return { ...app, services };
}

async function costDeltaFor(
  estimator: CostEstimator, app: App, target: Target, deployed: readonly DeployedService[], report: EstimateReport | undefined,
  // Billables follow the app (replicas, volumes, usage), so the deployed revision's are its own.
  options: PlanOptions & { costModels: ReadonlyMap<string, CostModel>; billablesOf: (app: App) => Promise<ReadonlyMap<string, Billables>> },
): Promise<readonly ServiceCostDelta[] | undefined> {
  try {
    const offline = options.offlinePrices ?? options.offline ?? false;
    const { costModels } = options;
    const after = report?.estimates.find((e) => e.target === target.name)
      ?? (await estimator.estimate(app, { targets: [target], offline, costModels, billables: await options.billablesOf(app) })).estimates[0];
    if (deployed.length === 0) return undefined;
    const was = deployedApp(app, deployed);
    const before = (await estimator.estimate(was, { targets: [target], offline, costModels, billables: await options.billablesOf(was) })).estimates[0];
    return before && after ? diffEstimates(before, after) : undefined;
  } catch {
    // A cost delta is a convenience; pricing trouble is already reported with the estimates.
    return undefined;
  }
}
