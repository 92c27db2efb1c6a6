import { effectiveRollout, secretKey, type BackendContext, type HealthCheck, type Resource, type Rollout, type SecretMount, type Service } from "@sdx/sdk";
import type { EcsTarget } from "../ecs-target.js";
import { cpuUnitsOf, roundUpFargate, type FargateTaskSize } from "./fargate-size.js";
import {
  SECRET_DIGEST_LABEL, TAG_DIGEST, familyName, logGroupName, ownershipTags, parameterName, scalingPolicyName, scalingResourceId, tagList,
} from "./ecs-names.js";

/** Image of the helper container that writes config files and file secrets into task volumes. */
export const INIT_IMAGE = "public.ecr.aws/docker/library/busybox:1.36";
/** Name of that helper container. */
export const INIT_CONTAINER = "sdx-init";

// ECS accepts these ranges for container health checks (seconds / count).
const HEALTH_LIMITS = { interval: [5, 300], timeout: [2, 60], retries: [1, 10], startPeriod: [0, 300] } as const;
const clamp = (v: number, [lo, hi]: readonly [number, number]): number => Math.min(hi, Math.max(lo, v));

/** True for an ARN ECS can resolve as a secret (`valueFrom`). */
export const isSecretArn = (s: string): boolean => /^arn:aws[a-z-]*:(secretsmanager|ssm):[a-z0-9-]+:\d{12}:(secret:|parameter\/).+/.test(s);

/** True for secrets whose value sdx reads at deploy time (env, file) and stores in SSM Parameter Store for ECS. */
export const isStoredBySdx = (s: SecretMount): boolean => s.source.kind === "env" || s.source.kind === "file";

/**
 * What ECS reads a secret from (`valueFrom`): the ARN of an AWS store, or for
 * env/file sources the name of the parameter sdx stores the value in. ECS takes
 * a parameter's name instead of its ARN when it is in the task's region, so no
 * account id is needed. Undefined when ECS cannot read the source (check() reports it).
 */
export function secretValueFrom(ctx: BackendContext<EcsTarget>, service: string, s: SecretMount): string | undefined {
  if (isStoredBySdx(s)) return parameterName(ctx.app.name, ctx.target.cluster, service, s.name);
  return (s.source.kind === "aws-secrets-manager" || s.source.kind === "aws-ssm-parameter") && isSecretArn(s.source.arn) ? s.source.arn : undefined;
}

/** Digest of a secret's value (16 hex, safe to show), as resolved for this deploy. */
const digestOf = (ctx: BackendContext<EcsTarget>, service: string, secret: string): string => ctx.secrets.get(secretKey(service, secret))?.digest ?? "unresolved";

/**
 * The SecureString parameters holding a service's env/file secrets (PutParameter
 * input). `Value` stays `Redacted` until the port sends it; the `sdx:digest` tag
 * is what plans compare. At plan time an unset variable leaves `Value` out.
 */
export function renderParameters(ctx: BackendContext<EcsTarget>, svc: Service): Resource[] {
  const { app, target } = ctx;
  return svc.secrets.filter(isStoredBySdx).map((s) => {
    const name = parameterName(app.name, target.cluster, svc.name, s.name);
    const value = ctx.secrets.get(secretKey(svc.name, s.name))?.value;
    const tags = { ...ownershipTags(app.name, svc.name, ctx.revision.services[svc.name]), [TAG_DIGEST]: digestOf(ctx, svc.name, s.name) };
    return {
      kind: "ssm-parameter",
      name,
      service: svc.name,
      body: {
        Name: name,
        Type: "SecureString",
        Tier: "Standard",
        Description: `Managed by sdx: secret ${s.name} of service ${svc.name} in app ${app.name} (cluster ${target.cluster}). sdx overwrites it on deploy and deletes it on destroy.`,
        ...(value ? { Value: value } : {}),
        Tags: Object.keys(tags).sort().map((Key) => ({ Key, Value: tags[Key as keyof typeof tags]! })),
      },
    };
  });
}

/** Task size for a service: its request rounded up to a valid Fargate size (or left as is when too big: plan reports it). */
export function taskSize(svc: Service): { requested: FargateTaskSize; billed: FargateTaskSize } {
  const requested = { cpuUnits: cpuUnitsOf(svc.resources.cpuMillis), memoryMiB: svc.resources.memoryMiB };
  return { requested, billed: roundUpFargate(svc.resources.cpuMillis, svc.resources.memoryMiB) ?? requested };
}

/** The container health check command: ECS only runs commands, so http/tcp probes become shell probes. */
export function healthCommand(h: HealthCheck): string[] {
  const p = h.probe;
  switch (p.kind) {
    case "exec":
      return ["CMD", ...p.command];
    case "http": {
      const url = `http://127.0.0.1:${p.port}${p.path.startsWith("/") ? p.path : `/${p.path}`}`;
      return ["CMD-SHELL", `wget -q -O /dev/null '${url}' || curl -fsS -o /dev/null '${url}' || exit 1`];
    }
    case "tcp":
      return ["CMD-SHELL", `nc -z 127.0.0.1 ${p.port} || exit 1`];
    default: {
      const never: never = p;
      throw new Error(`unhandled probe ${JSON.stringify(never)}`);
    }
  }
}

// A count or "N%" of the replicas as whole tasks (surge rounds up, unavailability down, as Kubernetes does).
const tasksOf = (v: number | string, replicas: number, round: (x: number) => number): number =>
  typeof v === "string" && v.endsWith("%") ? round((Number(v.slice(0, -1)) / 100) * replicas) : Number(v);
// ECS rounds desiredCount × maximumPercent down and desiredCount × minimumHealthyPercent up: round each
// percentage so those products still allow the whole number of tasks (25% of 2 replicas is 1 extra task: 150, not 125).
const percentOf = (tasks: number, replicas: number): number => Math.ceil((tasks / Math.max(1, replicas)) * 100);

/**
 * deploymentConfiguration from the rollout settings and the replica floor.
 * Recreate stops every old task before starting a new one
 * (minimumHealthyPercent 0, maximumPercent 100); the caller passes
 * {@link effectiveRollout}, so one replica with a persistent volume gets it too.
 */
export function deploymentConfiguration(r: Rollout, replicas: number): Record<string, unknown> {
  const recreate = r.strategy === "recreate";
  return {
    deploymentCircuitBreaker: { enable: true, rollback: r.autoRollback },
    // ECS caps maximumPercent at 200 for services using the rolling update type.
    maximumPercent: recreate ? 100 : Math.min(200, 100 + percentOf(tasksOf(r.maxSurge, replicas, Math.ceil), replicas)),
    minimumHealthyPercent: recreate ? 0 : Math.max(0, 100 - percentOf(tasksOf(r.maxUnavailable, replicas, Math.floor), replicas)),
  };
}

/** FARGATE / FARGATE_SPOT strategy for a spot policy. */
export function capacityStrategy(svc: Service): { capacityProvider: string; base: number; weight: number }[] {
  const { spot, minOnDemand } = svc.placement;
  switch (spot) {
    case "never":
      return [{ capacityProvider: "FARGATE", base: 0, weight: 1 }];
    case "only":
      return [{ capacityProvider: "FARGATE_SPOT", base: 0, weight: 1 }];
    case "prefer":
      // minOnDemand replicas are the FARGATE base; everything above it goes to spot.
      return [
        ...(minOnDemand > 0 ? [{ capacityProvider: "FARGATE", base: minOnDemand, weight: 0 }] : []),
        { capacityProvider: "FARGATE_SPOT", base: 0, weight: 1 },
      ];
    default: {
      const never: never = spot;
      throw new Error(`unhandled spot policy ${String(never)}`);
    }
  }
}

/** The strategy a spot fallback switches a service to. */
export const ON_DEMAND_STRATEGY = [{ capacityProvider: "FARGATE", base: 0, weight: 1 }] as const;

const dirOf = (p: string): string => p.slice(0, p.lastIndexOf("/")) || "/";
const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Files and file secrets, grouped by directory: each directory becomes one task volume the init container fills. */
function initPlan(ctx: BackendContext<EcsTarget>, svc: Service): { volumes: { name: string; dir: string }[]; script: string[]; env: { name: string; value: string }[]; secrets: { name: string; valueFrom: string }[] } {
  const dirs = new Map<string, string>();
  const volumeFor = (path: string): string => {
    const d = dirOf(path);
    if (!dirs.has(d)) dirs.set(d, `sdx-dir-${dirs.size}`);
    return dirs.get(d)!;
  };
  const script: string[] = ["set -e"];
  const env: { name: string; value: string }[] = [];
  const secrets: { name: string; valueFrom: string }[] = [];
  svc.files.forEach((f, i) => {
    volumeFor(f.path);
    // Content travels base64-encoded in the init container's environment, so any bytes survive the shell.
    env.push({ name: `SDX_FILE_${i}`, value: Buffer.from(f.content, "utf8").toString("base64") });
    script.push(`printf %s "$SDX_FILE_${i}" | base64 -d > ${shellQuote(f.path)}`, `chmod ${f.mode.toString(8)} ${shellQuote(f.path)}`);
  });
  svc.secrets.forEach((s, i) => {
    const arn = secretValueFrom(ctx, svc.name, s);
    if (!s.asFile || !arn) return;
    volumeFor(s.asFile);
    secrets.push({ name: `SDX_SECRET_${i}`, valueFrom: arn });
    script.push(`printenv SDX_SECRET_${i} > ${shellQuote(s.asFile)}`, `chmod 400 ${shellQuote(s.asFile)}`);
  });
  return { volumes: [...dirs].map(([dir, name]) => ({ name, dir })), script, env, secrets };
}

/** The RegisterTaskDefinition input for one service. */
export function renderTaskDefinition(ctx: BackendContext<EcsTarget>, svc: Service): Record<string, unknown> {
  const { app, target } = ctx;
  const family = familyName(app.name, svc.name);
  const logConfiguration = {
    logDriver: "awslogs",
    options: { "awslogs-group": logGroupName(app.name), "awslogs-region": target.region, "awslogs-stream-prefix": svc.name },
  };
  const init = initPlan(ctx, svc);
  const ephemeral = svc.volumes.filter((v) => v.kind === "ephemeral");
  const envSecrets = svc.secrets.flatMap((s) => {
    const arn = secretValueFrom(ctx, svc.name, s);
    return s.asEnv && arn ? [{ name: s.asEnv, valueFrom: arn }] : [];
  });
  // valueFrom names the same parameter whatever it holds, so the value's digest rides along as a
  // label: a changed value registers a new revision (and rolls the service), an unchanged one nothing.
  const stored = svc.secrets.filter(isStoredBySdx).map((s) => s.name).sort();
  const dockerLabels = Object.fromEntries(stored.map((n) => [`${SECRET_DIGEST_LABEL}${n}`, digestOf(ctx, svc.name, n)]));
  const h = svc.health;
  const main: Record<string, unknown> = {
    name: svc.name,
    image: svc.image.ref,
    essential: true,
    ...(svc.command ? { entryPoint: [...svc.command] } : {}),
    ...(svc.args ? { command: [...svc.args] } : {}),
    environment: Object.keys(svc.env).sort().map((name) => ({ name, value: svc.env[name]! })),
    secrets: envSecrets.sort((a, b) => a.name.localeCompare(b.name)),
    portMappings: svc.ports.map((p) => ({ containerPort: p.port, protocol: p.protocol, name: p.name })),
    mountPoints: [
      ...ephemeral.map((v) => ({ sourceVolume: v.name, containerPath: v.path, readOnly: v.readOnly })),
      ...init.volumes.map((v) => ({ sourceVolume: v.name, containerPath: v.dir, readOnly: true })),
    ],
    ...(h
      ? {
          healthCheck: {
            command: healthCommand(h),
            interval: clamp(h.intervalSeconds, HEALTH_LIMITS.interval),
            timeout: clamp(h.timeoutSeconds, HEALTH_LIMITS.timeout),
            retries: clamp(h.retries, HEALTH_LIMITS.retries),
            startPeriod: clamp(h.startPeriodSeconds, HEALTH_LIMITS.startPeriod),
          },
        }
      : {}),
    ...(init.volumes.length > 0 ? { dependsOn: [{ containerName: INIT_CONTAINER, condition: "SUCCESS" }] } : {}),
    ...(stored.length > 0 ? { dockerLabels } : {}),
    logConfiguration,
  };
  const containers: Record<string, unknown>[] = [main];
  if (init.volumes.length > 0) {
    containers.push({
      name: INIT_CONTAINER,
      image: INIT_IMAGE,
      essential: false,
      entryPoint: ["sh", "-c"],
      command: [init.script.join("\n")],
      environment: init.env,
      secrets: init.secrets,
      mountPoints: init.volumes.map((v) => ({ sourceVolume: v.name, containerPath: v.dir, readOnly: false })),
      logConfiguration,
    });
  }
  const { billed } = taskSize(svc);
  // Fargate gives every task 20 GiB of ephemeral storage; ask for more only when the declared volumes need it.
  const ephemeralGiB = Math.ceil(ephemeral.reduce((n, v) => n + (v.sizeMiB ?? 0), 0) / 1024);
  return {
    family,
    requiresCompatibilities: ["FARGATE"],
    networkMode: "awsvpc",
    cpu: String(billed.cpuUnits),
    memory: String(billed.memoryMiB),
    runtimePlatform: { cpuArchitecture: svc.placement.arch === "arm64" ? "ARM64" : "X86_64", operatingSystemFamily: "LINUX" },
    ...(target.executionRoleArn ? { executionRoleArn: target.executionRoleArn } : {}),
    ...(target.taskRoleArn ? { taskRoleArn: target.taskRoleArn } : {}),
    containerDefinitions: containers,
    volumes: [...ephemeral.map((v) => ({ name: v.name })), ...init.volumes.map((v) => ({ name: v.name }))],
    ...(ephemeralGiB > 20 ? { ephemeralStorage: { sizeInGiB: Math.min(200, ephemeralGiB) } } : {}),
    tags: tagList(ownershipTags(app.name, svc.name, ctx.revision.services[svc.name])),
  };
}

/** The CreateService input for one service (UpdateService takes the mutable subset). */
export function renderService(ctx: BackendContext<EcsTarget>, svc: Service): Record<string, unknown> {
  const { app, target } = ctx;
  const floor = svc.scale.kind === "fixed" ? svc.scale.replicas : svc.scale.min;
  const tg = target.targetGroups[svc.name];
  const lbPort = svc.ports.find((p) => p.public) ?? svc.ports[0];
  return {
    serviceName: svc.name,
    cluster: target.cluster,
    taskDefinition: familyName(app.name, svc.name),
    desiredCount: floor,
    capacityProviderStrategy: capacityStrategy(svc),
    deploymentConfiguration: deploymentConfiguration(effectiveRollout(svc), floor),
    networkConfiguration: {
      awsvpcConfiguration: { subnets: [...target.subnets], securityGroups: [...target.securityGroups], assignPublicIp: target.assignPublicIp ? "ENABLED" : "DISABLED" },
    },
    ...(tg && lbPort
      ? {
          loadBalancers: [{ targetGroupArn: tg, containerName: svc.name, containerPort: lbPort.port }],
          healthCheckGracePeriodSeconds: Math.max(svc.health?.startPeriodSeconds ?? 0, 0),
        }
      : {}),
    propagateTags: "SERVICE",
    enableECSManagedTags: true,
    tags: tagList(ownershipTags(app.name, svc.name, ctx.revision.services[svc.name])),
  };
}

/** Application Auto Scaling target plus its CPU target-tracking policy, for an autoscaled service. */
export function renderScaling(ctx: BackendContext<EcsTarget>, svc: Service): Record<string, unknown> | undefined {
  if (svc.scale.kind !== "auto") return undefined;
  return {
    serviceNamespace: "ecs",
    resourceId: scalingResourceId(ctx.target.cluster, svc.name),
    scalableDimension: "ecs:service:DesiredCount",
    minCapacity: svc.scale.min,
    maxCapacity: svc.scale.max,
    policy: {
      policyName: scalingPolicyName(ctx.app.name, svc.name),
      policyType: "TargetTrackingScaling",
      targetTrackingScalingPolicyConfiguration: {
        targetValue: svc.scale.targetCpuPercent,
        predefinedMetricSpecification: { predefinedMetricType: "ECSServiceAverageCPUUtilization" },
      },
    },
  };
}

/**
 * Everything an app needs on ECS, in apply order: the cluster (when the target
 * creates it), the app's log group, and per service the SSM parameters of its
 * env/file secrets, a task definition, a service and, when autoscaled, a
 * scaling target with its policy. Pure.
 */
export function renderEcs(ctx: BackendContext<EcsTarget>): Resource[] {
  const { app, target } = ctx;
  const out: Resource[] = [];
  if (target.createCluster) {
    out.push({
      kind: "cluster",
      name: target.cluster,
      body: {
        clusterName: target.cluster,
        capacityProviders: ["FARGATE", "FARGATE_SPOT"],
        defaultCapacityProviderStrategy: [{ capacityProvider: "FARGATE", base: 0, weight: 1 }],
        tags: tagList(ownershipTags(app.name)),
      },
    });
  }
  out.push({ kind: "log-group", name: logGroupName(app.name), body: { logGroupName: logGroupName(app.name), tags: ownershipTags(app.name) } });
  // Parameters first: task definitions reference them (and a render-only plan lists them in this order).
  for (const svc of app.services) out.push(...renderParameters(ctx, svc));
  for (const svc of app.services) {
    out.push({ kind: "task-definition", name: familyName(app.name, svc.name), service: svc.name, body: renderTaskDefinition(ctx, svc) });
    out.push({ kind: "service", name: svc.name, service: svc.name, body: renderService(ctx, svc) });
    const scaling = renderScaling(ctx, svc);
    if (scaling) out.push({ kind: "scaling", name: svc.name, service: svc.name, body: scaling });
  }
  return out;
}
