import type {
  Backend, BackendApplyOptions, BackendApplyResult, BackendCallOptions, BackendCapabilities, BackendContext,
  BackendDestroyResult, BackendPlan, BackendPlanOptions, BackendStatus, BackendTargetContext, CheckReport,
  CostModel, PricingProfile, Resource, App, Billables,
} from "@sdx/sdk";
import { ECS_CAPABILITIES, ECS_DISPLAY_NAME, ecsTargetSpec, type EcsTarget } from "./ecs-target.js";
import { applyEcs, type ApplyEcsSeams } from "./apply/apply-ecs.js";
import type { AwsCredentials } from "./client/aws-credentials.js";
import type { AwsClients } from "./client/aws-ecs-port.js";
import { checkEcs } from "./check-ecs.js";
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



/** Deploys apps to AWS ECS on Fargate. */
export class EcsBackend implements Backend<EcsTarget> {
  readonly kind = "ecs";
  readonly target = ecsTargetSpec;
  readonly displayName = ECS_DISPLAY_NAME;
  readonly capabilities: BackendCapabilities = ECS_CAPABILITIES;
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
    return ecsTargetSpec.costModel!(t);
  }

  /** Load balancers, public addresses or a NAT gateway, CloudWatch log ingestion and EFS (see `ecsBillables`). */
  billables(app: App, t: EcsTarget): Billables {
    return ecsTargetSpec.billables!(app, t);
  }
}

