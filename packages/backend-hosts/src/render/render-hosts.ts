import { canonicalJson, ownershipLabels, secretKey, sha256, type BackendContext, type Resource, type Service } from "@sdx/sdk";
import type { HostsTarget } from "../hosts-target.js";
import { healthCommand } from "./health-command.js";
import { slotName } from "./host-names.js";
import { placeReplicas, replicasOf } from "./place-replicas.js";

/** Resource kinds this backend renders: one container per replica slot. */
export const HOSTS_KINDS = ["container"] as const;

/**
 * What one replica slot runs, as diffed and applied. Secrets and files enter
 * by digest only: the values reach the host as files at apply time.
 */
export interface ContainerBody {
  readonly host: string;
  readonly image: string;
  readonly entrypoint?: readonly string[];
  readonly command?: readonly string[];
  /** Plain variables from the app file. */
  readonly env: Readonly<Record<string, string>>;
  /** Secret variables (delivered in a 0400 env file): variable → secret name. */
  readonly envSecrets: Readonly<Record<string, string>>;
  /** Secret files: path in the container → secret name. */
  readonly secretFiles: Readonly<Record<string, string>>;
  /** Secret name → content digest (a new value replaces the container). */
  readonly secretDigests: Readonly<Record<string, string>>;
  /** Config files: path in the container → content digest and mode. */
  readonly files: Readonly<Record<string, { readonly digest: string; readonly mode: number }>>;
  /** `hostPort:containerPort/protocol`, for public ports. */
  readonly ports: readonly string[];
  readonly volumes: readonly { readonly name: string; readonly path: string; readonly kind: "ephemeral" | "persistent"; readonly readOnly: boolean }[];
  readonly health?: { readonly test: readonly string[]; readonly intervalSeconds: number; readonly timeoutSeconds: number; readonly retries: number; readonly startPeriodSeconds: number };
  readonly cpuLimitMillis?: number;
  readonly memoryLimitMiB?: number;
  /** Labels from the app and the service. */
  readonly labels: Readonly<Record<string, string>>;
  /**
   * Stop the old container before starting the new one: a persistent volume
   * (two processes on one data directory), a published host port (it cannot
   * be bound twice) or `rollout.strategy: recreate`.
   */
  readonly stopFirst: boolean;
  /** Seconds to wait for the new container to be healthy. */
  readonly timeoutSeconds: number;
  readonly autoRollback: boolean;
}

/** Requests and replicas of a slot's service, carried for status and cost deltas (not diffed: a scale changes no container). */
export interface SlotFacts {
  readonly replicas: number;
  readonly cpuMillis: number;
  readonly memoryMiB: number;
}

/** The container revision: 12 hex of the body, so a mere scale changes no container. */
export function containerRevision(body: ContainerBody): string {
  return sha256(canonicalJson(body), 12);
}

function containerBody(ctx: BackendContext<HostsTarget>, svc: Service, host: string): ContainerBody {
  const envSecrets: Record<string, string> = {};
  const secretFiles: Record<string, string> = {};
  const secretDigests: Record<string, string> = {};
  for (const s of svc.secrets) {
    secretDigests[s.name] = ctx.secrets.get(secretKey(svc.name, s.name))?.digest ?? "unresolved";
    if (s.asEnv) envSecrets[s.asEnv] = s.name;
    if (s.asFile || !s.asEnv) secretFiles[s.asFile ?? `/run/secrets/${s.name}`] = s.name;
  }
  const files: Record<string, { digest: string; mode: number }> = {};
  for (const f of svc.files) files[f.path] = { digest: sha256(f.content, 16), mode: f.mode };
  const h = svc.health;
  const persistent = svc.volumes.some((v) => v.kind === "persistent");
  const ports = svc.ports.filter((p) => p.public).map((p) => `${p.port}:${p.port}/${p.protocol}`);
  return {
    host,
    image: svc.image.ref,
    ...(svc.command ? { entrypoint: svc.command } : {}),
    ...(svc.args ? { command: svc.args } : {}),
    env: svc.env,
    envSecrets, secretFiles, secretDigests, files, ports,
    volumes: svc.volumes.map((v) => ({ name: v.name, path: v.path, kind: v.kind, readOnly: v.readOnly })),
    ...(h ? { health: { test: healthCommand(h.probe, h.timeoutSeconds), intervalSeconds: h.intervalSeconds, timeoutSeconds: h.timeoutSeconds, retries: h.retries, startPeriodSeconds: h.startPeriodSeconds } } : {}),
    // Requests place and price replicas; only a limit the model gives is enforced.
    ...(svc.resources.limits?.cpuMillis ? { cpuLimitMillis: svc.resources.limits.cpuMillis } : {}),
    ...(svc.resources.limits?.memoryMiB ? { memoryLimitMiB: svc.resources.limits.memoryMiB } : {}),
    labels: { ...ctx.app.labels, ...svc.labels },
    stopFirst: persistent || ports.length > 0 || svc.rollout.strategy === "recreate",
    timeoutSeconds: svc.rollout.timeoutSeconds,
    autoRollback: svc.rollout.autoRollback,
  };
}

/**
 * One `container` resource per replica slot (`<app>-<service>-<slot>`), placed
 * on a host by {@link placeReplicas}. The body is what the container runs;
 * `facts` (replicas, requests) and `ownership` (sdx's ownership labels of
 * the container) ride along for labels without being diffed.
 */
export function renderHosts(ctx: BackendContext<HostsTarget>): Resource[] {
  const { placements } = placeReplicas(ctx.app.services, ctx.target.hosts, ctx.target.name);
  const byName = new Map(ctx.app.services.map((s) => [s.name, s]));
  return placements.map((p) => {
    const svc = byName.get(p.service)!;
    const body = containerBody(ctx, svc, p.host);
    const facts: SlotFacts = { replicas: replicasOf(svc), cpuMillis: svc.resources.cpuMillis, memoryMiB: svc.resources.memoryMiB };
    // Ownership rides beside the body (not in `labels`, not diffed): the revision label is added at apply.
    const ownership = ownershipLabels(ctx.app.name, svc.name);
    return { kind: "container", name: slotName(ctx.app.name, svc.name, p.slot), service: svc.name, body: { ...body, slot: p.slot, facts, ownership } };
  });
}

/** The diffed part of a rendered or observed body: without the slot index, the facts and the ownership labels. */
export function comparableBody(body: Readonly<Record<string, unknown>>): ContainerBody {
  const { slot: _slot, facts: _facts, ownership: _ownership, ...rest } = body as unknown as ContainerBody & { slot?: number; facts?: SlotFacts; ownership?: Record<string, string> };
  return rest;
}
