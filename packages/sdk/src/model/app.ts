/**
 * The backend-neutral app model, after validation and normalisation.
 * Pure data: no backend fields, no behaviour (target settings belong to backends). Loaders turn `sdx.yaml` (see
 * `app-schema.ts` for the authoring format) into this shape. Sizes and counts
 * are capped by the documented limits in `limits.ts` (`LIMITS`), enforced at validation.
 */

/** A whole application: named services plus the places it can be deployed to. */
export interface App {
  /** DNS-1123 label, at most 63 characters (`LIMITS.nameLength`). */
  readonly name: string;
  /** At most `LIMITS.labels` (100). */
  readonly labels: Readonly<Record<string, string>>;
  /** Services in declaration order, at most `LIMITS.services` (1000). */
  readonly services: readonly Service[];
  /** Targets in declaration order, at most `LIMITS.targets` (100). */
  readonly targets: readonly Target[];
  /** Target used when none is named. @default undefined (cheapest, or the first target) */
  readonly defaultTarget?: string;
  /**
   * Plugin modules the `sdx` CLI loads for this app (package names or paths
   * relative to the app file), for target kinds and price sources that are not
   * built in. The API loads none by itself: see `loadPlugins`. @default undefined (none)
   */
  readonly plugins?: readonly string[];
  /** Defaults for services that are built from source. @default undefined (none) */
  readonly build?: AppBuildDefaults;
}

/** App-wide defaults for {@link BuildSpec}. */
export interface AppBuildDefaults {
  /**
   * Registry (host and optional path, e.g. `ghcr.io/acme` or `127.0.0.1:5000`) that
   * built images are pushed to as `<registry>/<app>-<service>`, unless a service
   * names its `repository` or the target its `registry`.
   */
  readonly registry?: string;
  /** Base image of every built service that names none. @default DEFAULT_BUILD_BASE */
  readonly base?: string;
}

/**
 * The base image of a built service when neither it nor the app names one: the
 * official Node image, which carries Node (so no runtime layer is added) for
 * amd64 and arm64. Air-gapped users and the tests set their own (see README).
 */
export const DEFAULT_BUILD_BASE = "docker.io/library/node:24-bookworm-slim";

/**
 * How sdx builds a service's image from source, without Docker (Node and
 * TypeScript-compiled apps): base, Node runtime (when the base has none),
 * dependencies, app files, as reproducible layers.
 */
export interface BuildSpec {
  /** Directory holding the source, relative to the app file; it must stay inside the app's directory. @default "." */
  readonly context: string;
  /** The program the image runs, relative to `context`, e.g. `server.js`. */
  readonly entry: string;
  /** Base image. @default the app's `build.base`, else {@link DEFAULT_BUILD_BASE} */
  readonly base: string;
  /** Glob patterns (relative to `context`) of files to ship; empty means all. @default [] */
  readonly include: readonly string[];
  /** Glob patterns left out, besides the defaults (`.git/`, `node_modules/`, `.env*`, `*.log`). @default [] */
  readonly exclude: readonly string[];
  /**
   * `npm-ci`: a clean production install from package.json and its lockfile;
   * `copy`: the context's own node_modules as built; `none`: no dependency layer.
   * @default "npm-ci"
   */
  readonly dependencies: "npm-ci" | "copy" | "none";
  /** Node version of the runtime layer added when the base has no Node. @default DEFAULT_BUILD_NODE ("24.21.0"; a constant, so the digest does not depend on the building machine) */
  readonly node?: string;
  /** The image's user. @default "65532:65532" */
  readonly user?: string;
  /**
   * Repository to push to (no tag or digest). @default the repository of `image`
   * when the service names one, else `<registry>/<app>-<service>` with the target's
   * or the app's registry
   */
  readonly repository?: string;
}

/** One long-running workload of the app. */
export interface Service {
  readonly name: string;
  /**
   * The image to run. For a service with `build` and no `image`, a reference
   * without digest naming where it will be pushed; deploy replaces it with the
   * built `repository@sha256:…` before planning, so the revision follows the digest.
   */
  readonly image: ImageRef;
  /** Build the image from source instead of (or as well as) naming one. @default undefined (not built) */
  readonly build?: BuildSpec;
  /** Replaces the image's entrypoint. */
  readonly command?: readonly string[];
  /** Replaces the image's default arguments. */
  readonly args?: readonly string[];
  /** Plain (non-secret) environment, in key order; at most `LIMITS.env` (1000) variables. Names may hold '.' and '-' (`discovery.type`). */
  readonly env: Readonly<Record<string, string>>;
  /** At most `LIMITS.secretsPerService` (100); `LIMITS.secretsPerApp` (1000) across the app. */
  readonly secrets: readonly SecretMount[];
  /** At most `LIMITS.filesPerService` (100); `LIMITS.filesPerApp` (1000) across the app. */
  readonly files: readonly ConfigFile[];
  /** At most `LIMITS.ports` (100). */
  readonly ports: readonly Port[];
  readonly health?: HealthCheck;
  readonly resources: Resources;
  readonly scale: Scale;
  readonly volumes: readonly Volume[];
  readonly placement: Placement;
  readonly rollout: Rollout;
  readonly labels: Readonly<Record<string, string>>;
  /**
   * Pricing hints (`usage:`): never deployed and not part of the service's
   * revision, so editing them redeploys nothing. @default undefined (every
   * quantity takes its default from `USAGE_DEFAULTS`)
   */
  readonly usage?: ServiceUsage;
}

/**
 * What a service is expected to use, for pricing what depends on traffic
 * (Infracost's usage file). Each field absent means its documented default in
 * `USAGE_DEFAULTS` (usage-defaults.ts). Quantities cover all replicas together.
 */
export interface ServiceUsage {
  /** Logs written per month, GiB. @default USAGE_DEFAULTS.logsGiBPerReplicaMonth per replica */
  readonly logsGiBPerMonth?: number;
  /** Data sent to the internet per month, GiB. @default none: egress stays unpriced, with a note */
  readonly egressGiBPerMonth?: number;
  /** Average load balancer capacity units (AWS LCU/NLCU) of the service's load balancer. @default USAGE_DEFAULTS.lbCapacityUnits */
  readonly lbCapacityUnits?: number;
  /** Data stored in each persistent volume whose size the backend does not provision, GiB. @default the volume's size, else USAGE_DEFAULTS.volumeSizeGiB */
  readonly volumeSizeGiB?: number;
}

/** An image reference split into its parts. */
export interface ImageRef {
  /** As written, e.g. `ghcr.io/acme/web:1.2@sha256:…`. */
  readonly ref: string;
  /** Registry/repository without tag or digest. */
  readonly repository: string;
  readonly tag?: string;
  /** `sha256:…` when pinned. */
  readonly digest?: string;
}

/** Where a secret value comes from. Values never live in the model. */
export type SecretSource =
  | { readonly kind: "env"; readonly name: string }
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "aws-secrets-manager"; readonly arn: string }
  | { readonly kind: "aws-ssm-parameter"; readonly arn: string }
  | { readonly kind: "kubernetes-secret"; readonly name: string; readonly key: string };

/** A secret the service receives, as an environment variable, a file, or both. */
export interface SecretMount {
  /** DNS-1123 label; names the backend object that holds it. */
  readonly name: string;
  readonly source: SecretSource;
  /** Environment variable name inside the container. */
  readonly asEnv?: string;
  /** Absolute file path inside the container. */
  readonly asFile?: string;
}

/** A non-secret config file mounted into the container. */
export interface ConfigFile {
  /** Absolute path inside the container. */
  readonly path: string;
  /** The content, inlined by the loader when the source was a file. */
  readonly content: string;
  /** Where the content came from, for messages. */
  readonly origin: string;
  /** POSIX mode. @default 0o444 */
  readonly mode: number;
}

/** A container port. */
export interface Port {
  readonly name: string;
  readonly port: number;
  readonly protocol: "tcp" | "udp";
  /** Reachable from outside the platform (load balancer, published port) rather than internal only. @default false */
  readonly public: boolean;
  /** The protocol spoken, used for load balancer and health defaults. @default "tcp" */
  readonly appProtocol: "http" | "tcp" | "grpc";
}

/** How to tell whether an instance is healthy. */
export type HealthProbe =
  | { readonly kind: "http"; readonly path: string; readonly port: number }
  | { readonly kind: "tcp"; readonly port: number }
  | { readonly kind: "exec"; readonly command: readonly string[] };

/** A health check with its timing, in whole seconds. */
export interface HealthCheck {
  readonly probe: HealthProbe;
  /** @default 10 */
  readonly intervalSeconds: number;
  /** @default 5 */
  readonly timeoutSeconds: number;
  /** Consecutive failures before unhealthy. @default 3 */
  readonly retries: number;
  /** Grace period after start. @default 0 */
  readonly startPeriodSeconds: number;
}

/**
 * Requests sdx assumes for a service that gives none: what it is priced and
 * packed at. Backends enforce nothing from them (see {@link Resources.defaulted}).
 */
export const DEFAULT_RESOURCES = { cpuMillis: 250, memoryMiB: 256 } as const;

/** A request the app can leave out, as listed in {@link Resources.defaulted}. */
export type ResourceRequest = "cpu" | "memory";

/** Requested compute per replica. */
export interface Resources {
  /** Millicores. @default DEFAULT_RESOURCES.cpuMillis (250), then listed in `defaulted` */
  readonly cpuMillis: number;
  /** Mebibytes. @default DEFAULT_RESOURCES.memoryMiB (256), then listed in `defaulted` */
  readonly memoryMiB: number;
  /**
   * Hard caps, each only where given: a backend sets no limit the model does
   * not state (a memory limit kills the process, so it is never invented).
   * @default undefined (no limits)
   */
  readonly limits?: { readonly cpuMillis?: number; readonly memoryMiB?: number };
  /**
   * Requests the app did not give, whose values above are sdx's defaults: they
   * price the service, and a backend that must still run it at some size (a
   * Fargate task, Kubernetes requests) reports the value in its fidelity report.
   * Kept apart from the values so pricing never needs to know.
   * @default undefined (every request was given)
   */
  readonly defaulted?: readonly ResourceRequest[];
}

/** Fixed replicas or CPU-driven autoscaling; every count at most `LIMITS.replicas` (5000). */
export type Scale =
  | { readonly kind: "fixed"; readonly replicas: number }
  | { readonly kind: "auto"; readonly min: number; readonly max: number; readonly targetCpuPercent: number };

/** A volume mounted into the container. */
export interface Volume {
  readonly name: string;
  readonly path: string;
  /** `ephemeral` lives and dies with the instance; `persistent` outlives it. */
  readonly kind: "ephemeral" | "persistent";
  /** Size in MiB, when stated. */
  readonly sizeMiB?: number;
  /** @default false */
  readonly readOnly: boolean;
  /**
   * Name of the Docker volume on Swarm, for a persistent volume that exists
   * already: `docker stack deploy` names it `<stack>_<volume>`, and `sdx import`
   * writes that name so a migrated app finds its data. Other backends ignore it.
   * @default `<app>_<service>_<name>` (sdx's own volume per service)
   */
  readonly dockerName?: string;
}

/** Spot tolerance: `never` on-demand only; `prefer` spot where possible; `only` spot only. */
export type SpotPolicy = "never" | "prefer" | "only";

/** A placement field the app can leave out, as listed in {@link Placement.defaulted}. */
export type PlacementChoice = "spot" | "arch";

/** Where instances may run. */
export interface Placement {
  /** @default "never", then listed in `defaulted` */
  readonly spot: SpotPolicy;
  /** Replicas that must stay on on-demand capacity even when spot is preferred. @default 0 */
  readonly minOnDemand: number;
  /** CPU architecture. @default "amd64", then listed in `defaulted` */
  readonly arch: "amd64" | "arm64";
  /** Free-form node constraints, as label = value. */
  readonly constraints: Readonly<Record<string, string>>;
  /**
   * Fields the app did not give, whose values above are defaults: used for
   * pricing only. Backends add no node constraint for them; one whose platform
   * must pick a value anyway (Fargate's architecture) reports it in its
   * fidelity report.
   * @default undefined (every field was given)
   */
  readonly defaulted?: readonly PlacementChoice[];
}

/** How a new revision replaces the old one. */
export interface Rollout {
  /** @default "rolling" (stop-first, i.e. recreate, for one replica with a persistent volume: see isStopFirstByDefault) */
  readonly strategy: "rolling" | "recreate";
  /** Whether the app wrote `strategy` itself; when not, one replica with a persistent volume updates stop-first. Absent when false, so revisions do not change. @default false */
  readonly strategyGiven?: boolean;
  /** Extra instances during a rolling update: a count or a percentage like `25%`. @default "25%" */
  readonly maxSurge: number | string;
  /** Instances that may be down during a rolling update. @default 0 */
  readonly maxUnavailable: number | string;
  /** Roll back automatically when the new revision fails. @default true */
  readonly autoRollback: boolean;
  /** Seconds a rollout may take before it counts as failed. @default 600 */
  readonly timeoutSeconds: number;
}

/** Cloud pricing facts about a target, used by @sdx/pricing. */
export interface PricingProfile {
  readonly provider: "aws" | "gcp" | "azure";
  readonly region: string;
  /** Node instance types available to the app (Kubernetes, Swarm). ECS uses Fargate and ignores this. */
  readonly nodeTypes: readonly string[];
  /** Spot capacity is available on this target. @default false */
  readonly spot: boolean;
  /** The cluster exists only for this app, so its control-plane fee is charged to it. @default false */
  readonly dedicatedCluster: boolean;
  /** Managed control plane whose fee applies when `dedicatedCluster`. @default "none" */
  readonly controlPlane: "eks" | "gke" | "aks" | "none";
}

/** A JSON merge patch (RFC 7386) applied to one rendered resource after rendering. */
export interface Override {
  readonly match: { readonly kind: string; readonly name?: string };
  readonly patch: Readonly<Record<string, unknown>>;
}

/**
 * Where an app can be deployed: the fields every target kind has. Each backend
 * extends it with its own settings (`K8sTarget` in @sdx/backend-k8s, say) and
 * declares them in its {@link TargetKindSpec}: the sdk knows no kind by itself.
 */
export interface Target {
  /** The target's key under `targets:`. */
  readonly name: string;
  /** The kind of backend that deploys it, e.g. `kubernetes`; one registered backend serves each kind. */
  readonly kind: string;
  readonly pricing?: PricingProfile;
  /** Registry that services built for this target are pushed to; wins over the app's `build.registry`. @default undefined */
  readonly registry?: string;
  /** Backend-specific escape hatch, applied to rendered resources in order. */
  readonly overrides: readonly Override[];
}
