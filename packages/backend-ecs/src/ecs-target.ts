// @sdx/backend-ecs/target: the `ecs` target kind alone (zod and @sdx/sdk/target
// only), for validation and `sdx schema` without the backend or the AWS SDK.
import { z } from "zod";
import { defineTargetKind, duration, parseDuration, type Target } from "@sdx/sdk/target";

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

/** The `ecs` target kind: its settings and defaults; `spotFallbackAfter` becomes `spotFallbackSeconds`. */
export const ecsTargetSpec = defineTargetKind<EcsTarget, typeof settings>({
  kind: "ecs",
  settings,
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
