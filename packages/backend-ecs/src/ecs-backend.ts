import {
  isOwnedBy, toSdxError,
  type Backend, type BackendApplyOptions, type BackendApplyResult, type BackendCallOptions, type BackendCapabilities, type BackendContext, type SizeLimits,
  type BackendDestroyResult, type BackendPlan, type BackendPlanOptions, type BackendStatus, type BackendTargetContext, type CheckReport,
  type CostModel, type PricingProfile, type Resource, type ResourceRef, type ServiceStatus,
} from "@sdx/sdk";
import { ecsTargetSpec, type EcsTarget } from "./ecs-target.js";
import { applyEcs } from "./apply-ecs.js";
import type { AwsCredentials } from "./aws-credentials.js";
import type { AwsClients } from "./aws-ecs-port.js";
import { checkEcs } from "./check-ecs.js";
import { billedFargateSize } from "./fargate-size.js";
import { familyOf, parameterPath, scalingResourceId, tagRecord, TAG_REVISION, TAG_SERVICE } from "./ecs-names.js";
import type { EcsPort } from "./ecs-port.js";
import { planEcs } from "./plan-ecs.js";
import { renderEcs } from "./render-ecs.js";
import type { Clock } from "./wait-rollouts.js";

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
  /** Injected clock for rollout waiting. @default the real clock */
  readonly clock?: Clock;
  /** Rollout poll period in ms. @default 5000 */
  readonly pollMs?: number;
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
    const { AwsEcsPort } = await import("./aws-ecs-port.js");
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
      return await applyEcs(c, plan, port, options, {
        ...(this.#opts.clock ? { clock: this.#opts.clock } : {}),
        ...(this.#opts.pollMs === undefined ? {} : { pollMs: this.#opts.pollMs }),
      });
    } finally {
      close();
    }
  }

  async status(ctx: BackendTargetContext<EcsTarget>, options: BackendCallOptions): Promise<BackendStatus> {
    const target = ctx.target;
    const { port, close } = await this.#port(target, "plan", options.signal);
    try {
      const { missing } = await port.describeClusters([target.cluster]);
      if (missing.length > 0) return { target: target.name, backend: this.kind, services: [], warnings: [`cluster "${target.cluster}" does not exist`] };
      const owned = await ownedServices(port, target.cluster, ctx.appName);
      const services: ServiceStatus[] = owned.map((s) => {
        const primary = s.deployments?.find((d) => d.status === "PRIMARY");
        const desired = s.desiredCount ?? 0;
        const running = s.runningCount ?? 0;
        const failedDeployment = s.deployments?.some((d) => d.rolloutState === "FAILED");
        const state: ServiceStatus["state"] = desired === 0 && running === 0 ? "stopped"
          : failedDeployment ? "degraded"
          : (s.deployments?.length ?? 0) > 1 || primary?.rolloutState === "IN_PROGRESS" ? "progressing"
          : running >= desired ? "healthy" : "degraded";
        const messages = [
          ...(s.deployments ?? []).map((d) => `deployment ${d.id} ${d.status} ${familyOf(d.taskDefinition ?? "")}:${(d.taskDefinition ?? "").split(":").pop()} ${d.runningCount ?? 0}/${d.desiredCount ?? 0} running, ${d.pendingCount ?? 0} pending, ${d.failedTasks ?? 0} failed, ${d.rolloutState ?? ""}${d.rolloutStateReason ? ` (${d.rolloutStateReason})` : ""}`),
          ...(s.events ?? []).slice(0, 5).map((e) => e.message ?? ""),
        ].filter(Boolean);
        const rev = tagRecord(s.tags)[TAG_REVISION];
        return {
          service: s.serviceName!, desired, running, ready: running, pending: s.pendingCount ?? 0,
          ...(primary ? { updated: primary.runningCount ?? 0 } : {}),
          ...(rev ? { revision: rev } : {}), state, messages,
        };
      });
      return { target: target.name, backend: this.kind, services, warnings: [] };
    } finally {
      close();
    }
  }

  async destroy(ctx: BackendTargetContext<EcsTarget>, options: BackendCallOptions): Promise<BackendDestroyResult> {
    const target = ctx.target;
    const app = ctx.appName;
    const { port, close } = await this.#port(target, "apply", options.signal);
    const deleted: ResourceRef[] = [];
    const failed: BackendDestroyResult["failed"][number][] = [];
    const attempt = async (ref: ResourceRef, fn: () => Promise<void>): Promise<boolean> => {
      try {
        await fn();
        deleted.push(ref);
        return true;
      } catch (e) {
        failed.push({ resource: ref, error: toSdxError(e, "SDX_BACKEND_ERROR", "backend").toJSON() });
        return false;
      }
    };
    try {
      const { clusters, missing } = await port.describeClusters([target.cluster]);
      // Services whose delete failed may still start tasks that read their parameters.
      const kept = new Set<string>();
      if (missing.length === 0) {
        const owned = await ownedServices(port, target.cluster, app);
        // Only existing scaling targets: deregistering a missing one is an error on some APIs (moto: ValidationException).
        const scaled = new Set((await port.describeScalableTargets(owned.map((s) => scalingResourceId(target.cluster, s.serviceName!)))).map((t) => t.ResourceId));
        for (const s of owned) {
          const name = s.serviceName!;
          if (scaled.has(scalingResourceId(target.cluster, name))) {
            await attempt({ kind: "scaling", name, service: name }, () => port.deregisterScalableTarget(scalingResourceId(target.cluster, name)));
          }
          const gone = await attempt({ kind: "service", name, service: name }, async () => {
            await port.updateService({ cluster: target.cluster, service: name, desiredCount: 0 });
            await port.deleteService(target.cluster, name);
          });
          if (!gone) kept.add(name);
          // Families are account-wide, not per cluster: only the family this service ran goes, and only when sdx tagged it for this app.
          if (gone && s.taskDefinition) {
            const family = familyOf(s.taskDefinition);
            const td = await port.describeTaskDefinition(s.taskDefinition);
            if (isOwnedBy(tagRecord(td.tags), app)) {
              await attempt({ kind: "task-definition", name: family, service: name }, async () => {
                for (const arn of await port.listTaskDefinitions(family)) await port.deregisterTaskDefinition(arn);
              });
            }
          }
        }
      }
      // The SecureString parameters sdx stored for this app's env/file secrets on this cluster (tagged for the app).
      try {
        for (const p of await port.describeParameters(parameterPath(app, target.cluster))) {
          const tags = await port.listParameterTags(p.name);
          if (!tags || !isOwnedBy(tags, app) || kept.has(tags[TAG_SERVICE] ?? "")) continue;
          await attempt({ kind: "ssm-parameter", name: p.name, ...(tags[TAG_SERVICE] ? { service: tags[TAG_SERVICE] } : {}) }, () => port.deleteParameter(p.name));
        }
      } catch (e) {
        // Listing failed (e.g. no SSM permission): report it and still remove the cluster.
        failed.push({ resource: { kind: "ssm-parameter", name: `${parameterPath(app, target.cluster)}/*` }, error: toSdxError(e, "SDX_BACKEND_ERROR", "backend").toJSON() });
      }
      const cl = clusters[0];
      if (cl && isOwnedBy(tagRecord(cl.tags), app)) {
        // Only an empty cluster that sdx created for this app goes.
        const left = (await port.describeServices(target.cluster, await port.listServices(target.cluster))).services;
        if (left.length === 0) await attempt({ kind: "cluster", name: target.cluster }, () => port.deleteCluster(target.cluster));
      }
      return { deleted, failed };
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

/** Services in the cluster tagged as this app's. */
async function ownedServices(port: EcsPort, cluster: string, app: string) {
  const arns = await port.listServices(cluster);
  if (arns.length === 0) return [];
  const { services } = await port.describeServices(cluster, arns);
  return services.filter((s) => isOwnedBy(tagRecord(s.tags), app));
}

