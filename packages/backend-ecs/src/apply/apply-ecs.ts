import type { Service as EcsService } from "@aws-sdk/client-ecs";
import {
  SdxError, applyPlan, revealDeep, rolloutSettings,
  type ApplyHooks, type BackendApplyOptions, type BackendApplyResult, type BackendContext, type BackendPlan, type PlannedAction,
} from "@sdx/sdk";
import type { EcsTarget } from "../ecs-target.js";
import { comparableService } from "../plan/comparable.js";
import { ECS_KIND_ORDER, familyName, ownershipTags, scalingResourceId } from "../render/ecs-names.js";
import type { EcsPort, PutParameterInput } from "../client/ecs-port.js";
import { waitForRollouts, type Clock, type RolloutWatch } from "./wait-rollouts.js";

type Obj = Record<string, unknown>;

/** Test seams for {@link applyEcs}. */
export interface ApplyEcsSeams {
  readonly clock?: Clock;
  /** @default 5000 */
  readonly pollMs?: number;
}

// Fields UpdateService accepts from the CreateService input.
const UPDATABLE = ["desiredCount", "capacityProviderStrategy", "deploymentConfiguration", "networkConfiguration", "loadBalancers", "healthCheckGracePeriodSeconds", "propagateTags", "enableECSManagedTags"] as const;

const rankOf = (a: PlannedAction): number => {
  const i = ECS_KIND_ORDER.indexOf(a.resource.kind as (typeof ECS_KIND_ORDER)[number]);
  const k = i === -1 ? ECS_KIND_ORDER.length : i;
  // Deletes after everything else, in reverse kind order (scaling before its service).
  return a.kind === "delete" ? 100 + (ECS_KIND_ORDER.length - k) : k;
};

/** A parameter delete waits for the rollout: the revision the circuit breaker rolls back to may still read it. */
const isParameterDelete = (a: PlannedAction): boolean => a.kind === "delete" && a.resource.kind === "ssm-parameter";

/**
 * Applies an ECS plan with the engine's skeleton ({@link applyPlan}):
 * cluster, log group, SSM parameters, task definitions, services and scaling,
 * in that order, each kind's actions concurrently. Then waits for the
 * services it changed (and those the plan found unfinished) to reach a steady
 * state (see waitForRollouts; the circuit breaker rolls failures back),
 * deletes the parameters of removed secrets whose service rolled out, and
 * prunes superseded task-definition revisions beyond the target's
 * keepRevisions. Never throws.
 */
export async function applyEcs(ctx: BackendContext<EcsTarget>, plan: BackendPlan, port: EcsPort, options: BackendApplyOptions, seams: ApplyEcsSeams = {}): Promise<BackendApplyResult> {
  return applyPlan(ctx, plan, options, ecsApplyHooks(ctx, port, options, seams));
}

/** The ECS hooks for {@link applyPlan}. */
export function ecsApplyHooks(ctx: BackendContext<EcsTarget>, port: EcsPort, options: BackendApplyOptions, seams: ApplyEcsSeams = {}): ApplyHooks<RolloutWatch> {
  const { app, target } = ctx;
  const cluster = target.cluster;
  const registered = new Map<string, string>();
  const svcModel = (name: string | undefined) => app.services.find((s) => s.name === name);

  const watchFrom = (name: string, s: EcsService | undefined, tdArn: string | undefined, created: boolean): RolloutWatch => {
    const m = svcModel(name);
    const primary = s?.deployments?.find((d) => d.status === "PRIMARY");
    const { timeoutSeconds, autoRollback } = rolloutSettings(ctx, name, options);
    return {
      service: name, created, autoRollback, timeoutSeconds,
      ...(primary?.id ? { deploymentId: primary.id } : {}),
      ...(tdArn ?? primary?.taskDefinition ? { taskDefinitionArn: (tdArn ?? primary?.taskDefinition)! } : {}),
      spot: (s?.capacityProviderStrategy ?? []).some((c) => c.capacityProvider === "FARGATE_SPOT") || m?.placement.spot === "prefer" || m?.placement.spot === "only",
    };
  };

  // Superseded revisions go only after the rollout: the circuit breaker rolls back to the previous one.
  const prune = new Map<string, string>();
  const pruneRevisions = async (family: string, inUse: string | undefined): Promise<void> => {
    const arns = await port.listTaskDefinitions(family);
    for (const arn of arns.slice(Math.max(1, target.keepRevisions))) if (arn !== inUse) await port.deregisterTaskDefinition(arn);
  };

  const run = async (a: PlannedAction): Promise<RolloutWatch | undefined> => {
    const body = a.desired ? (revealDeep(a.desired.body) as Obj) : undefined;
    const name = a.resource.name;
    switch (a.resource.kind) {
      case "cluster":
        if (a.kind === "create") await port.createCluster(body!);
        return undefined;
      case "log-group":
        if (a.kind === "create") await port.createLogGroup(name, (body!.tags as Record<string, string>) ?? ownershipTags(app.name));
        return undefined;
      case "ssm-parameter": {
        if (a.kind === "delete") {
          await port.deleteParameter(name);
          return undefined;
        }
        // `body` is the revealed wire copy; the plan itself keeps the Redacted value.
        if (typeof body!.Value !== "string") {
          throw new SdxError("SDX_SECRET_UNRESOLVED", `secret for parameter ${name} has no value`, { fault: "user", path: `services.${a.resource.service ?? "?"}.secrets`, hint: "Set the environment variable or create the file the secret comes from, then deploy again." });
        }
        const tags = (body!.Tags ?? []) as { Key: string; Value: string }[];
        const input: PutParameterInput = {
          ...(pick(body!, ["Name", "Type", "Description", "Tier", "KeyId"]) as Omit<PutParameterInput, "Value">),
          Name: name, Value: body!.Value as string,
        };
        if (a.kind === "create") {
          await port.putParameter({ ...input, Tags: tags });
          return undefined;
        }
        // AWS refuses Tags with Overwrite. Value first, then the digest tag: a failure in between
        // leaves an old digest, so the next plan rewrites the value instead of believing it current.
        await port.putParameter({ ...input, Overwrite: true });
        await port.addParameterTags(name, Object.fromEntries(tags.map((t) => [t.Key, t.Value])));
        return undefined;
      }
      case "task-definition": {
        if (a.kind === "delete") return undefined;
        const td = await port.registerTaskDefinition(body!);
        if (a.resource.service && td.taskDefinitionArn) registered.set(a.resource.service, td.taskDefinitionArn);
        return undefined;
      }
      case "service": {
        if (a.kind === "delete") {
          if ((await port.describeScalableTargets([scalingResourceId(cluster, name)])).length > 0) await port.deregisterScalableTarget(scalingResourceId(cluster, name));
          await port.updateService({ cluster, service: name, desiredCount: 0 });
          await port.deleteService(cluster, name);
          for (const arn of await port.listTaskDefinitions(familyName(app.name, name))) await port.deregisterTaskDefinition(arn);
          return undefined;
        }
        const auto = svcModel(name)?.scale.kind === "auto";
        const tdArn = registered.get(name);
        const taskDefinition = tdArn ?? (typeof a.live?.version === "string" ? a.live.version : (body!.taskDefinition as string));
        let s: EcsService;
        if (a.kind === "create") {
          s = await port.createService({ ...body!, taskDefinition });
          // Verify what was stored: an API that drops fields on create (moto drops the
          // capacity provider strategy and deployment settings) gets them by update.
          const want = comparableService(body!, app.name, auto);
          const got = comparableService({ ...(s as Obj), tags: body!.tags }, app.name, auto, body!);
          if (JSON.stringify(got) !== JSON.stringify(want)) {
            s = await port.updateService({ cluster, service: name, ...pick(body!, UPDATABLE) });
          }
        } else {
          const strategyChanged = a.changes.some((c) => c.path.startsWith("capacityProviderStrategy"));
          const input: Obj = { cluster, service: name, taskDefinition, ...pick(body!, UPDATABLE), ...(strategyChanged ? { forceNewDeployment: true } : {}) };
          // The scaler owns desiredCount of autoscaled services; min/max bound it.
          if (auto) delete input.desiredCount;
          s = await port.updateService(input);
          if (a.changes.some((c) => c.path.startsWith("tags")) && s.serviceArn) await port.tagResource(s.serviceArn, body!.tags as { key: string; value: string }[]);
        }
        if (tdArn) prune.set(name, tdArn);
        // A tags-only change starts no deployment: nothing to wait for.
        return tdArn || a.kind === "create" || a.changes.some((c) => !c.path.startsWith("tags")) ? watchFrom(name, s, tdArn, a.kind === "create") : undefined;
      }
      case "scaling": {
        const resourceId = scalingResourceId(cluster, name);
        if (a.kind === "delete") {
          await port.deregisterScalableTarget(resourceId);
          return undefined;
        }
        const p = body!.policy as Obj;
        const tt = p.targetTrackingScalingPolicyConfiguration as Obj;
        await port.registerScalableTarget({ ServiceNamespace: "ecs", ResourceId: resourceId, ScalableDimension: "ecs:service:DesiredCount", MinCapacity: body!.minCapacity, MaxCapacity: body!.maxCapacity });
        await port.putScalingPolicy({
          PolicyName: p.policyName, ServiceNamespace: "ecs", ResourceId: resourceId, ScalableDimension: "ecs:service:DesiredCount", PolicyType: "TargetTrackingScaling",
          TargetTrackingScalingPolicyConfiguration: { TargetValue: tt.targetValue, PredefinedMetricSpecification: { PredefinedMetricType: (tt.predefinedMetricSpecification as Obj).predefinedMetricType } },
        });
        return undefined;
      }
      default:
        throw new SdxError("SDX_INTERNAL", `the ECS backend cannot apply a ${a.resource.kind}`);
    }
  };

  return {
    concurrency: 4,
    rank: rankOf,
    isDeferred: isParameterDelete,
    run,
    resume: (u) => watchFrom(u.resource.name, undefined, undefined, false),
    waitRollouts: async (watches, { settle, signal }) => {
      await waitForRollouts(port, watches, {
        target: target.name, cluster, spotFallbackSeconds: target.spotFallbackSeconds, spotFallback: target.spotFallback,
        clock: seams.clock, pollMs: seams.pollMs, onEvent: options.onEvent, signal, settle,
      });
    },
    // Superseded revisions go only after a rollout that succeeded: the circuit breaker rolls back to the previous one.
    afterRollouts: async (rollouts) => {
      for (const [svc, arn] of prune) if (rollouts.find((r) => r.service === svc)?.status === "succeeded") await pruneRevisions(familyName(app.name, svc), arn);
    },
    rolloutHint: () => `Read the stopped tasks' reasons above; \`sdx status\` shows the service's recent ECS events. CloudWatch Logs group /sdx/${app.name} has the container output.`,
  };
}

function pick(o: Obj, keys: readonly string[]): Obj {
  const out: Obj = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

