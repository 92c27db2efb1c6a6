import type { Service as EcsService } from "@aws-sdk/client-ecs";
import {
  SdxError, emit, executeActions, revealDeep,
  type BackendApplyOptions, type BackendApplyResult, type BackendContext, type BackendPlan, type EcsTarget, type PlannedAction, type ServiceRollout,
} from "@sdx/sdk";
import { comparableService } from "./comparable.js";
import { ECS_KIND_ORDER, familyName, ownershipTags, scalingResourceId } from "./ecs-names.js";
import type { EcsPort, PutParameterInput } from "./ecs-port.js";
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
 * Applies an ECS plan: cluster, log group, SSM parameters, task definitions,
 * services and scaling, in that order, each kind's actions concurrently. Then
 * waits for the services it changed to reach a steady state (see
 * waitForRollouts), deletes the parameters of removed secrets whose service
 * rolled out, and prunes superseded task-definition revisions beyond the
 * target's keepRevisions.
 */
export async function applyEcs(ctx: BackendContext<EcsTarget>, plan: BackendPlan, port: EcsPort, options: BackendApplyOptions, seams: ApplyEcsSeams = {}): Promise<BackendApplyResult> {
  const { app, target } = ctx;
  const cluster = target.cluster;
  const registered = new Map<string, string>();
  const watches: RolloutWatch[] = [];
  const svcModel = (name: string | undefined) => app.services.find((s) => s.name === name);

  const watchFrom = (name: string, s: EcsService, tdArn: string | undefined): void => {
    const m = svcModel(name);
    const primary = s.deployments?.find((d) => d.status === "PRIMARY");
    watches.push({
      service: name,
      ...(primary?.id ? { deploymentId: primary.id } : {}),
      ...(tdArn ?? primary?.taskDefinition ? { taskDefinitionArn: (tdArn ?? primary?.taskDefinition)! } : {}),
      autoRollback: m?.rollout.autoRollback ?? true,
      spot: (s.capacityProviderStrategy ?? []).some((c) => c.capacityProvider === "FARGATE_SPOT") || m?.placement.spot === "prefer" || m?.placement.spot === "only",
      timeoutSeconds: options.timeoutSeconds ?? m?.rollout.timeoutSeconds ?? 600,
    });
  };

  // Superseded revisions go only after the rollout: the circuit breaker rolls back to the previous one.
  const prune = new Map<string, string>();
  const pruneRevisions = async (family: string, inUse: string | undefined): Promise<void> => {
    const arns = await port.listTaskDefinitions(family);
    for (const arn of arns.slice(Math.max(1, target.keepRevisions))) if (arn !== inUse) await port.deregisterTaskDefinition(arn);
  };

  const run = async (a: PlannedAction): Promise<void> => {
    const body = a.desired ? (revealDeep(a.desired.body) as Obj) : undefined;
    const name = a.resource.name;
    switch (a.resource.kind) {
      case "cluster":
        if (a.kind === "create") await port.createCluster(body!);
        return;
      case "log-group":
        if (a.kind === "create") await port.createLogGroup(name, (body!.tags as Record<string, string>) ?? ownershipTags(app.name));
        return;
      case "ssm-parameter": {
        if (a.kind === "delete") {
          await port.deleteParameter(name);
          return;
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
          return;
        }
        // AWS refuses Tags with Overwrite. Value first, then the digest tag: a failure in between
        // leaves an old digest, so the next plan rewrites the value instead of believing it current.
        await port.putParameter({ ...input, Overwrite: true });
        await port.addParameterTags(name, Object.fromEntries(tags.map((t) => [t.Key, t.Value])));
        return;
      }
      case "task-definition": {
        if (a.kind === "delete") return;
        const td = await port.registerTaskDefinition(body!);
        if (a.resource.service && td.taskDefinitionArn) registered.set(a.resource.service, td.taskDefinitionArn);
        return;
      }
      case "service": {
        if (a.kind === "delete") {
          if ((await port.describeScalableTargets([scalingResourceId(cluster, name)])).length > 0) await port.deregisterScalableTarget(scalingResourceId(cluster, name));
          await port.updateService({ cluster, service: name, desiredCount: 0 });
          await port.deleteService(cluster, name);
          for (const arn of await port.listTaskDefinitions(familyName(app.name, name))) await port.deregisterTaskDefinition(arn);
          return;
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
        if (tdArn || a.kind === "create" || a.changes.some((c) => !c.path.startsWith("tags"))) watchFrom(name, s, tdArn);
        if (tdArn) prune.set(name, tdArn);
        return;
      }
      case "scaling": {
        const resourceId = scalingResourceId(cluster, name);
        if (a.kind === "delete") {
          await port.deregisterScalableTarget(resourceId);
          return;
        }
        const p = body!.policy as Obj;
        const tt = p.targetTrackingScalingPolicyConfiguration as Obj;
        await port.registerScalableTarget({ ServiceNamespace: "ecs", ResourceId: resourceId, ScalableDimension: "ecs:service:DesiredCount", MinCapacity: body!.minCapacity, MaxCapacity: body!.maxCapacity });
        await port.putScalingPolicy({
          PolicyName: p.policyName, ServiceNamespace: "ecs", ResourceId: resourceId, ScalableDimension: "ecs:service:DesiredCount", PolicyType: "TargetTrackingScaling",
          TargetTrackingScalingPolicyConfiguration: { TargetValue: tt.targetValue, PredefinedMetricSpecification: { PredefinedMetricType: (tt.predefinedMetricSpecification as Obj).predefinedMetricType } },
        });
        return;
      }
      default:
        throw new SdxError("SDX_INTERNAL", `the ECS backend cannot apply a ${a.resource.kind}`);
    }
  };

  const exec = (actions: readonly PlannedAction[]) => executeActions(actions, {
    target: target.name, run, rank: rankOf, concurrency: 4,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const deferred = plan.actions.filter(isParameterDelete);
  const res = await exec(plan.actions.filter((a) => !isParameterDelete(a)));
  // Rollouts an earlier deploy left unfinished (found by the plan): a deploy is complete only once they converged too.
  for (const u of plan.unconverged ?? []) {
    if (watches.some((w) => w.service === u.resource.name)) continue;
    const m = svcModel(u.resource.name);
    watches.push({
      service: u.resource.name, autoRollback: m?.rollout.autoRollback ?? true,
      spot: m?.placement.spot === "prefer" || m?.placement.spot === "only",
      timeoutSeconds: options.timeoutSeconds ?? m?.rollout.timeoutSeconds ?? 600,
    });
  }
  const base = { completed: res.completed, failed: res.failed, remaining: [...res.remaining, ...deferred] };
  if (res.aborted) return { ...base, status: "aborted", rollouts: watches.map(notWaited), error: new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user" }).toJSON() };
  if (res.failed.length > 0) return { ...base, status: "failed", rollouts: watches.map(notWaited), error: res.failed[0]!.error };
  /** Deletes the parameters of removed secrets whose service may let go of them; the others stay for the next deploy. */
  const deleteParameters = async (ok: (service: string | undefined) => boolean) => {
    const go = deferred.filter((a) => ok(a.resource.service));
    const r = go.length > 0 ? await exec(go) : { completed: [], failed: [], remaining: [], aborted: false };
    const out = { completed: [...res.completed, ...r.completed], failed: r.failed, remaining: [...res.remaining, ...r.remaining, ...deferred.filter((a) => !go.includes(a))] };
    return { ...out, ...finish(r) };
  };
  const pruneAfter = async (ok: (service: string) => boolean): Promise<string | undefined> => {
    try {
      for (const [svc, arn] of prune) if (ok(svc)) await pruneRevisions(familyName(app.name, svc), arn);
      return undefined;
    } catch (e) {
      // Pruning is housekeeping: a failure is reported, the deploy still counts.
      const msg = `could not deregister old task-definition revisions: ${e instanceof Error ? e.message : String(e)}`;
      emit(options.onEvent, { kind: "log", target: target.name, level: "warning", message: msg });
      return msg;
    }
  };
  if (options.wait === false) {
    // Unwaited rollouts may still fail back to the revision that reads the removed parameters and runs the old
    // task definition: both stay until a deploy that waits (its plan lists them again).
    return { ...base, status: "succeeded", rollouts: watches.map(notWaited) };
  }
  if (watches.length === 0) {
    const d = await deleteParameters(() => true);
    await pruneAfter(() => true);
    return { ...d, rollouts: [] };
  }

  let rollouts: ServiceRollout[];
  try {
    rollouts = await waitForRollouts(port, watches, {
      target: target.name, cluster, spotFallbackSeconds: target.spotFallbackSeconds, spotFallback: target.spotFallback,
      ...(seams.clock ? { clock: seams.clock } : {}), ...(seams.pollMs === undefined ? {} : { pollMs: seams.pollMs }),
      ...(options.onEvent ? { onEvent: options.onEvent } : {}), ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (e) {
    const err = e instanceof SdxError ? e : new SdxError("SDX_BACKEND_ERROR", String(e), { fault: "backend", cause: e });
    return { ...base, status: err.code === "SDX_ABORTED" ? "aborted" : "failed", rollouts: watches.map(notWaited), error: err.toJSON() };
  }
  // A service that was not watched (removed, or unchanged) no longer reads the parameter.
  const d = await deleteParameters((svc) => {
    const r = rollouts.find((x) => x.service === svc);
    return !r || r.status === "succeeded";
  });
  await pruneAfter((svc) => rollouts.find((r) => r.service === svc)?.status === "succeeded");
  const bad = rollouts.find((r) => r.status === "failed") ?? rollouts.find((r) => r.status === "rolled-back");
  if (!bad) return { ...d, rollouts };
  emit(options.onEvent, { kind: "log", target: target.name, level: "warning", message: `${bad.service}: ${bad.reason ?? bad.status}` });
  const status = rollouts.some((r) => r.status === "failed") ? "failed" : "rolled-back";
  return {
    ...d, status, rollouts,
    error: new SdxError(bad.reason?.startsWith("timed out") ? "SDX_ROLLOUT_TIMEOUT" : "SDX_ROLLOUT_FAILED", `service ${bad.service}: ${bad.reason ?? bad.status}`, {
      fault: "user", hint: "Read the stopped tasks' reasons above; `sdx status` shows the service's recent ECS events. CloudWatch Logs group " + `/sdx/${app.name}` + " has the container output.",
    }).toJSON(),
  };
}

/** Status and error after the deferred parameter deletes: a failed delete fails the apply (the next plan retries it). */
function finish(d: { failed: readonly { error: BackendApplyResult["error"] }[]; aborted: boolean }): Pick<BackendApplyResult, "status" | "error"> {
  if (d.aborted) return { status: "aborted", error: new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user" }).toJSON() };
  return d.failed.length > 0 ? { status: "failed", ...(d.failed[0]!.error ? { error: d.failed[0]!.error } : {}) } : { status: "succeeded" };
}

function notWaited(w: RolloutWatch): ServiceRollout {
  return { service: w.service, status: "not-waited", desired: 0, ready: 0 };
}

function pick(o: Obj, keys: readonly string[]): Obj {
  const out: Obj = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

