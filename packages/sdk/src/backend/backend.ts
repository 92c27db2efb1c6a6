import type { SdxErrorData } from "../errors/sdx-error.js";
import type { EventListener } from "../events/sdx-event.js";
import type { AnyTarget, App, PricingProfile } from "../model/app.js";
import type { BackendPlan, PlannedAction } from "../plan/plan.js";
import type { Resource, ResourceRef } from "../plan/resource.js";
import type { AppRevision } from "../revision/compute-revision.js";
import type { ResolvedSecrets } from "../secrets/resolve-secrets.js";
import type { Diagnostic } from "../validation/diagnostic.js";

/** What a backend can do, so callers and `check()` can explain gaps before a deploy. */
export interface BackendCapabilities {
  /** Spot capacity with on-demand fallback. */
  readonly spot: boolean;
  /** CPU-target autoscaling. */
  readonly autoscale: boolean;
  /** Health probe kinds run natively; others are approximated or dropped. */
  readonly nativeProbes: readonly ("http" | "tcp" | "exec")[];
  /** Volume kinds it can provide. */
  readonly volumes: readonly ("ephemeral" | "persistent")[];
  /** Rolls back a failed rollout by itself. */
  readonly rollback: boolean;
  /** Can diff against live state (otherwise plans are render-only). */
  readonly liveDiff: boolean;
  /**
   * Largest files and secrets the backend can deliver; `sdx validate` and `plan`
   * refuse bigger ones for this backend's targets with `SDX_FILE_TOO_LARGE`.
   * @default unlimited (sdx still reads at most MAX_FILE_BYTES per file)
   */
  readonly sizeLimits?: SizeLimits;
}

/** One size limit of the object a backend stores files or secrets in. */
export interface SizeLimit {
  /** The limit in bytes (of the content, before any encoding the backend applies). */
  readonly bytes: number;
  /** What holds the data, for messages, e.g. "a Swarm config". */
  readonly holder: string;
}

/** Size limits for {@link BackendCapabilities.sizeLimits}. Each is optional: absent means unlimited. */
export interface SizeLimits {
  /** Largest single config file (`files[]`). */
  readonly file?: SizeLimit;
  /** Largest total of one service's config files, when the backend stores them in one object. */
  readonly filesPerService?: SizeLimit;
  /** Largest single secret value sdx delivers (env and file sources). */
  readonly secret?: SizeLimit;
  /** Largest total of one service's secret values, when the backend stores them in one object. */
  readonly secretsPerService?: SizeLimit;
}

/** How faithfully a target carries one model field. */
export type FidelityLevel = "exact" | "approximated" | "dropped";

/** One line of a fidelity report. */
export interface FidelityEntry {
  readonly service?: string;
  /** Model path, e.g. `health.http` or `resources.memory`. */
  readonly field: string;
  readonly level: FidelityLevel;
  /** How it is approximated, or why it is dropped. */
  readonly note?: string;
}

/** Result of `Backend.check`: problems specific to this backend, and the fidelity report. */
export interface CheckReport {
  readonly diagnostics: readonly Diagnostic[];
  readonly fidelity: readonly FidelityEntry[];
}

/** Everything a backend needs to render and plan one app for one target. Pure data. */
export interface BackendContext<T extends AnyTarget = AnyTarget> {
  readonly app: App;
  readonly target: T;
  readonly revision: AppRevision;
  readonly secrets: ResolvedSecrets;
  /** Directory relative paths in the app resolve against. */
  readonly baseDir: string;
}

/** Identifies an app's objects on a target, for status and destroy (which need no app file). */
export interface BackendTargetContext<T extends AnyTarget = AnyTarget> {
  readonly appName: string;
  readonly target: T;
  /** Directory relative paths in the target (kubeconfig, TLS material) resolve against: the app file's. @default process.cwd() */
  readonly baseDir?: string;
}

/** Options common to backend I/O calls. */
export interface BackendCallOptions {
  readonly onEvent?: EventListener;
  readonly signal?: AbortSignal;
}

/** Options for `Backend.plan`. */
export interface BackendPlanOptions extends BackendCallOptions {
  /** Take over fields owned by other field managers (Kubernetes server-side apply). @default false */
  readonly forceConflicts?: boolean;
}

/** Options for `Backend.apply`. */
export interface BackendApplyOptions extends BackendCallOptions {
  /** Wait for rollouts to finish and roll back failures. @default true */
  readonly wait?: boolean;
  /** Seconds to wait before calling a rollout failed. @default each service's rollout.timeout */
  readonly timeoutSeconds?: number;
  /** @default false */
  readonly forceConflicts?: boolean;
}

/** How one service's rollout ended. */
export interface ServiceRollout {
  readonly service: string;
  readonly status: "succeeded" | "failed" | "rolled-back" | "not-waited";
  readonly desired: number;
  readonly ready: number;
  readonly reason?: string;
}

/** What `Backend.apply` did: what completed, what failed, what remains. */
export interface BackendApplyResult {
  readonly status: "succeeded" | "failed" | "rolled-back" | "aborted";
  readonly completed: readonly PlannedAction[];
  readonly failed: readonly { readonly action: PlannedAction; readonly error: SdxErrorData }[];
  readonly remaining: readonly PlannedAction[];
  readonly rollouts: readonly ServiceRollout[];
  /** The first error, for a one-line explanation. */
  readonly error?: SdxErrorData;
}

/** One service as the backend sees it now. */
export interface ServiceStatus {
  readonly service: string;
  readonly desired: number;
  readonly running: number;
  readonly ready: number;
  readonly updated?: number;
  readonly pending?: number;
  /** The sdx service revision running, from its labels. */
  readonly revision?: string;
  readonly state: "healthy" | "progressing" | "degraded" | "stopped";
  /** Recent warnings and task errors, newest first. */
  readonly messages: readonly string[];
}

/** Result of `Backend.status`. */
export interface BackendStatus {
  readonly target: string;
  readonly backend: string;
  readonly services: readonly ServiceStatus[];
  /** Backend-wide warnings (recent events, stopped tasks). */
  readonly warnings: readonly string[];
}

/** Result of `Backend.destroy`. */
export interface BackendDestroyResult {
  readonly deleted: readonly ResourceRef[];
  readonly failed: readonly { readonly resource: ResourceRef; readonly error: SdxErrorData }[];
}

/**
 * Per-node reservation of a node-packed target before any app replica fits:
 * `kubernetes-tiered` is the kubelet reservation formula GKE publishes plus the
 * requests of per-node daemons; `fixed` is a flat reservation (OS and engine).
 */
export type NodeReserve =
  | { readonly kind: "kubernetes-tiered"; readonly daemonCpuMillis: number; readonly daemonMemoryMiB: number }
  | { readonly kind: "fixed"; readonly cpuMillis: number; readonly memoryMiB: number };

/** A task size as billed (per-task cost models round requests up to one). */
export interface BilledTaskSize {
  readonly cpuMillis: number;
  readonly memoryMiB: number;
}

/**
 * How targets of a kind are priced, declared by their backend and applied by
 * the cost estimator (SkyPilot's split: the backend says what is billed, the
 * catalog says at what price, the chooser compares).
 * - `nodes`: replicas bin-packed onto the node types of the target's `pricing`
 *   profile, each node keeping `reserve` for itself (Kubernetes, Swarm, hosts).
 * - `tasks`: each replica billed as a task of the size `size()` rounds its
 *   request up to, at the `rates` of `provider` in `region` (ECS on Fargate).
 * - `flat`: a fixed monthly price for the whole target (a rate card, a rented box).
 * - `unpriced`: the backend knows it cannot be priced, and says why.
 */
export type CostModel =
  | { readonly kind: "nodes"; readonly reserve: NodeReserve }
  | {
      readonly kind: "tasks";
      /** Rate family in the price catalog, e.g. `fargate`. */
      readonly rates: string;
      readonly provider: "aws" | "gcp" | "azure";
      readonly region: string;
      /** Spot tasks are available (Fargate Spot). */
      readonly spot: boolean;
      /** The billed size of one replica; throws `SdxError` (fault user) when no size fits. */
      readonly size: (cpuMillis: number, memoryMiB: number) => BilledTaskSize;
    }
  | { readonly kind: "flat"; readonly monthlyUsd: number; readonly description: string }
  | { readonly kind: "unpriced"; readonly reason: string };

/**
 * The contract every orchestrator adapter implements. `render` and `check` are
 * pure; everything else talks to the backend. Ownership is by labels or tags on
 * the backend's objects, never a state file: an object without this app's sdx
 * ownership labels is never changed or deleted.
 */
export interface Backend {
  /** The target `kind` this backend serves, e.g. `kubernetes`. Unique in a registry. */
  readonly kind: string;
  /** Human name for tables. */
  readonly displayName: string;
  readonly capabilities: BackendCapabilities;
  /** Checks a third-party target's settings. Built-in kinds are checked by the sdk's schema. */
  validateTarget?(settings: Readonly<Record<string, unknown>>, path: string): readonly Diagnostic[];
  /** Backend-specific diagnostics and the fidelity report. Pure. */
  check(ctx: BackendContext): CheckReport;
  /** The objects this app needs, before `overrides`. Pure and deterministic. */
  render(ctx: BackendContext): readonly Resource[];
  /**
   * Observes live objects owned by this app and diffs them against `desired`
   * (already rendered, overrides applied). Throws `SDX_BACKEND_UNREACHABLE`
   * when the backend cannot be contacted, so callers can fall back to render-only.
   */
  plan(ctx: BackendContext, desired: readonly Resource[], options: BackendPlanOptions): Promise<BackendPlan>;
  /** Applies a plan action by action, waits for rollouts and rolls back failures. */
  apply(ctx: BackendContext, plan: BackendPlan, options: BackendApplyOptions): Promise<BackendApplyResult>;
  status(ctx: BackendTargetContext, options: BackendCallOptions): Promise<BackendStatus>;
  /** Removes every object owned by this app on the target, and nothing else. */
  destroy(ctx: BackendTargetContext, options: BackendCallOptions): Promise<BackendDestroyResult>;
  /** Discovers pricing facts (instance types, region, capacity type) from the live backend. */
  discoverPricing?(ctx: BackendTargetContext, options: BackendCallOptions): Promise<Partial<PricingProfile>>;
  /**
   * How this target is priced. The estimator never guesses from the kind: a
   * backend without a cost model is reported unpriced, with this reason.
   * @default { kind: "unpriced", reason: "the <kind> backend declares no cost model" }
   */
  costModel?(target: AnyTarget): CostModel;
}
