import { LABEL_REVISION, ownershipLabels, secretKey, sha256, type App, type BackendContext, type Placement, type Resource, type Resources, type Service } from "@sdx/sdk";
import type { SwarmTarget } from "../swarm-target.js";
import { healthTest } from "./health-test.js";
import { contentName, fileSlug, LABEL_STACK_NAMESPACE, networkName, serviceName, volumeName } from "./swarm-names.js";
import { NS_PER_SECOND, updateConfigs } from "./update-config.js";

/** Resource kinds this backend renders, in apply order. */
export const SWARM_KINDS = ["network", "secret", "config", "service"] as const;
/** One of {@link SWARM_KINDS}. */
export type SwarmKind = (typeof SWARM_KINDS)[number];

/** The target settings render and check read (defaults applied by the target spec). */
export type SwarmSettings = Pick<SwarmTarget, "spotLabel" | "publishMode">;

/** Secret sources sdx can turn into Swarm secrets (it must read the value itself). */
export const SWARM_SECRET_SOURCES: ReadonlySet<string> = new Set(["env", "file"]);

const MIB = 2 ** 20;

/** Node platform architecture names as Swarm reports them (`uname -m`). */
const ARCH: Readonly<Record<Placement["arch"], string>> = { amd64: "x86_64", arm64: "aarch64" };

/** Where a secret's file lands: its `asFile`, else Swarm's default directory. */
export function secretPath(s: { name: string; asFile?: string }): string {
  return s.asFile ?? `/run/secrets/${s.name}`;
}

function stackLabels(app: App, service?: string, revision?: string): Record<string, string> {
  return { ...app.labels, [LABEL_STACK_NAMESPACE]: app.name, ...ownershipLabels(app.name, service, revision) };
}

/** Replicas Swarm runs: autoscaling is not native, so an autoscaled service runs its minimum. */
export function replicasOf(svc: Service): number {
  return svc.scale.kind === "fixed" ? svc.scale.replicas : svc.scale.min;
}

/**
 * Placement constraints and preferences for the model's placement. A spot
 * policy or architecture the app left out (`placement.defaulted`) adds no
 * constraint: it was only priced, and any node may run the task.
 */
export function placementOf(p: Placement, settings: SwarmSettings): Record<string, unknown> {
  const label = `node.labels.${settings.spotLabel}`;
  const constraints: string[] = [];
  const preferences: unknown[] = [];
  const left = new Set(p.defaulted ?? []);
  const spot = left.has("spot") ? undefined : p.spot;
  switch (spot) {
    case undefined:
      break;
    case "never":
      // `!=` also matches nodes without the label: unlabelled nodes count as on-demand.
      constraints.push(`${label}!=spot`);
      break;
    case "only":
      constraints.push(`${label}==spot`);
      break;
    case "prefer":
      // Swarm has no weighted preference; spreading over the label's values puts
      // replicas on spot and on-demand nodes alike (see README: minOnDemand).
      preferences.push({ Spread: { SpreadDescriptor: label } });
      break;
    default: {
      const never: never = spot;
      throw new Error(`unhandled spot policy ${String(never)}`);
    }
  }
  if (!left.has("arch")) constraints.push(`node.platform.arch==${ARCH[p.arch]}`);
  for (const [k, v] of Object.entries(p.constraints)) constraints.push(`node.labels.${k}==${v}`);
  return { ...(constraints.length ? { Constraints: constraints } : {}), ...(preferences.length ? { Preferences: preferences } : {}) };
}

/**
 * Task resources: a reservation for each request the app gave and a limit for
 * each limit it gave, nothing else. A defaulted request is only priced, and a
 * memory limit the model does not state would OOM-kill a process that merely
 * uses more than sdx guessed.
 */
export function resourcesOf(r: Resources): Record<string, unknown> {
  const left = new Set(r.defaulted ?? []);
  const reservations = {
    ...(left.has("cpu") ? {} : { NanoCPUs: r.cpuMillis * 1_000_000 }),
    ...(left.has("memory") ? {} : { MemoryBytes: r.memoryMiB * MIB }),
  };
  const limits = {
    ...(r.limits?.cpuMillis === undefined ? {} : { NanoCPUs: r.limits.cpuMillis * 1_000_000 }),
    ...(r.limits?.memoryMiB === undefined ? {} : { MemoryBytes: r.limits.memoryMiB * MIB }),
  };
  return { ...(Object.keys(limits).length ? { Limits: limits } : {}), ...(Object.keys(reservations).length ? { Reservations: reservations } : {}) };
}

function renderService(ctx: BackendContext, svc: Service, settings: SwarmSettings, mounted: { secrets: unknown[]; configs: unknown[] }, envSecrets: { env: string; path: string }[]): Resource {
  const app = ctx.app;
  const name = serviceName(app.name, svc.name);
  const labels = { ...stackLabels(app, svc.name, ctx.revision.services[svc.name]), ...svc.labels };
  // Container labels leave out the revision: it changes on a mere scale, and
  // any change to the task template makes Swarm replace every task.
  const { [LABEL_REVISION]: _revision, ...containerLabels } = labels;
  const env = Object.entries(svc.env).map(([k, v]) => `${k}=${v}`);
  // Swarm secrets are files only. `<VAR>_FILE` names the file (the convention of
  // official images); with an explicit command sdx also exports `<VAR>` itself.
  for (const e of envSecrets) env.push(`${e.env}_FILE=${e.path}`);
  let command = svc.command ? [...svc.command] : undefined;
  if (command && envSecrets.length > 0) {
    const exports = envSecrets.map((e) => `export ${e.env}="$(cat '${e.path}')"`).join("; ");
    command = ["sh", "-c", `${exports}; exec "$@"`, "sdx-env", ...command];
  }
  const mounts = svc.volumes.map((v) =>
    v.kind === "ephemeral"
      ? { Type: "tmpfs", Target: v.path, ...(v.readOnly ? { ReadOnly: true } : {}), ...(v.sizeMiB ? { TmpfsOptions: { SizeBytes: v.sizeMiB * MIB } } : {}) }
      : { Type: "volume", Source: v.dockerName ?? volumeName(app.name, svc.name, v.name), Target: v.path, ...(v.readOnly ? { ReadOnly: true } : {}), VolumeOptions: { Labels: stackLabels(app, svc.name) } },
  );
  const h = svc.health;
  const healthcheck = h
    ? {
        Test: healthTest(h.probe, h.timeoutSeconds),
        Interval: h.intervalSeconds * NS_PER_SECOND,
        Timeout: h.timeoutSeconds * NS_PER_SECOND,
        Retries: h.retries,
        StartPeriod: h.startPeriodSeconds * NS_PER_SECOND,
      }
    : undefined;
  const resources = resourcesOf(svc.resources);
  const replicas = replicasOf(svc);
  const { update, rollback } = updateConfigs(svc, replicas);
  const published = svc.ports.filter((p) => p.public);
  const host = settings.publishMode === "host";
  return {
    kind: "service",
    name,
    service: svc.name,
    body: {
      Name: name,
      Labels: labels,
      TaskTemplate: {
        ContainerSpec: {
          Image: svc.image.ref,
          Labels: containerLabels,
          ...(command ? { Command: command } : {}),
          ...(svc.args ? { Args: [...svc.args] } : {}),
          ...(env.length ? { Env: env } : {}),
          ...(mounted.secrets.length ? { Secrets: mounted.secrets } : {}),
          ...(mounted.configs.length ? { Configs: mounted.configs } : {}),
          ...(mounts.length ? { Mounts: mounts } : {}),
          ...(healthcheck ? { Healthcheck: healthcheck } : {}),
        },
        ...(Object.keys(resources).length ? { Resources: resources } : {}),
        RestartPolicy: { Condition: "any", Delay: 5 * NS_PER_SECOND, MaxAttempts: 0 },
        Placement: placementOf(svc.placement, settings),
        Networks: [{ Target: networkName(app.name), Aliases: [svc.name] }],
      },
      Mode: { Replicated: { Replicas: replicas } },
      UpdateConfig: update,
      RollbackConfig: rollback,
      EndpointSpec: {
        // Host-mode ports bypass the routing mesh, and so do DNS round-robin
        // endpoints; ingress-published ports need a VIP.
        Mode: host ? "dnsrr" : "vip",
        ...(published.length
          ? {
              Ports: published.map((p) => ({
                Protocol: p.protocol,
                TargetPort: p.port,
                // Host mode leaves the published port to the engine, so several
                // replicas can share a node; ingress publishes the container port.
                ...(host ? {} : { PublishedPort: p.port }),
                PublishMode: host ? "host" : "ingress",
              })),
            }
          : {}),
      },
    },
  };
}

/**
 * Renders an app into Swarm objects: one attachable overlay network, a
 * content-named secret per secret and config per file, and a ServiceSpec per
 * service. Pure and deterministic. Secret values stay `Redacted` in `Data`;
 * the client reveals and encodes them when it sends the request.
 */
export function renderSwarm(ctx: BackendContext<SwarmTarget>): Resource[] {
  const app = ctx.app;
  const settings: SwarmSettings = ctx.target;
  const out: Resource[] = [];
  out.push({
    kind: "network",
    name: networkName(app.name),
    body: { Name: networkName(app.name), Driver: "overlay", Attachable: true, Labels: stackLabels(app) },
  });
  for (const svc of app.services) {
    const secrets: unknown[] = [];
    const configs: unknown[] = [];
    const envSecrets: { env: string; path: string }[] = [];
    for (const s of svc.secrets) {
      if (!SWARM_SECRET_SOURCES.has(s.source.kind)) continue; // check() reports these as errors
      const resolved = ctx.secrets.get(secretKey(svc.name, s.name));
      const digest = resolved?.digest ?? sha256("unresolved", 16);
      const name = contentName(app.name, svc.name, s.name, digest);
      out.push({ kind: "secret", name, service: svc.name, body: { Name: name, Labels: stackLabels(app, svc.name), ...(resolved?.value ? { Data: resolved.value } : {}) } });
      const path = secretPath(s);
      secrets.push({ File: { Name: path, UID: "0", GID: "0", Mode: 0o444 }, SecretName: name });
      if (s.asEnv) envSecrets.push({ env: s.asEnv, path });
    }
    for (const f of svc.files) {
      const name = contentName(app.name, svc.name, fileSlug(f.path), sha256(f.content, 8));
      out.push({ kind: "config", name, service: svc.name, body: { Name: name, Labels: stackLabels(app, svc.name), Data: f.content } });
      configs.push({ File: { Name: f.path, UID: "0", GID: "0", Mode: f.mode }, ConfigName: name });
    }
    out.push(renderService(ctx, svc, settings, { secrets, configs }, envSecrets));
  }
  return out;
}
