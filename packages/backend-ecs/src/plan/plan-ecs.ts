import type { Service as EcsService } from "@aws-sdk/client-ecs";
import {
  SdxError, diffResources, isOwnedBy, resourceKey, summarize,
  type BackendContext, type BackendPlan, type Diagnostic, type LiveResource, type PlannedAction, type Resource,
  type DeployedService, type UnconvergedRollout,
} from "@sdx/sdk";
import type { EcsTarget } from "../ecs-target.js";
import { comparableLiveParameter, comparableLiveScaling, comparableParameter, comparableScaling, comparableService, comparableTaskDefinition } from "./comparable.js";
import { ECS_KIND_ORDER, TAG_SERVICE, logGroupName, parameterPath, scalingPolicyName, scalingResourceId, tagRecord } from "../render/ecs-names.js";
import type { EcsPort } from "../client/ecs-port.js";
import { formatFargateSize, isValidFargateSize, nearestFargateSize } from "../render/fargate-size.js";
import { taskSize } from "../render/render-ecs.js";

type Obj = Record<string, unknown>;

/** Live state observed for a plan: what apply needs beyond the diff. */
export interface ObservedEcs {
  readonly clusterExists: boolean;
  /** Live services in the cluster by name (owned or not). */
  readonly services: ReadonlyMap<string, EcsService>;
}

/** Whether a service is autoscaled in the app (desiredCount then belongs to the scaler). */
const autoscaled = (ctx: BackendContext<EcsTarget>, service: string | undefined): boolean =>
  ctx.app.services.find((s) => s.name === service)?.scale.kind === "auto";

/** The comparable projection of a desired resource. */
export function comparableDesired(ctx: BackendContext<EcsTarget>, r: Resource): Obj {
  switch (r.kind) {
    case "task-definition":
      return comparableTaskDefinition(r.body as Obj);
    case "service":
      return comparableService(r.body as Obj, ctx.app.name, autoscaled(ctx, r.service));
    case "scaling":
      return comparableScaling(r.body as Obj);
    case "ssm-parameter":
      return comparableParameter(r.body as Obj);
    default:
      return r.body as Obj;
  }
}

/**
 * Observes everything this app has on the target with as few calls as the
 * APIs allow (one Describe per kind, batched; one DescribeTaskDefinition per
 * live service and one ListTagsForResource per stored secret, which have no
 * batch form) and diffs it against `desired`.
 */
export async function planEcs(ctx: BackendContext<EcsTarget>, desired: readonly Resource[], port: EcsPort): Promise<{ plan: BackendPlan; observed: ObservedEcs }> {
  const { app, target } = ctx;
  const diagnostics: Diagnostic[] = [...sizeDiagnostics(ctx, desired)];
  const [clusters, logGroups, params] = await Promise.all([
    port.describeClusters([target.cluster]), port.describeLogGroups(logGroupName(app.name)),
    // Every parameter under the app's path on this cluster, wanted or not, so removed secrets are pruned.
    port.describeParameters(parameterPath(app.name, target.cluster)),
  ]);
  const clusterExists = clusters.missing.length === 0;
  if (!clusterExists && !target.createCluster) {
    throw new SdxError("SDX_BACKEND_REJECTED", `cluster "${target.cluster}" does not exist in ${target.region}`, {
      fault: "user", path: `targets.${target.name}.cluster`,
      hint: "Create it, fix the name or region, or set `createCluster: true` on the target so sdx creates it.",
    });
  }

  const live: LiveResource[] = [];
  // Parameters have no batch tag read; their digest and ownership live in tags, their values are never read.
  const paramTags = await Promise.all(params.map(async (p) => ({ p, tags: await port.listParameterTags(p.name) })));
  for (const { p, tags } of paramTags) {
    if (!tags) continue;
    const want = desired.find((d) => d.kind === "ssm-parameter" && d.name === p.name);
    const service = tags[TAG_SERVICE] ?? want?.service;
    live.push({
      kind: "ssm-parameter", name: p.name, ...(service ? { service } : {}), owned: isOwnedBy(tags, app.name),
      ...(p.version === undefined ? {} : { version: p.version }), body: comparableLiveParameter(p, tags, want?.body as Obj | undefined),
    });
  }
  const services = new Map<string, EcsService>();
  // Sizing of what runs now, for the plan's cost delta (read from the calls made anyway).
  const deployed: DeployedService[] = [];
  if (clusterExists) {
    const listed = await port.listServices(target.cluster);
    const names = [...new Set([...desired.filter((d) => d.kind === "service").map((d) => d.name), ...listed.map((a) => a.split("/").pop()!)])];
    const described = names.length > 0 ? await port.describeServices(target.cluster, names) : { services: [], missing: [] };
    for (const s of described.services) if (s.serviceName) services.set(s.serviceName, s);

    const tds = await Promise.all([...services.values()].map(async (s) => {
      const owned = isOwnedBy(tagRecord(s.tags), app.name);
      const want = desired.find((d) => d.kind === "service" && d.name === s.serviceName);
      // Another app's services are none of this plan's business unless they collide with a name sdx wants.
      if (!owned && !want) return undefined;
      live.push({ kind: "service", name: s.serviceName!, service: s.serviceName!, owned, version: s.taskDefinition, body: comparableService(s as Obj, app.name, autoscaled(ctx, s.serviceName), want?.body as Obj | undefined) });
      if (!s.taskDefinition || !want) return undefined;
      const td = await port.describeTaskDefinition(s.taskDefinition);
      if (owned) {
        // Task-level cpu is in CPU units (1024 = 1 vCPU), memory in MiB.
        deployed.push({ service: s.serviceName!, replicas: s.desiredCount ?? 0, cpuMillis: Math.round((Number(td.taskDefinition.cpu ?? 0) * 1000) / 1024), memoryMiB: Number(td.taskDefinition.memory ?? 0) });
      }
      const wantTd = desired.find((d) => d.kind === "task-definition" && d.service === s.serviceName);
      const family = td.taskDefinition.family ?? "";
      return {
        kind: "task-definition", name: family, service: s.serviceName!, owned: isOwnedBy(tagRecord(td.tags), app.name), version: td.taskDefinition.taskDefinitionArn,
        body: comparableTaskDefinition(td.taskDefinition as Obj, (wantTd?.body as Obj | undefined) ?? (td.taskDefinition as Obj)),
      } satisfies LiveResource;
    }));
    for (const t of tds) if (t) live.push(t);

    // Scaling targets of this app's services: the autoscaled ones it wants, and any it owns (to remove stale ones).
    const scaled = new Set([...desired.filter((d) => d.kind === "scaling").map((d) => d.name), ...live.filter((l) => l.kind === "service" && l.owned).map((l) => l.name)]);
    if (scaled.size > 0) {
      const ids = [...scaled].map((s) => scalingResourceId(target.cluster, s));
      const targets = await port.describeScalableTargets(ids);
      const policies = targets.length > 0 ? await port.describeScalingPolicies(targets.map((t) => scalingPolicyName(app.name, t.ResourceId!.split("/").pop()!))) : [];
      for (const t of targets) {
        const svc = t.ResourceId!.split("/").pop()!;
        const liveSvc = live.find((l) => l.kind === "service" && l.name === svc);
        // A scaling target belongs to its service; with no service left, nobody else can own it.
        const owned = liveSvc ? liveSvc.owned : true;
        live.push({ kind: "scaling", name: svc, service: svc, owned, body: comparableLiveScaling(t, policies.find((p) => p.ResourceId === t.ResourceId)) });
      }
    }
  }

  const compDesired = desired.filter((d) => d.kind !== "cluster" && d.kind !== "log-group").map((d) => ({ ...d, body: comparableDesired(ctx, d) }));
  const diff = diffResources(compDesired, live, {
    kindOrder: ECS_KIND_ORDER,
    // Revisions of a removed service go with its service's delete; other apps' families are never listed.
    prunable: (l) => l.kind !== "task-definition",
  });
  diagnostics.push(...diff.diagnostics.map((d) => ({ ...d, target: target.name })));
  const byKey = new Map(desired.map((d) => [resourceKey(d), d]));
  let actions: PlannedAction[] = diff.actions.map((a) => (a.desired ? { ...a, desired: byKey.get(resourceKey(a.desired)) ?? a.desired } : a));

  // A new task-definition revision is only used once the service points at it.
  const newTd = new Set(actions.filter((a) => a.resource.kind === "task-definition" && (a.kind === "create" || a.kind === "update")).map((a) => a.resource.service));
  actions = actions.map((a) => {
    if (a.resource.kind === "task-definition" && (a.kind === "create" || a.kind === "update") && a.desired) {
      const svc = app.services.find((s) => s.name === a.resource.service);
      if (svc) {
        const { requested, billed } = taskSize(svc);
        return { ...a, reason: `Fargate size ${formatFargateSize(billed)} (requested ${formatFargateSize(requested)})` };
      }
    }
    if (a.resource.kind === "service" && a.kind === "no-op" && newTd.has(a.resource.service)) {
      return { ...a, kind: "update", changes: [{ path: "taskDefinition", before: a.live?.version, after: `${String((a.desired?.body as Obj | undefined)?.taskDefinition)} (new revision)` }] };
    }
    return a;
  });

  const head: PlannedAction[] = [];
  const clusterRes = desired.find((d) => d.kind === "cluster");
  if (clusterRes) {
    const ref = { kind: "cluster", name: clusterRes.name };
    head.push(clusterExists
      ? { kind: "no-op", resource: ref, changes: [], desired: clusterRes, reason: "exists" }
      : { kind: "create", resource: ref, changes: [], desired: clusterRes });
  }
  const lg = desired.find((d) => d.kind === "log-group");
  if (lg) {
    const ref = { kind: "log-group", name: lg.name };
    head.push(logGroups.some((g) => g.logGroupName === lg.name)
      ? { kind: "no-op", resource: ref, changes: [], desired: lg, reason: "exists" }
      : { kind: "create", resource: ref, changes: [], desired: lg });
  }
  actions = [...head, ...actions];
  const unconverged: UnconvergedRollout[] = [];
  for (const d of desired) {
    const s = d.kind === "service" ? services.get(d.name) : undefined;
    const reason = s && isOwnedBy(tagRecord(s.tags), app.name) ? unfinishedRollout(s) : undefined;
    if (reason) unconverged.push({ service: d.service ?? d.name, resource: { kind: "service", name: d.name }, reason });
  }
  return {
    plan: {
      target: target.name, backend: "ecs", mode: "live", actions, summary: summarize(actions), diagnostics,
      deployed: deployed.sort((a, b) => a.service.localeCompare(b.service)),
      unconverged,
    },
    observed: { clusterExists, services },
  };
}

/**
 * Why a live service's rollout has not converged, or undefined when it has:
 * more than one deployment (old tasks still draining, or a circuit-breaker
 * rollback under way), a PRIMARY deployment still IN_PROGRESS, or fewer tasks
 * running than desired.
 */
export function unfinishedRollout(s: EcsService): string | undefined {
  const deployments = s.deployments ?? [];
  const primary = deployments.find((d) => d.status === "PRIMARY");
  const desired = s.desiredCount ?? 0;
  const running = s.runningCount ?? 0;
  const counts = `${primary?.runningCount ?? running} of ${primary?.desiredCount ?? desired} tasks running on the current deployment`;
  if (deployments.length > 1) return `${deployments.length} deployments active: ${counts}`;
  if (primary?.rolloutState === "IN_PROGRESS") return `deployment in progress: ${counts}`;
  if (running !== desired) return `${running} of ${desired} tasks running`;
  return undefined;
}

/**
 * Checks the task sizes actually sent (after overrides) against the Fargate
 * table: an invalid pair is an error naming the nearest valid size, and a
 * rounded-up request is reported as info (requested vs billed).
 */
export function sizeDiagnostics(ctx: BackendContext<EcsTarget>, desired: readonly Resource[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const d of desired) {
    if (d.kind !== "task-definition") continue;
    const cpu = Number((d.body as Obj).cpu);
    const mem = Number((d.body as Obj).memory);
    const path = `services.${d.service ?? d.name}.resources`;
    if (!isValidFargateSize(cpu, mem)) {
      const near = nearestFargateSize(cpu, mem);
      out.push({
        code: "SDX_FARGATE_SIZE", severity: "error", path, target: ctx.target.name,
        message: `task definition ${d.name}: cpu ${cpu} / memory ${mem} MiB is not a valid Fargate size; the nearest valid size is cpu ${near.cpuUnits} / memory ${near.memoryMiB} MiB (${formatFargateSize(near)})`,
        hint: "Fargate accepts fixed CPU/memory pairs (0.25 vCPU: 0.5–2 GB; 0.5: 1–4 GB; 1: 2–8 GB; 2: 4–16 GB; 4: 8–30 GB; 8: 16–60 GB; 16: 32–120 GB). Fix resources or the override.",
      });
      continue;
    }
    const svc = ctx.app.services.find((s) => s.name === d.service);
    if (svc) {
      const { requested } = taskSize(svc);
      if (requested.cpuUnits !== cpu || requested.memoryMiB !== mem) {
        out.push({ code: "SDX_FARGATE_ROUNDED", severity: "info", path, target: ctx.target.name, message: `requested ${formatFargateSize(requested)}, billed as Fargate ${formatFargateSize({ cpuUnits: cpu, memoryMiB: mem })}` });
      }
    }
  }
  return out;
}
