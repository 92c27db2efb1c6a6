/**
 * Projections of desired bodies and live ECS objects onto the fields sdx
 * manages, with ECS's defaults filled in, so that an unchanged app diffs as
 * no-op: ECS echoes back `cpu: 0`, empty lists, `hostPort` and so on that
 * sdx never sent. Pure.
 */
import type { ScalableTarget, ScalingPolicy } from "@aws-sdk/client-application-auto-scaling";
import { TAG_DIGEST, familyOf, ownershipTags, tagRecord } from "../render/ecs-names.js";
import type { ParameterInfo } from "../client/ecs-port.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);
const strs = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]).map(String) : []);
const byName = (a: Obj, b: Obj): number => String(a.name ?? "").localeCompare(String(b.name ?? ""));

/** Drops undefined values and empty lists, so "absent" and "empty" compare equal. */
function compact(o: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  return out;
}

/** Copies keys of `desired` that the projection does not know (added by overrides), so they are compared too. */
function extras(desired: Obj, source: Obj, known: readonly string[]): Obj {
  const out: Obj = {};
  for (const k of Object.keys(desired)) if (!known.includes(k) && source[k] !== undefined) out[k] = source[k];
  return out;
}

function container(c: Obj, desired: Obj | undefined): Obj {
  const hc = isObj(c.healthCheck) ? c.healthCheck : undefined;
  return compact({
    name: c.name,
    image: c.image,
    essential: c.essential ?? true,
    entryPoint: strs(c.entryPoint),
    command: strs(c.command),
    environment: arr(c.environment).map((e) => ({ name: e.name, value: e.value })).sort(byName),
    secrets: arr(c.secrets).map((e) => ({ name: e.name, valueFrom: e.valueFrom })).sort(byName),
    portMappings: arr(c.portMappings).map((p) => compact({ containerPort: p.containerPort, protocol: p.protocol ?? "tcp", name: p.name })),
    mountPoints: arr(c.mountPoints).map((m) => ({ sourceVolume: m.sourceVolume, containerPath: m.containerPath, readOnly: m.readOnly ?? false })),
    healthCheck: hc ? { command: strs(hc.command), interval: hc.interval ?? 30, timeout: hc.timeout ?? 5, retries: hc.retries ?? 3, startPeriod: hc.startPeriod ?? 0 } : undefined,
    dependsOn: arr(c.dependsOn).map((d) => ({ containerName: d.containerName, condition: d.condition })),
    logConfiguration: isObj(c.logConfiguration) ? { logDriver: c.logConfiguration.logDriver, options: c.logConfiguration.options ?? {} } : undefined,
    // Carries the digests of sdx-stored secrets; ECS may echo an empty map for none.
    dockerLabels: isObj(c.dockerLabels) && Object.keys(c.dockerLabels).length > 0 ? c.dockerLabels : undefined,
    ...(desired ? extras(desired, c, ["name", "image", "essential", "entryPoint", "command", "environment", "secrets", "portMappings", "mountPoints", "healthCheck", "dependsOn", "logConfiguration", "dockerLabels", "cpu"]) : {}),
    // ECS reports `cpu: 0` for containers that did not set one; only a real value counts.
    ...(c.cpu !== undefined && c.cpu !== 0 ? { cpu: c.cpu } : {}),
  });
}

/** A task definition (RegisterTaskDefinition input or DescribeTaskDefinition output) as sdx compares it. `desired` steers which extra keys count. */
export function comparableTaskDefinition(td: Obj, desired: Obj = td): Obj {
  const dc = new Map(arr(desired.containerDefinitions).map((c) => [String(c.name), c]));
  const rp = isObj(td.runtimePlatform) ? td.runtimePlatform : {};
  const es = isObj(td.ephemeralStorage) ? Number(td.ephemeralStorage.sizeInGiB ?? 0) : 0;
  return compact({
    family: td.family,
    requiresCompatibilities: strs(td.requiresCompatibilities).sort(),
    networkMode: td.networkMode,
    cpu: td.cpu === undefined ? undefined : String(td.cpu),
    memory: td.memory === undefined ? undefined : String(td.memory),
    runtimePlatform: { cpuArchitecture: rp.cpuArchitecture ?? "X86_64", operatingSystemFamily: rp.operatingSystemFamily ?? "LINUX" },
    executionRoleArn: td.executionRoleArn,
    taskRoleArn: td.taskRoleArn,
    containerDefinitions: arr(td.containerDefinitions).map((c) => container(c, dc.get(String(c.name)))).sort(byName),
    volumes: arr(td.volumes).map((v) => compact({ name: v.name, ...extras(v, v, ["name", "host"]) })).sort(byName),
    ephemeralStorage: es > 20 ? { sizeInGiB: es } : undefined,
    ...extras(desired, td, ["family", "requiresCompatibilities", "networkMode", "cpu", "memory", "runtimePlatform", "executionRoleArn", "taskRoleArn", "containerDefinitions", "volumes", "ephemeralStorage", "tags",
      "taskDefinitionArn", "revision", "status", "compatibilities", "registeredAt", "registeredBy", "requiresAttributes", "placementConstraints", "deregisteredAt"]),
  });
}

/** The sdx-managed tag keys of a live object, as a record. */
export function managedTags(tags: readonly { key?: string | undefined; value?: string | undefined }[] | undefined, app: string): Record<string, string> {
  const all = tagRecord(tags);
  const keys = Object.keys(ownershipTags(app, "x", "x"));
  const out: Record<string, string> = {};
  for (const k of keys.sort()) if (all[k] !== undefined) out[k] = all[k];
  return out;
}

/** A service (CreateService input or DescribeServices output) as sdx compares it. Autoscaled services leave desiredCount to the scaler. */
export function comparableService(s: Obj, app: string, autoscaled: boolean, desired: Obj = s): Obj {
  const dc = isObj(s.deploymentConfiguration) ? s.deploymentConfiguration : {};
  const cb = isObj(dc.deploymentCircuitBreaker) ? dc.deploymentCircuitBreaker : { enable: false, rollback: false };
  const nc = isObj(s.networkConfiguration) && isObj(s.networkConfiguration.awsvpcConfiguration) ? s.networkConfiguration.awsvpcConfiguration : {};
  const lbs = arr(s.loadBalancers).map((l) => compact({ targetGroupArn: l.targetGroupArn, containerName: l.containerName, containerPort: l.containerPort }));
  return compact({
    serviceName: s.serviceName,
    taskDefinition: typeof s.taskDefinition === "string" ? familyOf(s.taskDefinition) : undefined,
    desiredCount: autoscaled ? undefined : s.desiredCount,
    capacityProviderStrategy: arr(s.capacityProviderStrategy)
      .map((c) => ({ capacityProvider: c.capacityProvider, base: c.base ?? 0, weight: c.weight ?? 0 }))
      .sort((a, b) => String(a.capacityProvider).localeCompare(String(b.capacityProvider))),
    deploymentConfiguration: {
      deploymentCircuitBreaker: { enable: cb.enable ?? false, rollback: cb.rollback ?? false },
      maximumPercent: dc.maximumPercent ?? 200,
      minimumHealthyPercent: dc.minimumHealthyPercent ?? 100,
    },
    networkConfiguration: { awsvpcConfiguration: { subnets: strs(nc.subnets).sort(), securityGroups: strs(nc.securityGroups).sort(), assignPublicIp: nc.assignPublicIp ?? "DISABLED" } },
    loadBalancers: lbs,
    healthCheckGracePeriodSeconds: lbs.length > 0 ? (s.healthCheckGracePeriodSeconds ?? 0) : undefined,
    propagateTags: s.propagateTags ?? "NONE",
    enableECSManagedTags: s.enableECSManagedTags ?? false,
    tags: managedTags(arr(s.tags) as { key?: string; value?: string }[], app),
    ...extras(desired, s, ["serviceName", "cluster", "taskDefinition", "desiredCount", "capacityProviderStrategy", "deploymentConfiguration", "networkConfiguration", "loadBalancers", "healthCheckGracePeriodSeconds", "propagateTags", "enableECSManagedTags", "tags",
      "serviceArn", "clusterArn", "status", "runningCount", "pendingCount", "launchType", "deployments", "events", "createdAt", "createdBy", "roleArn", "schedulingStrategy", "deploymentController", "taskSets", "serviceRegistries", "platformVersion", "platformFamily"]),
  });
}

/** A desired scaling body as sdx compares it. */
export function comparableScaling(body: Obj): Obj {
  const p = isObj(body.policy) ? body.policy : {};
  const c = isObj(p.targetTrackingScalingPolicyConfiguration) ? p.targetTrackingScalingPolicyConfiguration : {};
  const m = isObj(c.predefinedMetricSpecification) ? c.predefinedMetricSpecification : {};
  return { minCapacity: body.minCapacity, maxCapacity: body.maxCapacity, policy: compact({ policyName: p.policyName, targetValue: c.targetValue, metric: m.predefinedMetricType }) };
}

/** A live scalable target and its policy, in the shape of {@link comparableScaling}. */
export function comparableLiveScaling(t: ScalableTarget, policy: ScalingPolicy | undefined): Obj {
  const c = policy?.TargetTrackingScalingPolicyConfiguration;
  return {
    minCapacity: t.MinCapacity,
    maxCapacity: t.MaxCapacity,
    policy: compact({ policyName: policy?.PolicyName, targetValue: c?.TargetValue, metric: c?.PredefinedMetricSpecification?.PredefinedMetricType }),
  };
}

/** A desired SSM parameter (PutParameter input) as sdx compares it: metadata and the value's digest, never the value. */
export function comparableParameter(body: Obj): Obj {
  const tags = Object.fromEntries(arr(body.Tags).map((t) => [String(t.Key), String(t.Value)]));
  return compact({
    Type: body.Type, Tier: body.Tier ?? "Standard", Description: body.Description,
    // Only an explicit KeyId (an override) is compared; otherwise AWS's default key is fine.
    KeyId: body.KeyId,
    digest: tags[TAG_DIGEST],
  });
}

/**
 * A live parameter (DescribeParameters metadata plus its tags) in the shape of
 * {@link comparableParameter}. The revision tag is not compared: it changes with
 * any edit to the service, which must not rewrite the parameter.
 */
export function comparableLiveParameter(p: ParameterInfo, tags: Readonly<Record<string, string>>, desired: Obj | undefined): Obj {
  return compact({
    Type: p.type, Tier: p.tier ?? "Standard", Description: p.description,
    KeyId: desired?.KeyId !== undefined ? p.keyId : undefined,
    digest: tags[TAG_DIGEST],
  });
}
