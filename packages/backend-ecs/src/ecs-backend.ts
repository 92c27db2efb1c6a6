import type {
  Backend, BackendApplyOptions, BackendApplyResult, BackendCallOptions, BackendCapabilities, BackendContext, SizeLimits,
  BackendDestroyResult, BackendPlan, BackendPlanOptions, BackendStatus, BackendTargetContext, CheckReport,
  CostModel, PricingProfile, Resource,
} from "@sdx/sdk";
import { ecsTargetSpec, type EcsTarget } from "./ecs-target.js";
import { applyEcs, type ApplyEcsSeams } from "./apply/apply-ecs.js";
import type { AwsCredentials } from "./client/aws-credentials.js";
import type { AwsClients } from "./client/aws-ecs-port.js";
import { checkEcs } from "./check-ecs.js";
import { billedFargateSize } from "./render/fargate-size.js";
import type { EcsPort } from "./client/ecs-port.js";
import { planEcs } from "./plan/plan-ecs.js";
import { renderEcs } from "./render/render-ecs.js";
import { statusEcs } from "./status-ecs.js";
import { destroyEcs } from "./destroy-ecs.js";

/** Options for {@link EcsBackend}. */
export interface EcsBackendOptions {
  /** Credentials for every client. @default the AWS default chain without the instance metadata service (see README) */
  readonly credentials?: AwsCredentials;
  /** Environment consulted by the credential chain. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Called with each new set of AWS clients, e.g. to add middleware (request counting, fault injection). */
  readonly configureClients?: (clients: AwsClients) => void;
  /** Replaces the AWS port entirely (unit tests). */
  readonly portFactory?: (target: EcsTarget, purpose: "plan" | "apply", signal?: AbortSignal) => EcsPort;
  /** Clock and poll period for rollout waits, for tests that must not sleep. @default the real clock, 5000 ms polls */
  readonly waitSeams?: ApplyEcsSeams;
  /** First retry delay in ms for throttling and 5xx. @default 200 */
  readonly retryBaseDelayMs?: number;
}


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

/** Deploys apps to AWS ECS on Fargate. */
export class EcsBackend implements Backend<EcsTarget> {
  readonly kind = "ecs";
  readonly target = ecsTargetSpec;
  readonly displayName = "AWS ECS (Fargate)";
  readonly capabilities: BackendCapabilities = {
    spot: true, autoscale: true, nativeProbes: ["exec"], volumes: ["ephemeral"], rollback: true, liveDiff: true,
    sizeLimits: ECS_SIZE_LIMITS,
  };
  readonly #opts: EcsBackendOptions;

  constructor(options: EcsBackendOptions = {}) {
    this.#opts = options;
  }

  async #port(target: EcsTarget, purpose: "plan" | "apply", signal: AbortSignal | undefined): Promise<{ port: EcsPort; close: () => void }> {
    if (this.#opts.portFactory) return { port: this.#opts.portFactory(target, purpose, signal), close: () => undefined };
    // The AWS SDK clients cost ~60 ms to load: only when AWS is contacted, so
    // offline plans and other targets never pay for them.
    const { AwsEcsPort } = await import("./client/aws-ecs-port.js");
    const p = new AwsEcsPort(target, {
      ...(this.#opts.credentials ? { credentials: this.#opts.credentials } : {}),
      ...(this.#opts.env ? { env: this.#opts.env } : {}),
      ...(this.#opts.configureClients ? { configureClients: this.#opts.configureClients } : {}),
      ...(this.#opts.retryBaseDelayMs === undefined ? {} : { baseDelayMs: this.#opts.retryBaseDelayMs }),
      // A plan must fail fast when the endpoint is down (the sdk then falls back to render-only); apply rides out blips.
      retryNetwork: purpose === "apply",
      ...(signal ? { signal } : {}),
    });
    return { port: p, close: () => p.destroy() };
  }

  check(ctx: BackendContext<EcsTarget>): CheckReport {
    return checkEcs(ctx);
  }

  render(ctx: BackendContext<EcsTarget>): readonly Resource[] {
    return renderEcs(ctx);
  }

  async plan(c: BackendContext<EcsTarget>, desired: readonly Resource[], options: BackendPlanOptions): Promise<BackendPlan> {
    const { port, close } = await this.#port(c.target, "plan", options.signal);
    try {
      return (await planEcs(c, desired, port)).plan;
    } finally {
      close();
    }
  }

  async apply(c: BackendContext<EcsTarget>, plan: BackendPlan, options: BackendApplyOptions): Promise<BackendApplyResult> {
    const { port, close } = await this.#port(c.target, "apply", options.signal);
    try {
      return await applyEcs(c, plan, port, options, this.#opts.waitSeams);
    } finally {
      close();
    }
  }

  async status(ctx: BackendTargetContext<EcsTarget>, options: BackendCallOptions): Promise<BackendStatus> {
    const { port, close } = await this.#port(ctx.target, "plan", options.signal);
    try {
      return await statusEcs(port, ctx.target, ctx.appName);
    } finally {
      close();
    }
  }

  async destroy(ctx: BackendTargetContext<EcsTarget>, options: BackendCallOptions): Promise<BackendDestroyResult> {
    const { port, close } = await this.#port(ctx.target, "apply", options.signal);
    try {
      return await destroyEcs(port, ctx.target, ctx.appName);
    } finally {
      close();
    }
  }

  async discoverPricing(ctx: BackendTargetContext<EcsTarget>): Promise<Partial<PricingProfile>> {
    const target = ctx.target;
    // Fargate prices depend on region and spot only; both are in the target.
    return { provider: "aws", region: target.region, nodeTypes: [], spot: true, controlPlane: "none" };
  }

  /** Each replica is a Fargate task billed at the size its request rounds up to; Fargate Spot unless the pricing profile says otherwise. */
  costModel(t: EcsTarget): CostModel {
    return { kind: "tasks", rates: "fargate", provider: "aws", region: t.region, spot: t.pricing?.spot ?? true, size: billedFargateSize };
  }
}
