import { toSdxError } from "@sdx/sdk";
import type {
  Backend, BackendApplyOptions, BackendApplyResult, BackendCallOptions, BackendCapabilities, BackendContext, BackendDestroyResult,
  BackendPlan, BackendPlanOptions, BackendStatus, BackendTargetContext, Billables, CheckReport, CostModel, Resource, App,
} from "@sdx/sdk";
import { actorOf, applyHosts, pullImage, type ApplyHostsSeams } from "./apply/apply-hosts.js";
import { checkHosts } from "./check-hosts.js";
import type { ConnectHost } from "./client/host-connection.js";
import { HostPool, type CreateDockerHost } from "./client/host-pool.js";
import { streamImages } from "./images/stream-image.js";
import { destroyHosts } from "./destroy-hosts.js";
import { HOSTS_CAPABILITIES, HOSTS_DISPLAY_NAME, hostsCostModel, hostsTargetSpec, type HostsTarget } from "./hosts-target.js";
import { hostsBillables } from "./hosts-billables.js";
import { planHosts } from "./plan/plan-hosts.js";
import { renderHosts } from "./render/render-hosts.js";
import { statusHosts } from "./status-hosts.js";

/** Options for {@link HostsBackend}. */
export interface HostsBackendOptions {
  /** Replaces the SSH client, for fault-injection tests. @default connectHost (ssh2) */
  readonly connect?: ConnectHost;
  /** Replaces the docker CLI layer, for fault-injection tests. @default createDockerHost */
  readonly createDockerHost?: CreateDockerHost;
  /** Clock, poll period and image delivery of rollouts, for tests. @default real time, 1 s polls, pull by digest */
  readonly applySeams?: ApplyHostsSeams;
  /** Environment for SSH_AUTH_SOCK. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}


/**
 * Plain Linux hosts over SSH: each replica is one Docker container on one of
 * the target's hosts, labelled with sdx's ownership labels and its deployed
 * spec, so plans, status and destroy read the hosts and no state file.
 */
export class HostsBackend implements Backend<HostsTarget> {
  readonly kind = "hosts";
  readonly target = hostsTargetSpec;
  readonly displayName = HOSTS_DISPLAY_NAME;
  readonly capabilities: BackendCapabilities = HOSTS_CAPABILITIES;

  constructor(private readonly options: HostsBackendOptions = {}) {}

  check(ctx: BackendContext<HostsTarget>): CheckReport {
    return checkHosts(ctx);
  }

  render(ctx: BackendContext<HostsTarget>): readonly Resource[] {
    return renderHosts(ctx);
  }

  private async pool(target: HostsTarget, signal: AbortSignal | undefined): Promise<HostPool> {
    // ssh2 is loaded only when a host is contacted: pricing and offline plans never pay for it.
    const connect = this.options.connect ?? (await import("./client/ssh-host-connection.js")).connectHost;
    const create = this.options.createDockerHost ?? (await import("./client/cli-docker-host.js")).createDockerHost;
    const env = this.options.env ?? process.env;
    return HostPool.open(target, connect, create, {
      ...(target.identityFile ? { identityFile: target.identityFile } : {}),
      agent: target.agent,
      ...(env.SSH_AUTH_SOCK ? { agentSocket: env.SSH_AUTH_SOCK } : {}),
      ...(target.knownHosts ? { knownHosts: target.knownHosts } : {}),
      fingerprints: target.fingerprints,
      connectTimeoutMs: target.connectTimeoutSeconds * 1000,
      ...(signal ? { signal } : {}),
    });
  }

  private async withPool<R>(target: HostsTarget, signal: AbortSignal | undefined, f: (pool: HostPool) => Promise<R>): Promise<R> {
    const pool = await this.pool(target, signal);
    try {
      return await f(pool);
    } finally {
      pool.close();
    }
  }

  async plan(ctx: BackendContext<HostsTarget>, desired: readonly Resource[], options: BackendPlanOptions): Promise<BackendPlan> {
    return this.withPool(ctx.target, options.signal, (pool) => planHosts(pool, ctx, desired, options.signal));
  }

  async apply(ctx: BackendContext<HostsTarget>, plan: BackendPlan, options: BackendApplyOptions): Promise<BackendApplyResult> {
    // `images: stream`: the sdk hands over an image store (deliversImages) and sdx sends each image into `docker load`.
    const deliverImage = this.options.applySeams?.deliverImage ?? (ctx.target.images === "stream" && ctx.images ? streamImages(ctx.images) : pullImage);
    let pool: HostPool;
    try {
      pool = await this.pool(ctx.target, options.signal);
    } catch (e) {
      // No host was changed: report every change as remaining, as apply does for any failure before a change.
      const error = toSdxError(e, "SDX_BACKEND_UNREACHABLE", "backend").toJSON();
      return { status: options.signal?.aborted ? "aborted" : "failed", completed: [], failed: [], remaining: plan.actions.filter((a) => a.kind !== "no-op"), rollouts: [], error };
    }
    try {
      return await applyHosts(pool, ctx, plan, options, { ...this.options.applySeams, deliverImage });
    } finally {
      pool.close();
    }
  }

  async status(ctx: BackendTargetContext<HostsTarget>, options: BackendCallOptions): Promise<BackendStatus> {
    return this.withPool(ctx.target, options.signal, (pool) => statusHosts(pool, ctx.appName, ctx.target.name, options.signal));
  }

  async destroy(ctx: BackendTargetContext<HostsTarget>, options: BackendCallOptions): Promise<BackendDestroyResult> {
    return this.withPool(ctx.target, options.signal, (pool) => destroyHosts(pool, ctx.appName, ctx.target.dataDir, this.options.applySeams?.actor ?? actorOf(), options.signal));
  }

  /** With `images: stream` sdx sends images over SSH: built images are not pushed and need no registry. */
  deliversImages(t: HostsTarget): boolean {
    return t.images === "stream";
  }

  /** The declared hosts, each priced by instance type or flat price, with the app's replicas packed onto them. */
  costModel(t: HostsTarget): CostModel {
    return hostsCostModel(t);
  }

  /** Cloud hosts' root disks and public addresses (see `hostsBillables`). */
  billables(app: App, t: HostsTarget): Billables {
    return hostsBillables(app, t);
  }
}
