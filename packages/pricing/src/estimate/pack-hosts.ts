import type { Allocatable } from "./node-overhead.js";

/** One fixed host replicas can be packed onto. */
export interface PackHost {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly spot: boolean;
  /**
   * Room for replicas once the host keeps its reserve. Undefined when the
   * host's size is unknown: it is assumed to take whatever it is given, but
   * only after every host of known size that may take the replicas.
   */
  readonly allocatable?: Allocatable;
}

/** Identical replicas of one service, with the hosts they may run on. */
export interface HostPackItem {
  readonly service: string;
  readonly cpuMillis: number;
  readonly memoryMiB: number;
  readonly count: number;
  /** Labels a host must carry with these values (`placement.constraints`). */
  readonly constraints: Readonly<Record<string, string>>;
  /**
   * `on-demand`: only on-demand hosts; `spot`: only spot hosts;
   * `prefer-spot`: spot hosts first, then on-demand ones.
   */
  readonly capacity: "on-demand" | "spot" | "prefer-spot";
  /** The placement setting behind `capacity`, for messages, e.g. `placement.spot: never`. */
  readonly capacityRule: string;
}

/** Replicas of a service placed on one host. */
export interface HostPlacement {
  readonly host: string;
  readonly service: string;
  readonly count: number;
  readonly spot: boolean;
  /** The host's size is unknown: these replicas are assumed to fit. */
  readonly assumedToFit: boolean;
}

/** Replicas of one item that no host could take, and why. */
export interface UnplacedReplicas {
  readonly service: string;
  readonly count: number;
  readonly cpuMillis: number;
  readonly memoryMiB: number;
  /** `constraints`: no host may take them at all; `capacity`: the hosts that may are full or too small. */
  readonly kind: "constraints" | "capacity";
  /** Why, e.g. "no host has the labels zone=eu (placement.constraints)". */
  readonly reason: string;
}

/** What {@link packOntoHosts} did. */
export interface PackHostsResult {
  /** Per host and service, in host order. */
  readonly placements: readonly HostPlacement[];
  readonly unplaced: readonly UnplacedReplicas[];
}

/**
 * Places replicas onto a fixed list of hosts, first-fit decreasing: groups of
 * identical replicas in decreasing order of their dominant share (CPU or
 * memory, against the largest known host), each group into the first hosts,
 * in declared order, that may take it and have room. Hosts of unknown size
 * come after the known ones a group may use and take everything left. Pure.
 *
 * Identical replicas are placed a group at a time: first fit puts each into
 * the first host with room, so a host takes as many as fit before the next is
 * tried; the work is O(groups × hosts), whatever the replica count.
 */
export function packOntoHosts(items: readonly HostPackItem[], hosts: readonly PackHost[]): PackHostsResult {
  const free = hosts.map((h) => (h.allocatable ? { cpu: h.allocatable.cpuMillis, mem: h.allocatable.memoryMiB } : undefined));
  const maxCpu = Math.max(1, ...hosts.map((h) => h.allocatable?.cpuMillis ?? 0));
  const maxMem = Math.max(1, ...hosts.map((h) => h.allocatable?.memoryMiB ?? 0));
  const share = (it: HostPackItem): number => Math.max(it.cpuMillis / maxCpu, it.memoryMiB / maxMem);
  // Stable sort: groups of the same share keep the services' order.
  const order = items.filter((it) => it.count > 0).sort((a, b) => share(b) - share(a));

  const placed = new Map<string, { host: number; service: string; count: number; assumedToFit: boolean }>();
  const unplaced: UnplacedReplicas[] = [];
  for (const it of order) {
    const eligible = eligibleHosts(it, hosts);
    let left = it.count;
    for (const i of eligible) {
      const room = free[i];
      // Zero requests always fit; a host of unknown size takes everything left.
      const n = room
        ? Math.min(left, it.cpuMillis > 0 ? Math.floor(room.cpu / it.cpuMillis) : Infinity, it.memoryMiB > 0 ? Math.floor(room.mem / it.memoryMiB) : Infinity)
        : left;
      if (n <= 0) continue;
      if (room) {
        room.cpu -= n * it.cpuMillis;
        room.mem -= n * it.memoryMiB;
      }
      const key = `${i}\0${it.service}`;
      const p = placed.get(key);
      if (p) p.count += n;
      else placed.set(key, { host: i, service: it.service, count: n, assumedToFit: !room });
      left -= n;
      if (left === 0) break;
    }
    if (left > 0) unplaced.push({ service: it.service, count: left, cpuMillis: it.cpuMillis, memoryMiB: it.memoryMiB, ...whyUnplaced(it, hosts, eligible, free) });
  }
  const placements = [...placed.values()]
    .sort((a, b) => a.host - b.host)
    .map((p): HostPlacement => ({ host: hosts[p.host]!.name, service: p.service, count: p.count, spot: hosts[p.host]!.spot, assumedToFit: p.assumedToFit }));
  return { placements, unplaced };
}

/** Indexes of the hosts an item may use, in the order it tries them. */
function eligibleHosts(it: HostPackItem, hosts: readonly PackHost[]): number[] {
  const tiers: readonly boolean[] = it.capacity === "on-demand" ? [false] : it.capacity === "spot" ? [true] : [true, false];
  const out: number[] = [];
  for (const spot of tiers) {
    const matching = hosts.map((h, i) => ({ h, i })).filter(({ h }) => h.spot === spot && matches(h, it.constraints));
    // Known sizes first: a host of unknown size is a last resort, so the estimate assumes as little as it can.
    out.push(...matching.filter(({ h }) => h.allocatable).map(({ i }) => i), ...matching.filter(({ h }) => !h.allocatable).map(({ i }) => i));
  }
  return out;
}

function matches(h: PackHost, constraints: Readonly<Record<string, string>>): boolean {
  return Object.entries(constraints).every(([k, v]) => h.labels[k] === v);
}

function whyUnplaced(
  it: HostPackItem, hosts: readonly PackHost[], eligible: readonly number[], free: readonly ({ cpu: number; mem: number } | undefined)[],
): Pick<UnplacedReplicas, "kind" | "reason"> {
  const labels = Object.entries(it.constraints).map(([k, v]) => `${k}=${v}`).join(", ");
  if (eligible.length === 0) {
    if (labels && !hosts.some((h) => matches(h, it.constraints))) {
      return { kind: "constraints", reason: `no host has the labels ${labels} (placement.constraints)` };
    }
    const wanted = it.capacity === "on-demand" ? "on-demand" : "spot";
    return { kind: "constraints", reason: `no ${wanted} host${labels ? ` with the labels ${labels}` : ""} (${it.capacityRule})` };
  }
  const vcpu = (m: number): string => `${m / 1000} vCPU`;
  const need = `each replica needs ${vcpu(it.cpuMillis)} / ${it.memoryMiB} MiB`;
  const sized = eligible.map((i) => hosts[i]!.allocatable!);
  const where = eligible.length === 1 ? `host ${hosts[eligible[0]!]!.name}, the one that may take it` : `the ${eligible.length} hosts that may take it`;
  if (sized.every((a) => a.cpuMillis < it.cpuMillis || a.memoryMiB < it.memoryMiB)) {
    const cpu = Math.max(...sized.map((a) => a.cpuMillis));
    const mem = Math.max(...sized.map((a) => a.memoryMiB));
    const what = cpu < it.cpuMillis && mem < it.memoryMiB ? "CPU and memory" : cpu < it.cpuMillis ? "CPU" : mem < it.memoryMiB ? "memory" : "CPU and memory on one host";
    return { kind: "capacity", reason: `too little ${what} on ${where}, even empty (${need}; at most ${vcpu(cpu)} / ${mem} MiB after the reserve)` };
  }
  const rooms = eligible.map((i) => free[i]!);
  const cpu = Math.max(...rooms.map((r) => r.cpu));
  const mem = Math.max(...rooms.map((r) => r.mem));
  const what = cpu < it.cpuMillis && mem < it.memoryMiB ? "CPU and memory" : cpu < it.cpuMillis ? "CPU" : mem < it.memoryMiB ? "memory" : "CPU and memory on one host";
  const most = cpu < it.cpuMillis && mem >= it.memoryMiB ? `at most ${vcpu(cpu)} left` : mem < it.memoryMiB && cpu >= it.cpuMillis ? `at most ${mem} MiB left` : `at most ${vcpu(cpu)} / ${mem} MiB left`;
  return { kind: "capacity", reason: `not enough ${what} left on ${where} (${need}; ${most})` };
}
