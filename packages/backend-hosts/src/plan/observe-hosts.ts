import { isOwnedBy, LABEL_SERVICE, type DeployedService, type LiveResource } from "@sdx/sdk";
import type { HostPool } from "../client/host-pool.js";
import type { ObservedContainer } from "../client/docker-host.js";
import { LABEL_CPU, LABEL_MEMORY, LABEL_REPLICAS, LABEL_SLOT, slotName } from "../render/host-names.js";
import type { ContainerBody } from "../render/render-hosts.js";

/** Label: the container's body as deployed (canonical JSON, base64), the one source of live state. */
export const LABEL_SPEC = "sdx.dev/spec";

/** A container of the app on one host. */
export interface HostContainer extends ObservedContainer {
  readonly hostName: string;
}

/** One replica slot as found on the hosts. */
export interface LiveSlot {
  readonly name: string;
  readonly service: string;
  readonly slot: number;
  /** The container that fills the slot: a running one first, else the newest. */
  readonly current: HostContainer;
  /** Its deployed body (from {@link LABEL_SPEC}). */
  readonly body: ContainerBody | undefined;
  /** Other containers of the slot (old revisions kept for a rollback, or left by an interrupted deploy). */
  readonly others: readonly HostContainer[];
}

/** What sdx sees of an app on all the target's hosts. */
export interface HostsLive {
  readonly slots: ReadonlyMap<string, LiveSlot>;
  readonly containers: readonly HostContainer[];
}

/** Reads the body a container was deployed with, or undefined for a damaged label. */
export function specOf(c: ObservedContainer): ContainerBody | undefined {
  const raw = c.labels[LABEL_SPEC];
  if (!raw) return undefined;
  try {
    return JSON.parse(Buffer.from(raw, "base64").toString("utf8")) as ContainerBody;
  } catch {
    return undefined;
  }
}

/** Lists every container with this app's ownership labels on every host (one `docker ps` + `inspect` per host, hosts in parallel). */
export async function observeHosts(pool: HostPool, app: string, signal?: AbortSignal): Promise<HostsLive> {
  const perHost = await Promise.all(
    [...pool.hosts].map(async ([hostName, d]) => (await d.listContainers(app, [], signal)).filter((c) => isOwnedBy(c.labels, app)).map((c): HostContainer => ({ ...c, hostName }))),
  );
  const containers = perHost.flat();
  const groups = new Map<string, HostContainer[]>();
  for (const c of containers) {
    const service = c.labels[LABEL_SERVICE];
    const slot = Number(c.labels[LABEL_SLOT]);
    if (!service || !Number.isInteger(slot)) continue;
    const key = slotName(app, service, slot);
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const slots = new Map<string, LiveSlot>();
  for (const [name, cs] of groups) {
    const ranked = [...cs].sort((a, b) => rank(a) - rank(b) || (b.startedAt ?? "").localeCompare(a.startedAt ?? "") || a.name.localeCompare(b.name));
    const current = ranked[0]!;
    slots.set(name, { name, service: current.labels[LABEL_SERVICE]!, slot: Number(current.labels[LABEL_SLOT]), current, body: specOf(current), others: ranked.slice(1) });
  }
  return { slots, containers };
}

function rank(c: ObservedContainer): number {
  if (c.state === "running" && c.health !== "unhealthy") return 0;
  if (c.state === "running" || c.state === "restarting") return 1;
  return 2;
}

/** True when a container serves: running, and healthy when it has a health check. */
export function isServing(c: ObservedContainer): boolean {
  return c.state === "running" && (c.health === undefined || c.health === "healthy");
}

/** The live slots as diffable resources: the deployed body with the host it was found on. */
export function liveResources(live: HostsLive): LiveResource[] {
  return [...live.slots.values()].map((s) => ({
    kind: "container", name: s.name, service: s.service, owned: true, version: s.current.id,
    body: { ...(s.body ?? { image: s.current.image }), host: s.current.hostName },
  }));
}

/** Replicas and requests per service, from the labels of the serving containers. */
export function deployedServices(live: HostsLive): DeployedService[] {
  const out = new Map<string, DeployedService>();
  for (const s of live.slots.values()) {
    const l = s.current.labels;
    out.set(s.service, { service: s.service, replicas: Number(l[LABEL_REPLICAS] ?? 0), cpuMillis: Number(l[LABEL_CPU] ?? 0), memoryMiB: Number(l[LABEL_MEMORY] ?? 0) });
  }
  return [...out.values()];
}

/** Why a slot has not converged on what it runs, or undefined. */
export function slotUnfinished(s: LiveSlot): string | undefined {
  if (!isServing(s.current)) return `${s.current.name} on ${s.current.hostName} is ${s.current.health ?? s.current.state}`;
  const extra = s.others.length;
  return extra ? `${extra} container(s) of an older or interrupted rollout still on ${[...new Set(s.others.map((o) => o.hostName))].join(", ")}` : undefined;
}

