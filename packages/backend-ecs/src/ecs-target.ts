// @sdx/backend-ecs/target: the `ecs` target kind alone (zod and @sdx/sdk/target
// only), for validation and `sdx schema` without the backend or the AWS SDK.
import { z } from "zod";
import { billedFargateSize } from "./render/fargate-size.js";
import { ecsBillables } from "./ecs-billables.js";
import { defineTargetKind, duration, parseDuration, type Target, type BackendCapabilities, type CostModel, type SizeLimits } from "@sdx/sdk/target";

/** An AWS ECS cluster running tasks on Fargate. */
export interface EcsTarget extends Target {
  readonly kind: "ecs";
  readonly region: string;
  readonly cluster: string;
  /** Create the cluster when missing. @default false */
  readonly createCluster: boolean;
  /** Subnet IDs for the tasks. @default [] */
  readonly subnets: readonly string[];
  /** Security group IDs for the tasks. @default [] */
  readonly securityGroups: readonly string[];
  /** Give tasks a public IP. @default false */
  readonly assignPublicIp: boolean;
  /** IAM role ECS uses to pull images, write logs and read secrets. @default none */
  readonly executionRoleArn?: string;
  /** IAM role the containers run as. @default none */
  readonly taskRoleArn?: string;
  /** Target group ARNs by service name, for load balancer attachment. @default {} */
  readonly targetGroups: Readonly<Record<string, string>>;
  /** Endpoint override, for local API emulators. @default the AWS endpoint of `region` */
  readonly endpoint?: string;
  /** Seconds FARGATE_SPOT tasks may stay unplaced before sdx reports it. @default 300 */
  readonly spotFallbackSeconds: number;
  /** Shift a service's strategy to FARGATE when spot cannot be placed. @default true */
  readonly spotFallback: boolean;
  /** Task-definition revisions to keep per service. @default 5 */
  readonly keepRevisions: number;
}

const settings = z.strictObject({
  region: z.string().describe("AWS region of the cluster, e.g. us-east-1."),
  cluster: z.string().describe("ECS cluster name."),
  createCluster: z.boolean().default(false).describe("Create the cluster when it does not exist."),
  subnets: z.array(z.string()).default([]).describe("Subnet IDs for the tasks (awsvpc networking)."),
  securityGroups: z.array(z.string()).default([]).describe("Security group IDs for the tasks."),
  assignPublicIp: z.boolean().default(false).describe("Give tasks a public IP (needed in public subnets without a NAT gateway)."),
  executionRoleArn: z.string().optional().describe("IAM role ECS uses to pull images, write logs and read secrets."),
  taskRoleArn: z.string().optional().describe("IAM role the containers run as."),
  targetGroups: z.record(z.string(), z.string()).default({}).describe("Load balancer target group ARNs by service name."),
  endpoint: z.string().optional().describe("Endpoint override, for local API emulators."),
  spotFallbackAfter: duration.default(300).describe('How long FARGATE_SPOT tasks may stay unplaced before sdx reports it: "5m", or seconds.'),
  spotFallback: z.boolean().default(true).describe("Shift a service to FARGATE when spot capacity cannot be placed."),
  keepRevisions: z.number().int().min(1).default(5).describe("Task-definition revisions to keep per service."),
}).describe("An AWS ECS cluster running tasks on Fargate.");

/**
 * Files travel base64-encoded (4/3 the size) in the init container's environment,
 * inside the task definition, which AWS caps at 64 KiB: 40 KiB of files leaves
 * room for the rest of it. Env and file secrets are SSM SecureString parameters
 * of the Standard tier (renderParameters), which hold at most 4 KB.
 */
export const ECS_SIZE_LIMITS = {
  filesPerService: { bytes: 40 * 1024, holder: "the task definition (base64-encoded in the init container's environment; AWS caps a task definition at 64 KiB)" },
  secret: { bytes: 4096, holder: "an SSM Parameter Store SecureString parameter of the Standard tier" },
} as const satisfies SizeLimits;

/** What the AWS ECS (Fargate) backend can do (see `BackendCapabilities`). */
export const ECS_CAPABILITIES: BackendCapabilities = {
  spot: true, autoscale: true, nativeProbes: ["exec"], volumes: ["ephemeral"], rollback: true, liveDiff: true,
  sizeLimits: ECS_SIZE_LIMITS,
};

/** The name tables show for this backend. */
export const ECS_DISPLAY_NAME = "AWS ECS (Fargate)";

/** Each replica billed as a Fargate task of the size its request rounds up to, in the target's region; Fargate Spot unless `pricing.spot: false`. */
function ecsCostModel(t: EcsTarget): CostModel {
  return { kind: "tasks", rates: "fargate", provider: "aws", region: t.region, spot: t.pricing?.spot ?? true, size: billedFargateSize };
}

/** The `ecs` target kind: its settings and defaults; `spotFallbackAfter` becomes `spotFallbackSeconds`. */
export const ecsTargetSpec = defineTargetKind<EcsTarget, typeof settings>({
  kind: "ecs",
  settings,
  displayName: ECS_DISPLAY_NAME,
  capabilities: ECS_CAPABILITIES,
  costModel: ecsCostModel,
  billables: ecsBillables,
  normalize: ({ spotFallbackAfter, ...s }, common, path) => {
    const after = parseDuration(spotFallbackAfter);
    if (!after.ok) return { ok: false, diagnostics: [{ code: "SDX_INVALID_DURATION", severity: "error", path: `${path}.spotFallbackAfter`, message: after.message, hint: after.hint }] };
    return { ok: true, target: { ...common, kind: "ecs", ...s, spotFallbackSeconds: after.value } };
  },
  toSettings: ({ name: _n, kind: _k, pricing: _p, overrides: _o, spotFallbackSeconds, ...s }) => ({ ...s, spotFallbackAfter: spotFallbackSeconds }),
  testenv: "ecs",
});

/** The name sdx's loader looks for in a backend's `/target` module. */
export { ecsTargetSpec as targetKindSpec };
