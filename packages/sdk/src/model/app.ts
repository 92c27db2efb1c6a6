/**
 * The backend-neutral app model, after validation and normalisation.
 * Pure data: no backend fields, no behaviour. Loaders turn `sdx.yaml` (see
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
  readonly targets: readonly AnyTarget[];
  /** Target used when none is named. @default undefined (cheapest, or the first target) */
  readonly defaultTarget?: string;
}

/** One long-running workload of the app. */
export interface Service {
  readonly name: string;
  readonly image: ImageRef;
  /** Replaces the image's entrypoint. */
  readonly command?: readonly string[];
  /** Replaces the image's default arguments. */
  readonly args?: readonly string[];
  /** Plain (non-secret) environment, in key order; at most `LIMITS.env` (1000) variables. */
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

/** Requested compute per replica. */
export interface Resources {
  /** Millicores. @default 250 */
  readonly cpuMillis: number;
  /** Mebibytes. @default 256 */
  readonly memoryMiB: number;
  /** Hard caps; when absent the backend uses its safe default (memory limit = request, no CPU cap). */
  readonly limits?: { readonly cpuMillis?: number; readonly memoryMiB?: number };
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
}

/** Spot tolerance: `never` on-demand only; `prefer` spot where possible; `only` spot only. */
export type SpotPolicy = "never" | "prefer" | "only";

/** Where instances may run. */
export interface Placement {
  /** @default "never" */
  readonly spot: SpotPolicy;
  /** Replicas that must stay on on-demand capacity even when spot is preferred. @default 0 */
  readonly minOnDemand: number;
  /** CPU architecture. @default "amd64" */
  readonly arch: "amd64" | "arm64";
  /** Free-form node constraints, as label = value. */
  readonly constraints: Readonly<Record<string, string>>;
}

/** How a new revision replaces the old one. */
export interface Rollout {
  /** @default "rolling" */
  readonly strategy: "rolling" | "recreate";
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

/** Common to every target kind. */
interface TargetBase {
  readonly name: string;
  readonly pricing?: PricingProfile;
  /** Backend-specific escape hatch, applied to rendered resources in order. */
  readonly overrides: readonly Override[];
}

/** A Kubernetes cluster, named by kubeconfig context. */
export interface KubernetesTarget extends TargetBase {
  readonly kind: "kubernetes";
  /** Path to a kubeconfig. @default $KUBECONFIG, then ~/.kube/config */
  readonly kubeconfig?: string;
  /** @default the kubeconfig's current context */
  readonly context?: string;
  /** A DNS-1123 label, at most 63 characters. @default "default" */
  readonly namespace: string;
  /** How public ports are exposed. @default "load-balancer" */
  readonly expose: "load-balancer" | "ingress" | "node-port";
  /** Ingress class when `expose: ingress`. */
  readonly ingressClass?: string;
  /** Node labels that mark spot capacity, checked in order. @default the common cloud labels */
  readonly spotLabels?: readonly { readonly key: string; readonly value: string; readonly onDemandValue: string }[];
}

/** A Docker Engine in swarm mode. */
export interface SwarmTarget extends TargetBase {
  readonly kind: "swarm";
  /** `unix:///path`, `tcp://host:port` or `npipe://…`. @default $DOCKER_HOST, then the local socket */
  readonly host?: string;
  /** TLS material directory for tcp+TLS (ca.pem, cert.pem, key.pem). */
  readonly tlsDir?: string;
  /** Node label used for spot placement. @default "sdx.capacity" */
  readonly spotLabel: string;
  /** How ports are published. @default "ingress" */
  readonly publishMode: "ingress" | "host";
}

/** An AWS ECS cluster running tasks on Fargate. */
export interface EcsTarget extends TargetBase {
  readonly kind: "ecs";
  readonly region: string;
  readonly cluster: string;
  /** Create the cluster when missing. @default false */
  readonly createCluster: boolean;
  readonly subnets: readonly string[];
  readonly securityGroups: readonly string[];
  /** @default false */
  readonly assignPublicIp: boolean;
  readonly executionRoleArn?: string;
  readonly taskRoleArn?: string;
  /** Target group ARNs by service name, for load balancer attachment. */
  readonly targetGroups: Readonly<Record<string, string>>;
  /** Endpoint override, for local API emulators. */
  readonly endpoint?: string;
  /** Seconds FARGATE_SPOT tasks may stay unplaced before sdx reports it. @default 300 */
  readonly spotFallbackSeconds: number;
  /** Shift a service's strategy to FARGATE when spot cannot be placed. @default true */
  readonly spotFallback: boolean;
  /** Task-definition revisions to keep per service. @default 5 */
  readonly keepRevisions: number;
}

/** A target of a kind provided by a third-party backend; settings are validated by that backend. */
export interface CustomTarget extends TargetBase {
  readonly kind: string;
  readonly settings: Readonly<Record<string, unknown>>;
}

/** Where an app can be deployed. */
export type Target = KubernetesTarget | SwarmTarget | EcsTarget;

/** Any target, including third-party kinds. */
export type AnyTarget = Target | CustomTarget;

/** The target kinds sdx ships backends for. */
export const BUILTIN_TARGET_KINDS = ["kubernetes", "swarm", "ecs"] as const;
