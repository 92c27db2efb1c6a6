import type { Diagnostic, Service } from "@sdx/sdk";
import type { HostSpec } from "../hosts-target.js";

/** One replica slot of a service, on one host. */
export interface Placement {
  readonly service: string;
  readonly slot: number;
  readonly host: string;
}

/** Result of {@link placeReplicas}. */
export interface PlaceReplicasResult {
  readonly placements: readonly Placement[];
  /** Services that could not be placed in full (errors), and approximations (warnings). */
  readonly diagnostics: readonly Diagnostic[];
}

/** Replicas run on hosts: there is no autoscaler, so an autoscaled service runs its minimum. */
export function replicasOf(svc: Service): number {
  return svc.scale.kind === "fixed" ? svc.scale.replicas : svc.scale.min;
}

/** Hosts a service may run on: its constraints match the host's labels, and its spot policy the host's capacity. */
export function eligibleHosts(svc: Service, hosts: readonly HostSpec[]): HostSpec[] {
  return hosts.filter((h) => {
    for (const [k, v] of Object.entries(svc.placement.constraints)) if (h.labels[k] !== v) return false;
    // A spot policy the app did not give constrains nothing (no hidden runtime defaults).
    if (svc.placement.spot === "never" && !svc.placement.defaulted?.includes("spot") && h.capacity === "spot") return false;
    if (svc.placement.spot === "only" && h.capacity !== "spot") return false;
    return true;
  });
}

/**
 * Spreads each service's replicas over the hosts it may run on: the host with
 * the fewest replicas of the service first, then (for `spot: prefer`, after
 * `minOnDemand` on-demand replicas) spot hosts, then the order of the target's
 * list, among the hosts with enough declared CPU and memory left. Pure and deterministic, so a
 * plan moves nothing until the hosts or the app change, and adding a replica
 * never moves the others. A service with a public port runs at most one
 * replica per host (the port is published on the host's addresses). Declared
 * host sizes (`cpus`, `memory`) are honoured; hosts without one are not
 * checked here (the estimator packs against the catalog's sizes).
 */
export function placeReplicas(services: readonly Service[], hosts: readonly HostSpec[], targetName: string): PlaceReplicasResult {
  const placements: Placement[] = [];
  const diagnostics: Diagnostic[] = [];
  const free = new Map(hosts.map((h) => [h.name, { cpu: h.cpuMillis ?? Infinity, memory: h.memoryMiB ?? Infinity }]));
  const order = new Map(hosts.map((h, i) => [h.name, i]));
  for (const svc of [...services].sort((a, b) => a.name.localeCompare(b.name))) {
    const wanted = replicasOf(svc);
    if (wanted === 0) continue;
    const eligible = eligibleHosts(svc, hosts);
    const path = `services.${svc.name}`;
    if (eligible.length === 0) {
      diagnostics.push({
        code: "SDX_PLACEMENT", severity: "error", path, target: targetName,
        message: `no host of the target can run ${svc.name}: none matches ${describePlacement(svc)}`,
        hint: "Label a host to match (hosts[].labels, hosts[].capacity) or change the service's placement.",
      });
      continue;
    }
    const onePerHost = svc.ports.some((p) => p.public);
    const count = new Map<string, number>();
    let placed = 0;
    for (let slot = 0; slot < wanted; slot++) {
      const needOnDemand = svc.placement.spot === "prefer" && slot < svc.placement.minOnDemand;
      const candidates = eligible.filter((h) => {
        const f = free.get(h.name)!;
        if (onePerHost && (count.get(h.name) ?? 0) > 0) return false;
        if (needOnDemand && h.capacity === "spot") return false;
        return f.cpu >= svc.resources.cpuMillis && f.memory >= svc.resources.memoryMiB;
      });
      candidates.sort((a, b) =>
        (count.get(a.name) ?? 0) - (count.get(b.name) ?? 0) ||
        (svc.placement.spot === "prefer" && !needOnDemand ? spotFirst(a) - spotFirst(b) : 0) ||
        // Declared sizes filter, they do not rank: ranking by memory left would let a replica
        // added to one service move another service's replica.
        order.get(a.name)! - order.get(b.name)!,
      );
      const h = candidates[0];
      if (!h) break;
      const f = free.get(h.name)!;
      f.cpu -= svc.resources.cpuMillis;
      f.memory -= svc.resources.memoryMiB;
      count.set(h.name, (count.get(h.name) ?? 0) + 1);
      placements.push({ service: svc.name, slot, host: h.name });
      placed++;
    }
    if (placed < wanted) {
      const why = onePerHost && placed === eligible.length
        ? `it publishes a public port, so each host runs at most one replica and only ${eligible.length} host(s) may run it`
        : `the hosts it may run on have too little declared CPU or memory left (${svc.resources.cpuMillis}m / ${svc.resources.memoryMiB} MiB per replica)`;
      diagnostics.push({
        code: "SDX_PLACEMENT", severity: "error", path: `${path}.scale`, target: targetName,
        message: `only ${placed} of ${wanted} replicas of ${svc.name} fit on the hosts: ${why}`,
        hint: "Add hosts to the target, lower the replicas or requests, or move the public port behind a load balancer.",
      });
    }
  }
  return { placements, diagnostics };
}

function spotFirst(h: HostSpec): number {
  return h.capacity === "spot" ? 0 : 1;
}

function describePlacement(svc: Service): string {
  const parts = Object.entries(svc.placement.constraints).map(([k, v]) => `${k}=${v}`);
  if (svc.placement.spot !== "prefer") parts.push(`spot: ${svc.placement.spot}`);
  return parts.length ? parts.join(", ") : "its placement";
}
