import type { SdxErrorData } from "../errors/sdx-error.js";
import type { EventListener } from "../events/sdx-event.js";
import type { z } from "zod";
import type { App, PricingProfile, Target } from "../model/app.js";
import type { ImageStore } from "../image/image-source.js";
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
  /**
   * What the app depends on that this line breaks: its data (`persistent-data`),
   * other services reaching it by name (`discovery`), or clients reaching its
   * public port (`public-port`). Set by the check that knows it; `--target
   * cheapest` skips a target with such a line unless degraded targets are
   * allowed (`allowDegraded`). @default undefined: the app still works as written
   */
  readonly breaks?: FidelityBreak;
}

/** What an app depends on that a target can break; see {@link FidelityEntry.breaks}. */
export type FidelityBreak = "persistent-data" | "discovery" | "public-port";

/** Result of `Backend.check`: problems specific to this backend, and the fidelity report. */
export interface CheckReport {
  readonly diagnostics: readonly Diagnostic[];
  readonly fidelity: readonly FidelityEntry[];
}

/** What {@link TargetKindSpec.normalize} returns: the typed target, or why there is none. */
export type TargetNormalizeResult<T extends Target = Target> =
  | {
      readonly ok: true;
      readonly target: T;
      /** Warnings about the settings. @default [] */
      readonly diagnostics?: readonly Diagnostic[];
    }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/**
 * A target kind, declared by the backend that serves it: the settings a target
 * of this kind accepts, their defaults, and which are paths. The sdk composes
 * validation, `sdx schema` and path resolution from the registered kinds; it
 * knows none by itself. Keep the module that exports it light (zod and
 * `@sdx/sdk/target` only): it is loaded to validate apps that never deploy.
 */
export interface TargetKindSpec<T extends Target = Target, S extends z.ZodObject = z.ZodObject> {
  /** The `kind` written in the app file, e.g. `kubernetes`. */
  readonly kind: T["kind"];
  /**
   * The kind's own settings (not `kind`, `pricing` or `overrides`, which every
   * target has) as a zod object. Unknown keys are rejected with did-you-mean;
   * `.describe()` texts and `.default()`s appear in `sdx schema` for editors.
   * Rules across fields belong in `normalize`, not in object-level refinements.
   */
  readonly settings: S;
  /**
   * The settings parsed by `settings`, plus the common fields, as the typed
   * target: applies what the schema cannot (units, renames, derived defaults).
   * Pure. `path` is the target's path for diagnostics, e.g. `targets.prod`.
   */
  normalize(settings: z.output<S>, common: Target, path: string): TargetNormalizeResult<T>;
  /**
   * Top-level settings that are paths on the user's machine (a kubeconfig, a
   * TLS directory): resolved against the app file's directory when the app is
   * loaded from a file (`~` is the home directory). They are credentials, so
   * they are not confined to the app's directory. @default []
   */
  readonly pathSettings?: readonly string[];
  /**
   * A normalised target's own settings written back in their authoring form
   * (without `name`, `kind`, `pricing`, `overrides`), for apps given to the API
   * as objects, which are validated like files. Needed only when `normalize`
   * renames or converts fields. @default the target's fields as they are
   */
  toSettings?(target: T): Record<string, unknown>;
  /** Name of its local test backend: `scripts/testenv/<testenv>.sh` writes `<testenvDir>/<testenv>.env`. @default none */
  readonly testenv?: string;
  /**
   * The backend's static facts, declared here so that pricing every target and
   * choosing the cheapest (which needs each target's cost model and
   * capabilities) never loads a backend it will not plan. The backend object
   * exposes the same values. @default read from the loaded backend
   */
  readonly displayName?: string;
  /** See {@link TargetKindSpec.displayName}. @default read from the loaded backend */
  readonly capabilities?: BackendCapabilities;
  /** See {@link TargetKindSpec.displayName}. @default read from the loaded backend */
  costModel?(target: T): CostModel;
  /**
   * The backend's `check`, declared here so that the fidelity verdict of every
   * considered target (which choosing the cheapest acts on) needs no backend
   * loaded. Pure; the module declaring it must stay light.
   * @default the loaded backend's `check`
   */
  check?(ctx: BackendContext<T>): CheckReport;
  /**
   * The billable things beside compute that this target's render of `app`
   * implies (load balancers, public IPv4 addresses, volumes, NAT, logs, a
   * control plane). Pure; declared here so pricing loads no backend.
   * @default read from the loaded backend, else nothing beside compute
   */
  billables?(app: App, target: T): Billables;
}

/** Everything a backend needs to render and plan one app for one target. Pure data. */
export interface BackendContext<T extends Target = Target> {
  readonly app: App;
  readonly target: T;
  readonly revision: AppRevision;
  readonly secrets: ResolvedSecrets;
  /** Directory relative paths in the app resolve against. */
  readonly baseDir: string;
  /**
   * Serves every service's image from this machine. Given to `plan` and
   * `apply` only when the backend delivers images for this target
   * ({@link Backend.deliversImages}). @default undefined
   */
  readonly images?: ImageStore;
}

/** Identifies an app's objects on a target, for status and destroy (which need no app file). */
export interface BackendTargetContext<T extends Target = Target> {
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

/**
 * How one service's rollout ended. `timed-out`: it did not finish within the
 * rollout timeout (and was not rolled back); `aborted`: the signal fired while
 * waiting; `not-waited`: apply did not wait (`wait: false`, or the wait itself
 * could not go on). See `applyPlan` for the code and fault each maps to.
 */
export interface ServiceRollout {
  readonly service: string;
  readonly status: "succeeded" | "failed" | "rolled-back" | "timed-out" | "aborted" | "not-waited";
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
  | {
      readonly kind: "flat";
      readonly monthlyUsd: number;
      /** What the price is for, e.g. "a rented 4 vCPU box"; the estimate's one line. */
      readonly description: string;
      /** Where the target runs, for a policy that allows only some regions. @default the `pricing` profile's region, else unknown (such a policy rejects it) */
      readonly region?: string;
    }
  | {
      readonly kind: "hosts";
      /** Each declared host: priced whether or not a replica lands on it. */
      readonly hosts: readonly DeclaredHost[];
      /** What each host keeps for itself before any replica fits. */
      readonly reserve: NodeReserve;
    }
  | { readonly kind: "unpriced"; readonly reason: string };

/**
 * One billable thing a target's render implies beside the compute its cost
 * model prices (Infracost's resource-usage split: the backend says what it
 * creates and how many; the estimator prices each with provenance). Quantities
 * that depend on traffic come from the service's `usage` hints or a documented
 * default, and `basis` says which.
 */
export type BillableItem =
  // `perNode`: the count is per node (or host) of the target, which only the estimator's packing knows.
  /** A load balancer sdx creates (ALB/NLB on AWS, a forwarding rule on GCP, a Standard LB on Azure), per hour, plus its capacity units. */
  | { readonly kind: "load-balancer"; readonly service?: string; readonly flavour: "application" | "network"; readonly count: number; readonly capacityUnits: number; readonly basis: UsageBasis }
  /** Public IPv4 addresses held while the target runs (billed on AWS since February 2024). */
  | { readonly kind: "public-ipv4"; readonly service?: string; readonly count: number; readonly perNode?: boolean }
  /** Block volumes (EBS gp3, GCP pd-balanced, Azure managed disk) by size. */
  | { readonly kind: "block-storage"; readonly service?: string; readonly sizeGiB: number; readonly count: number; readonly basis: UsageBasis; readonly perNode?: boolean }
  /** Shared file storage (EFS standard, Filestore, Azure Files) by stored size. */
  | { readonly kind: "file-storage"; readonly service?: string; readonly sizeGiB: number; readonly basis: UsageBasis }
  /** NAT gateways (per hour) and the data they process. */
  | { readonly kind: "nat-gateway"; readonly count: number; readonly processedGiBPerMonth: number; readonly basis: UsageBasis }
  /** Log ingestion into the provider's log service (CloudWatch Logs, Cloud Logging, Log Analytics). */
  | { readonly kind: "log-ingestion"; readonly service?: string; readonly gibPerMonth: number; readonly basis: UsageBasis }
  /** Data sent to the internet. */
  | { readonly kind: "egress"; readonly service?: string; readonly gibPerMonth: number; readonly basis: UsageBasis }
  /** A managed control plane (EKS, GKE, AKS standard tier), per cluster-hour. */
  | { readonly kind: "control-plane"; readonly flavour: "eks" | "gke" | "aks"; readonly count: number };

/** Where a quantity came from: the app's `usage` hints, sdx's documented default, or the model itself (a volume's size). */
export type UsageBasis = "usage-hint" | "default" | "declared";

/** What `billables` returns: the items, and what the target incurs that sdx does not price, each with why. */
export interface Billables {
  readonly items: readonly BillableItem[];
  /** e.g. "data transfer between availability zones: depends on traffic". */
  readonly unpriced: readonly string[];
}

/**
 * One fixed host of a `hosts` cost model: priced by its instance type (from the
 * catalog, with the target's `pricing` provider and region) or by a flat
 * monthly price; its size comes from the instance type or is declared.
 */
export interface DeclaredHost {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Spot capacity (only services whose `placement.spot` allows it are packed here). */
  readonly spot: boolean;
  readonly instanceType?: string;
  readonly monthlyUsd?: number;
  /** Declared size, when no instance type gives it. */
  readonly cpuMillis?: number;
  readonly memoryMiB?: number;
}

/**
 * The contract every orchestrator adapter implements. `render` and `check` are
 * pure; everything else talks to the backend. Ownership is by labels or tags on
 * the backend's objects, never a state file: an object without this app's sdx
 * ownership labels is never changed or deleted.
 */
export interface Backend<T extends Target = Target> {
  /** The target `kind` this backend serves, e.g. `kubernetes`. Unique in a registry; equals `target.kind`. */
  readonly kind: string;
  /** Human name for tables. */
  readonly displayName: string;
  readonly capabilities: BackendCapabilities;
  /** Its target kind: settings, defaults, paths. Also exported alone (a light module) for validation without the backend. */
  readonly target: TargetKindSpec<T>;
  /** Backend-specific diagnostics and the fidelity report. Pure. */
  check(ctx: BackendContext<T>): CheckReport;
  /** The objects this app needs, before `overrides`. Pure and deterministic. */
  render(ctx: BackendContext<T>): readonly Resource[];
  /**
   * Observes live objects owned by this app and diffs them against `desired`
   * (already rendered, overrides applied). Throws `SDX_BACKEND_UNREACHABLE`
   * when the backend cannot be contacted, so callers can fall back to render-only.
   */
  plan(ctx: BackendContext<T>, desired: readonly Resource[], options: BackendPlanOptions): Promise<BackendPlan>;
  /** Applies a plan action by action, waits for rollouts and rolls back failures. */
  apply(ctx: BackendContext<T>, plan: BackendPlan, options: BackendApplyOptions): Promise<BackendApplyResult>;
  status(ctx: BackendTargetContext<T>, options: BackendCallOptions): Promise<BackendStatus>;
  /** Removes every object owned by this app on the target, and nothing else. */
  destroy(ctx: BackendTargetContext<T>, options: BackendCallOptions): Promise<BackendDestroyResult>;
  /** Discovers pricing facts (instance types, region, capacity type) from the live backend. */
  discoverPricing?(ctx: BackendTargetContext<T>, options: BackendCallOptions): Promise<Partial<PricingProfile>>;
  /**
   * How this target is priced. The estimator never guesses from the kind: a
   * backend without a cost model is reported unpriced, with this reason.
   * @default { kind: "unpriced", reason: "the <kind> backend declares no cost model" }
   */
  costModel?(target: T): CostModel;
  /**
   * True when this backend gets images onto the target itself (e.g. sent over
   * SSH into `docker load`) instead of the target pulling them from a
   * registry. For such a target sdx pushes no built image and does not check
   * built images against a registry; a built service needs no registry (its
   * repository is a local name, `sdx.local/<app>-<service>`, unless one is
   * configured); and `plan` and `apply` get `ctx.images` to read every image from.
   * @default false for every target
   */
  deliversImages?(target: T): boolean;
  /** See {@link TargetKindSpec.billables}. @default the target spec's, else nothing beside compute */
  billables?(app: App, target: T): Billables;
}
