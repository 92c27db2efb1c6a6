import { isSdxError, type App, type BilledTaskSize, type ChoosePolicy, type NodeReserve, type PriceProvider } from "@sdx/sdk";
import { loadEmbeddedCatalog } from "../catalog/load-embedded-catalog.js";
import type { Arch, PriceCatalog } from "../catalog/price-catalog.js";
import { HOURS_PER_MONTH } from "../estimate/candidate.js";
import { estimateFargate } from "../estimate/estimate-fargate.js";
import { allocatable } from "../estimate/node-overhead.js";
import { packReplicas, type PackItem } from "../estimate/pack-replicas.js";
import { planReplicas, type ReplicaPlan } from "../estimate/replica-plan.js";

/** Options for {@link chooseFromCatalog}. */
export interface ChooseFromCatalogOptions {
  /** @default the embedded catalog */
  readonly catalog?: PriceCatalog;
  readonly policy?: ChoosePolicy;
  /** @default every provider in the catalog */
  readonly providers?: readonly PriceProvider[];
  /** What each node keeps for itself, e.g. a node-packed backend's `costModel(target).reserve`. */
  readonly reserve: NodeReserve;
  /**
   * Also consider Fargate in every region that has rates, billing each replica
   * at this size (the ECS backend's `costModel(target).size`).
   * @default Fargate is not considered
   */
  readonly fargateSize?: (cpuMillis: number, memoryMiB: number) => BilledTaskSize;
  /** How many of the cheapest offers to return. @default 10 */
  readonly top?: number;
}

/** One way to run the whole app: a node type in a region, or Fargate. */
export interface CatalogOffer {
  readonly kind: "nodes" | "fargate";
  readonly provider: PriceProvider;
  readonly region: string;
  /** For `nodes`. */
  readonly instanceType?: string;
  /** For `nodes`: nodes needed. */
  readonly nodes?: number;
  /** `on-demand`: every replica on-demand; `spot`: spot where the services allow it. */
  readonly capacity: "on-demand" | "spot";
  readonly hourlyUsd: number;
  readonly monthlyUsd: number;
}

/** The cheapest offers and how many were looked at. */
export interface ChooseFromCatalogResult {
  readonly cheapest?: CatalogOffer;
  /** Cheapest first. */
  readonly top: readonly CatalogOffer[];
  /** Offers priced: (type × region × capacity) plus Fargate regions × capacity. */
  readonly considered: number;
  /** Offers that did not fit the app or broke the policy. */
  readonly rejected: number;
}

/**
 * SkyPilot's optimiser over the whole catalog: where would this app run
 * cheapest, on one node type in any region (on-demand, or with its
 * spot-tolerant replicas on spot), or on Fargate? Node counts depend only on a
 * type's shape, so each type is bin-packed once and every region is then a
 * multiplication. Pure once the catalog is loaded.
 */
export function chooseFromCatalog(app: App, options: ChooseFromCatalogOptions): ChooseFromCatalogResult {
  const catalog = options.catalog ?? loadEmbeddedCatalog();
  const policy = options.policy ?? {};
  const overhead = options.reserve;
  const topN = options.top ?? 10;
  const allowed = policy.regions ? new Set(policy.regions) : undefined;
  const maxHourly = policy.maxMonthlyUsd === undefined ? Infinity : policy.maxMonthlyUsd / HOURS_PER_MONTH;
  const allowSpot = policy.allowSpot ?? true;
  const share = policy.minOnDemandShare ?? 0;

  const arches = new Set(app.services.map((s) => s.placement.arch));
  const archOk = !policy.arch || (arches.size === 1 && arches.has(policy.arch));
  const spotOnly = app.services.some((s) => s.placement.spot === "only");
  const odPlans = planReplicas(app, "catalog", { spotAvailable: true, allOnDemand: true });
  const spotPlans = planReplicas(app, "catalog", { spotAvailable: true, policy: { allowSpot, minOnDemandShare: share } });
  const spotTotal = spotPlans.reduce((n, p) => n + p.spot, 0);
  const odTotal = spotPlans.reduce((n, p) => n + p.onDemand, 0);
  // Modes that can run the app at all under the policy.
  const odMode = !spotOnly;
  const spotMode = allowSpot && spotTotal > 0 && (share === 0 || odTotal / (odTotal + spotTotal) >= share - 1e-9);

  const top: CatalogOffer[] = [];
  let considered = 0;
  let rejected = 0;
  const offer = (o: CatalogOffer): void => {
    considered++;
    if (o.hourlyUsd > maxHourly) {
      rejected++;
      return;
    }
    if (top.length === topN && o.hourlyUsd >= top[topN - 1]!.hourlyUsd) return;
    let i = top.length;
    while (i > 0 && top[i - 1]!.hourlyUsd > o.hourlyUsd) i--;
    top.splice(i, 0, o);
    if (top.length > topN) top.pop();
  };

  const nodeArch: Arch | undefined = arches.size === 1 ? [...arches][0] : undefined;
  const allItems = items(odPlans, "all");
  const odItems = items(spotPlans, "onDemand");
  const spotItems = items(spotPlans, "spot");
  for (const provider of options.providers ?? catalog.providers()) {
    // Per type index: [nodes all on-demand, on-demand nodes, spot nodes]; -1 = not packed yet, -2 = does not fit.
    const memo = new Map<number, readonly [number, number, number]>();
    const packed = (typeIndex: number): readonly [number, number, number] => {
      let m = memo.get(typeIndex);
      if (!m) {
        const [, vcpus, mem, arch] = catalog.typeAt(provider, typeIndex)!;
        if (arch !== nodeArch || !archOk) m = [-2, -2, -2];
        else {
          const a = allocatable(vcpus, mem, overhead);
          m = [packReplicas(allItems, a) ?? -2, packReplicas(odItems, a) ?? -2, packReplicas(spotItems, a) ?? -2];
        }
        memo.set(typeIndex, m);
      }
      return m;
    };
    catalog.forEachVmPrice(provider, (typeIndex, region, od, spot) => {
      const n = packed(typeIndex);
      const regionOk = !allowed || allowed.has(region);
      if (odMode) {
        if (n[0] < 0 || !regionOk) (considered++, rejected++);
        else offer({ kind: "nodes", provider, region, instanceType: catalog.typeAt(provider, typeIndex)![0], nodes: n[0], capacity: "on-demand", hourlyUsd: n[0] * od, monthlyUsd: n[0] * od * HOURS_PER_MONTH });
      }
      if (spotMode) {
        if (n[1] < 0 || n[2] < 0 || spot === undefined || !regionOk) (considered++, rejected++);
        else {
          const h = n[1] * od + n[2] * spot;
          offer({ kind: "nodes", provider, region, instanceType: catalog.typeAt(provider, typeIndex)![0], nodes: n[1] + n[2], capacity: "spot", hourlyUsd: h, monthlyUsd: h * HOURS_PER_MONTH });
        }
      }
    });
  }

  const size = options.fargateSize;
  if (size && archOk && (!options.providers || options.providers.includes("aws"))) {
    for (const region of catalog.fargateRegions()) {
      const rates: Partial<Record<Arch, NonNullable<ReturnType<PriceCatalog["fargate"]>>>> = {};
      for (const a of arches) {
        const r = catalog.fargate(region, a);
        if (r) rates[a] = r;
      }
      for (const capacity of ["on-demand", "spot"] as const) {
        if (capacity === "on-demand" ? !odMode : !spotMode) continue;
        if (allowed && !allowed.has(region)) {
          (considered++, rejected++);
          continue;
        }
        try {
          const e = estimateFargate({ app, target: "fargate", region, rates, spotAvailable: capacity === "spot", size, policy: { allowSpot, minOnDemandShare: share } }).estimate;
          offer({ kind: "fargate", provider: "aws", region, capacity, hourlyUsd: e.hourlyUsd, monthlyUsd: e.monthlyUsd });
        } catch (err) {
          if (!isSdxError(err)) throw err;
          (considered++, rejected++);
        }
      }
    }
  }
  return { ...(top[0] ? { cheapest: top[0] } : {}), top, considered, rejected };
}

function items(plans: readonly ReplicaPlan[], which: "all" | "onDemand" | "spot"): PackItem[] {
  const out: PackItem[] = [];
  for (const p of plans) {
    const n = which === "all" ? p.replicas : which === "onDemand" ? p.onDemand : p.spot;
    // One item per service with a count: packing is O(services), not O(replicas).
    if (n > 0) out.push({ cpuMillis: p.cpuMillis, memoryMiB: p.memoryMiB, count: n });
  }
  return out;
}
