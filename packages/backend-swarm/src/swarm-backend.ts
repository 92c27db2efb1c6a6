import type {
  Backend, BackendApplyOptions, BackendApplyResult, BackendCallOptions, BackendCapabilities, BackendContext, BackendDestroyResult,
  BackendPlan, BackendPlanOptions, BackendStatus, BackendTargetContext, Billables, CheckReport, CostModel, Resource, App,
} from "@sdx/sdk";
import { applySwarm, type ApplySwarmSeams } from "./apply/apply-swarm.js";
import { checkSwarm } from "./check-swarm.js";
import type { ConnectSwarmOptions } from "./client/dockerode-swarm-client.js";
import type { SwarmClient } from "./client/swarm-client.js";
import { destroySwarm } from "./destroy-swarm.js";
import { planSwarm } from "./plan/plan-swarm.js";
import { renderSwarm } from "./render/render-swarm.js";
import { statusSwarm } from "./status-swarm.js";
import { SWARM_CAPABILITIES, SWARM_DISPLAY_NAME, swarmTargetSpec, type SwarmTarget } from "./swarm-target.js";

/** Options for {@link SwarmBackend}. */
export interface SwarmBackendOptions {
  /** Speak this Engine API version instead of negotiating. @default $DOCKER_API_VERSION, else negotiated */
  readonly apiVersion?: string;
  /** Environment for DOCKER_HOST and friends. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Milliseconds to wait for the engine to accept a connection. @default 3000 */
  readonly connectTimeoutMs?: number;
  /** Replaces the dockerode client, for fault-injection tests. @default connectSwarm */
  readonly connect?: (target: SwarmTarget, options: ConnectSwarmOptions) => Promise<SwarmClient>;
  /** Clock and poll period for rollout waits, for tests that must not sleep. @default real time, 500 ms polls */
  readonly waitSeams?: ApplySwarmSeams;
}


/**
 * Docker Swarm backend: an app becomes an overlay network, content-named
 * secrets and configs, and one service per app service, labelled as a stack.
 */
export class SwarmBackend implements Backend<SwarmTarget> {
  readonly kind = "swarm";
  readonly target = swarmTargetSpec;
  readonly displayName = SWARM_DISPLAY_NAME;
  readonly capabilities: BackendCapabilities = SWARM_CAPABILITIES;

  constructor(private readonly options: SwarmBackendOptions = {}) {}

  check(ctx: BackendContext<SwarmTarget>): CheckReport {
    return checkSwarm(ctx);
  }

  render(ctx: BackendContext<SwarmTarget>): readonly Resource[] {
    return renderSwarm(ctx);
  }

  private async connect(target: SwarmTarget, signal: AbortSignal | undefined): Promise<SwarmClient> {
    const o = this.options;
    const opts: ConnectSwarmOptions = {
      ...(o.apiVersion ? { apiVersion: o.apiVersion } : {}),
      ...(o.env ? { env: o.env } : {}),
      ...(o.connectTimeoutMs ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
      ...(signal ? { signal } : {}),
    };
    if (o.connect) return o.connect(target, opts);
    // dockerode costs ~100 ms to load: only when an engine is contacted, so that
    // pricing (which asks every backend for its cost model) and offline plans never pay for it.
    const { connectSwarm } = await import("./client/dockerode-swarm-client.js");
    return connectSwarm(target, opts);
  }

  async plan(ctx: BackendContext<SwarmTarget>, desired: readonly Resource[], options: BackendPlanOptions): Promise<BackendPlan> {
    return planSwarm(await this.connect(ctx.target, options.signal), ctx, desired);
  }

  async apply(ctx: BackendContext<SwarmTarget>, plan: BackendPlan, options: BackendApplyOptions): Promise<BackendApplyResult> {
    // A connection that fails before any change is reported by deploy() like any apply that throws: every change remaining.
    return applySwarm(await this.connect(ctx.target, options.signal), ctx, plan, options, this.options.waitSeams);
  }

  async status(ctx: BackendTargetContext<SwarmTarget>, options: BackendCallOptions): Promise<BackendStatus> {
    return statusSwarm(await this.connect(ctx.target, options.signal), ctx.appName, ctx.target.name);
  }

  async destroy(ctx: BackendTargetContext<SwarmTarget>, options: BackendCallOptions): Promise<BackendDestroyResult> {
    return destroySwarm(await this.connect(ctx.target, options.signal), ctx.appName, options.signal);
  }

  /** Replicas packed onto the pricing profile's nodes, each keeping 100m / 256 MiB for the OS and dockerd. */
  costModel(t: SwarmTarget): CostModel {
    return swarmTargetSpec.costModel!(t);
  }

  /** Per node a root disk and, with published ports, a public address; the disk space of persistent volumes (see `swarmBillables`). */
  billables(app: App, t: SwarmTarget): Billables {
    return swarmTargetSpec.billables!(app, t);
  }
}

