import { SdxError, type App, type ChoosePolicy, type CostLine, type NodeReserve, type PriceProvenance } from "@sdx/sdk";
import type { Arch } from "../catalog/price-catalog.js";
import { costLine, HOURS_PER_MONTH, NOT_PRICED_COMMON, NOT_PRICED_CPU_CREDITS, oldestAsOf, sumHourly, usd, type PricedCandidate } from "./candidate.js";
import { allocatable, describeOverhead } from "./node-overhead.js";
import { packReplicas, type PackItem } from "./pack-replicas.js";
import { planReplicas, type ReplicaPlan } from "./replica-plan.js";

/** A machine type a target can run nodes of, with its prices. */
export interface NodeType {
  readonly instanceType: string;
  readonly vcpus: number;
  readonly memoryGiB: number;
  readonly arch: Arch;
  readonly onDemandUsd: number;
  /** Undefined when there is no spot offer. */
  readonly spotUsd?: number;
  readonly provenance: PriceProvenance;
  /** @default provenance */
  readonly spotProvenance?: PriceProvenance;
}

/** Input of {@link estimateNodes}. */
export interface EstimateNodesInput {
  readonly app: App;
  readonly target: string;
  readonly backend: string;
  readonly provider: string;
  readonly region: string;
  /** The node types the target offers (its `pricing.nodeTypes`, priced). */
  readonly nodeTypes: readonly NodeType[];
  /** What each node keeps for itself, as the target's backend declares it (its `nodes` cost model). */
  readonly reserve: NodeReserve;
  /** The target has spot nodes. */
  readonly spotAvailable: boolean;
  /** A control-plane fee charged to this app (dedicated cluster). @default none */
  readonly controlPlane?: { readonly item: string; readonly usdPerHour: number; readonly provenance: PriceProvenance };
  readonly policy?: Pick<ChoosePolicy, "allowSpot" | "minOnDemandShare">;
  /** Every type of the provider in the region, to name the smallest that fits when no target type does. @default nodeTypes */
  readonly catalogTypes?: readonly NodeType[];
}

/** The assumption of a node estimate without a control-plane fee (dropped when a billable control plane is priced instead). */
export const NO_CONTROL_PLANE_FEE = "no control-plane fee (set pricing.dedicatedCluster and pricing.controlPlane to charge one to this app)";

// OpenCost's default CPU and RAM prices (per vCPU-hour and GiB-hour), used only as weights to
// split a node's price between its CPU and its memory.
const CPU_WEIGHT = 0.031611;
const RAM_WEIGHT = 0.004237;

// AWS t2/t3/t3a/t4g, Azure B-series, GCP shared-core: list price covers only a baseline CPU share.
const BURSTABLE = /^(t\d[a-z]*\.|Standard_B\d|e2-(micro|small|medium)$|f1-|g1-)/;

interface Pool {
  readonly type: NodeType;
  readonly capacity: "on-demand" | "spot";
  readonly nodes: number;
  readonly unitUsd: number;
  readonly provenance: PriceProvenance;
  readonly items: readonly PackItem[];
}

/**
 * Prices an app on a node-based target (Kubernetes, Swarm). Replicas are
 * grouped by architecture and capacity (on-demand or spot, by the replica
 * split) and bin-packed, first-fit decreasing, onto the cheapest single node
 * type of the target that holds the group, after per-node system overhead.
 *
 * `hourlyUsd` is the incremental cost: the nodes this app adds. Beside it,
 * `allocatedHourlyUsd` is the app's share of those nodes by its requests
 * (OpenCost-style: node price split between CPU and memory, idle capacity not
 * charged). A dedicated cluster's control-plane fee is added to both. Pure.
 *
 * @throws SdxError `SDX_PRICING` (fault `user`) when a replica is larger than
 * every node type of its architecture, naming the smallest type that fits.
 */
export function estimateNodes(input: EstimateNodesInput): PricedCandidate {
  const { app, target } = input;
  const overhead = input.reserve;
  const spotAvailable = input.spotAvailable && input.nodeTypes.some((t) => t.spotUsd !== undefined);
  const assumptions: string[] = [];
  const policy = input.policy ? { policy: input.policy } : {};

  const plans = planReplicas(app, target, { spotAvailable, ...policy });
  const pools = pricePools(input, overhead, plans, assumptions);
  const fallback = pricePools(input, overhead, planReplicas(app, target, { spotAvailable, allOnDemand: true }), []);

  const lines: CostLine[] = pools.map((p) => costLine(`${p.type.instanceType} node (${p.capacity})`, p.nodes, "node", p.unitUsd, p.provenance));
  const cp = input.controlPlane;
  if (cp) lines.push(costLine(cp.item, 1, "cluster", cp.usdPerHour, cp.provenance));
  const cpHourly = cp?.usdPerHour ?? 0;
  const hourlyUsd = sumHourly(lines);

  let allocated = cpHourly;
  for (const p of pools) {
    const w = p.type.vcpus * CPU_WEIGHT + p.type.memoryGiB * RAM_WEIGHT;
    const perVcpu = (p.unitUsd * CPU_WEIGHT) / w;
    const perGiB = (p.unitUsd * RAM_WEIGHT) / w;
    for (const it of p.items) allocated += (it.count ?? 1) * ((it.cpuMillis / 1000) * perVcpu + (it.memoryMiB / 1024) * perGiB);
  }

  const scaled = plans.filter((p) => p.autoscale);
  if (scaled.length > 0) {
    const atMax = pricePools(input, overhead, planReplicas(app, target, { spotAvailable, at: "max", ...policy }), []);
    const maxHourly = atMax.reduce((n, p) => n + p.nodes * p.unitUsd, 0) + cpHourly;
    assumptions.push(
      `autoscaled services priced at their minimum replicas (${scaled.map((p) => `${p.service} ${p.autoscale!.min}–${p.autoscale!.max}`).join(", ")}); at the maximum: ${usd(maxHourly * HOURS_PER_MONTH)}/month`,
    );
  }
  assumptions.push(describeOverhead(overhead));
  assumptions.push("incremental cost: the app gets nodes of its own (no spare room on existing nodes); replicas may share a node");
  assumptions.push("allocated share: node price split between CPU and memory with OpenCost's default weights, charged by requests");
  if (plans.some((p) => p.spot > 0)) assumptions.push("spot nodes at the median of the latest per-zone spot prices; they can be reclaimed at short notice");
  if (!cp) assumptions.push(NO_CONTROL_PLANE_FEE);
  assumptions.push("priced as running all month (730 h)");

  const onDemandReplicas = plans.reduce((n, p) => n + p.onDemand, 0);
  const spotReplicas = plans.reduce((n, p) => n + p.spot, 0);
  return {
    kind: "priced",
    onDemandReplicas,
    spotReplicas,
    machines: { kind: "node", count: pools.reduce((n, p) => n + p.nodes, 0), onDemandCount: fallback.reduce((n, p) => n + p.nodes, 0) },
    estimate: {
      target,
      backend: input.backend,
      provider: input.provider,
      region: input.region,
      capacity: pools.map((p) => `${p.nodes}× ${p.type.instanceType} (${p.capacity})`).join(" + ") || "no nodes",
      hourlyUsd,
      monthlyUsd: hourlyUsd * HOURS_PER_MONTH,
      onDemandHourlyUsd: fallback.reduce((n, p) => n + p.nodes * p.unitUsd, 0) + cpHourly,
      allocatedHourlyUsd: allocated,
      lines,
      assumptions,
      notPriced: [
        ...NOT_PRICED_COMMON,
        ...(pools.some((p) => BURSTABLE.test(p.type.instanceType)) ? [NOT_PRICED_CPU_CREDITS] : []),
      ],
      priceAsOf: oldestAsOf(lines, "unknown"),
      chosen: false,
    },
  };
}

function pricePools(input: EstimateNodesInput, overhead: NodeReserve, plans: readonly ReplicaPlan[], assumptions: string[]): Pool[] {
  const groups = new Map<string, { arch: Arch; capacity: "on-demand" | "spot"; items: (PackItem & { service: string })[] }>();
  const add = (p: ReplicaPlan, capacity: "on-demand" | "spot", n: number): void => {
    if (n === 0) return;
    const key = `${p.arch}/${capacity}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { arch: p.arch, capacity, items: [] }));
    // One item per service, with a count: packing and pricing stay O(services), not O(replicas).
    g.items.push({ cpuMillis: p.cpuMillis, memoryMiB: p.memoryMiB, count: n, service: p.service });
  };
  for (const p of plans) {
    add(p, "on-demand", p.onDemand);
    add(p, "spot", p.spot);
  }

  const pools: Pool[] = [];
  for (const g of [...groups.values()].sort((a, b) => a.arch.localeCompare(b.arch) || a.capacity.localeCompare(b.capacity))) {
    let capacity = g.capacity;
    let types = input.nodeTypes.filter((t) => t.arch === g.arch && (capacity === "on-demand" || t.spotUsd !== undefined));
    if (types.length === 0 && capacity === "spot") {
      assumptions.push(`no ${g.arch} node type of ${input.target} has a spot price; its spot replicas are priced on-demand`);
      capacity = "on-demand";
      types = input.nodeTypes.filter((t) => t.arch === g.arch);
    }
    for (const it of g.items) assertFits(input, overhead, g.arch, it, types);

    const best = cheapestPool(g.items, types, capacity, overhead);
    if (best) {
      pools.push(best);
      continue;
    }
    // No single type holds every replica (e.g. one CPU-heavy and one memory-heavy service): one pool per service.
    assumptions.push(`${g.arch} ${capacity} replicas need more than one node type: one node pool per service`);
    const byService = new Map<string, PackItem[]>();
    for (const it of g.items) {
      const list = byService.get(it.service);
      if (list) list.push(it);
      else byService.set(it.service, [it]);
    }
    for (const items of byService.values()) pools.push(cheapestPool(items, types, capacity, overhead)!);
  }
  return pools;
}

function cheapestPool(items: readonly PackItem[], types: readonly NodeType[], capacity: "on-demand" | "spot", overhead: NodeReserve): Pool | undefined {
  let best: Pool | undefined;
  for (const t of types) {
    const nodes = packReplicas(items, allocatable(t.vcpus, t.memoryGiB, overhead));
    if (nodes === undefined) continue;
    const unitUsd = capacity === "spot" ? t.spotUsd! : t.onDemandUsd;
    const cost = nodes * unitUsd;
    const bestCost = best ? best.nodes * best.unitUsd : Infinity;
    if (cost < bestCost || (cost === bestCost && best && nodes < best.nodes)) {
      best = { type: t, capacity, nodes, unitUsd, provenance: capacity === "spot" ? (t.spotProvenance ?? t.provenance) : t.provenance, items };
    }
  }
  return best;
}

function assertFits(input: EstimateNodesInput, overhead: NodeReserve, arch: Arch, it: PackItem & { service: string }, types: readonly NodeType[]): void {
  const fits = (t: NodeType): boolean => {
    const a = allocatable(t.vcpus, t.memoryGiB, overhead);
    return a.cpuMillis >= it.cpuMillis && a.memoryMiB >= it.memoryMiB;
  };
  if (types.some(fits)) return;
  const smallest = [...(input.catalogTypes ?? input.nodeTypes)]
    .filter((t) => t.arch === arch && fits(t))
    .sort((a, b) => a.vcpus - b.vcpus || a.memoryGiB - b.memoryGiB || a.onDemandUsd - b.onDemandUsd || a.instanceType.localeCompare(b.instanceType))[0];
  const need = `${it.cpuMillis / 1000} vCPU / ${it.memoryMiB} MiB`;
  const path = `targets.${input.target}.pricing.nodeTypes`;
  if (types.length === 0 && input.nodeTypes.length > 0) {
    // No node of the service's architecture at all: its size is not the problem, so overhead must not be blamed.
    const archs = [...new Set(input.nodeTypes.map((t) => t.arch))].sort();
    const listed = input.nodeTypes.map((t) => `${t.instanceType} ${t.arch}`).join(", ");
    throw new SdxError("SDX_PRICING", `${it.service} runs on ${arch} (placement.arch) but target ${input.target} has no ${arch} node type, only ${archs.join(" and ")} (${listed})`, {
      fault: "user",
      hint: `${smallest ? `Add ${smallest.instanceType} (${smallest.vcpus} vCPU / ${smallest.memoryGiB} GiB, the smallest ${input.provider} ${arch} type in ${input.region} that fits ${need}) to pricing.nodeTypes` : `Add an ${arch} type to pricing.nodeTypes (none in ${input.provider} ${input.region} fits ${need})`}, or set ${it.service}'s placement.arch to ${archs[0]} if its image runs there.`,
      path,
      details: { service: it.service, cpuMillis: it.cpuMillis, memoryMiB: it.memoryMiB, arch, cause: "arch", nodeArchs: archs, ...(smallest ? { smallestFittingType: smallest.instanceType } : {}) },
    });
  }
  const have = types.length ? types.map((t) => t.instanceType).join(", ") : `no ${arch} type`;
  throw new SdxError(
    "SDX_PRICING",
    `a replica of ${it.service} (${need}) does not fit any ${arch} node type of target ${input.target} (${have}) after system overhead`,
    {
      fault: "user",
      hint: smallest
        ? `Add ${smallest.instanceType} (${smallest.vcpus} vCPU / ${smallest.memoryGiB} GiB, the smallest ${input.provider} ${arch} type in ${input.region} that fits) to pricing.nodeTypes, or lower ${it.service}'s resources.`
        : `No ${input.provider} ${arch} type in ${input.region} fits ${need}; lower ${it.service}'s resources.`,
      path,
      details: { service: it.service, cpuMillis: it.cpuMillis, memoryMiB: it.memoryMiB, arch, ...(smallest ? { smallestFittingType: smallest.instanceType } : {}) },
    },
  );
}
