import type { BillableItem, Billables, CostLine, PriceProvider, UsageBasis } from "@sdx/sdk";
import { serviceRate, type ServiceRate, type ServiceRateId } from "../catalog/service-rates.js";
import { HOURS_PER_MONTH, NOT_PRICED_COMMON, oldestAsOf, type PricedCandidate } from "./candidate.js";
import { NO_CONTROL_PLANE_FEE } from "./estimate-nodes.js";

/** Input of {@link priceBillables}. */
export interface PriceBillablesInput {
  /** What the target's backend declares beside compute. */
  readonly billables: Billables;
  /** The target's cloud, or `-` when it has none (then nothing can be priced). */
  readonly provider: string;
  readonly region: string;
  /** The machines the estimate packs, for `perNode` items. @default none: a `perNode` item counts once, and an assumption says so */
  readonly machines?: PricedCandidate["machines"];
  /** The estimate already charges a control plane (`pricing.dedicatedCluster`): a declared one is not charged twice. @default false */
  readonly controlPlaneCharged?: boolean;
  /** @default SERVICE_RATES */
  readonly rates?: readonly ServiceRate[];
}

/** The priced items, and what could not be priced with why. */
export interface PricedBillables {
  readonly lines: readonly CostLine[];
  /** Sum of `lines` per hour. */
  readonly hourlyUsd: number;
  /** The same with `perNode` items counted on the all-on-demand fallback's machines. */
  readonly onDemandHourlyUsd: number;
  readonly assumptions: readonly string[];
  /** The backend's own `unpriced` entries, then each item without a rate here, with the reason. */
  readonly notPriced: readonly string[];
}

const PROVIDERS: readonly string[] = ["aws", "gcp", "azure"];
const CONTROL_PLANES = { eks: "EKS", gke: "GKE", aks: "AKS" } as const;

/**
 * Prices the billable items a target's backend declares (`Billables`) from
 * the embedded service rates of the target's provider and region, one cost
 * line per billing dimension, each with its provenance (the pricing page).
 *
 * Per-hour rates give `hourlyUsd` = quantity × unit price. Per-month figures
 * (storage in GiB-month, usage in GiB per month) keep the page's unit price
 * and a monthly quantity, and `hourlyUsd` = quantity × unit price / 730.
 * `perNode` items are multiplied by the machines the estimate packs (nodes,
 * hosts, or Fargate tasks). Usage-based lines say their basis in the item.
 * An item without a rate in the region (or a provider-level gap, e.g. Azure
 * disk tiers) is listed in `notPriced` with the reason, never priced at
 * another region's rate. Pure.
 */
export function priceBillables(input: PriceBillablesInput): PricedBillables {
  const { billables, region } = input;
  const lines: CostLine[] = [];
  const notPriced: string[] = [...billables.unpriced];
  const assumptions: string[] = [];
  const notes = new Set<string>();
  let onDemandHourlyUsd = 0;
  const machines = input.machines;
  let perNodeWithoutMachines = false;

  if (!PROVIDERS.includes(input.provider)) {
    for (const item of billables.items) notPriced.push(`${describe(item)} (the target has no pricing profile naming its cloud and region)`);
    return { lines, hourlyUsd: 0, onDemandHourlyUsd: 0, assumptions, notPriced };
  }
  const provider = input.provider as PriceProvider;

  /** One line; `perNode` quantities scale with the machines (the on-demand fallback's for `onDemandHourlyUsd`). */
  const add = (item: BillableItem, id: ServiceRateId, quantity: number, perNode: boolean, what: string, flavour?: "eks" | "gke" | "aks"): boolean => {
    const found = serviceRate({ provider, id, region, ...(flavour ? { flavour } : {}), ...(input.rates ? { rates: input.rates } : {}) });
    if (found.kind === "missing") {
      notPriced.push(`${what} (${found.reason})`);
      return false;
    }
    const { rate, usd, provenance } = found;
    if (perNode && !machines) perNodeWithoutMachines = true;
    const n = perNode && machines ? machines.count : 1;
    const nOnDemand = perNode && machines ? machines.onDemandCount : 1;
    const perHour = (q: number): number => (rate.per === "hour" ? q * usd : (q * usd) / HOURS_PER_MONTH);
    const q = quantity * n;
    const service = "service" in item ? item.service : undefined;
    const unit = rate.per === "month" ? `${rate.unit}-month` : rate.per === "usage" ? `${rate.unit}/month` : rate.unit;
    lines.push({
      ...(service === undefined ? {} : { service }),
      item: `${rate.product}${label(item, perNode && machines ? machines : undefined)}`,
      quantity: q,
      unit,
      unitPriceUsd: usd,
      hourlyUsd: perHour(q),
      provenance,
    });
    onDemandHourlyUsd += perHour(quantity * nOnDemand);
    if (rate.note) notes.add(`${rate.product}: ${rate.note}`);
    return true;
  };

  for (const item of billables.items) {
    switch (item.kind) {
      case "load-balancer": {
        if (item.count <= 0) break;
        if (provider === "aws") {
          const app = item.flavour === "application";
          add(item, app ? "lb-application" : "lb-network", item.count, false, describe(item));
          if (item.capacityUnits > 0) add(item, app ? "lb-application-capacity" : "lb-network-capacity", item.count * item.capacityUnits, false, `${describe(item)}: capacity units`);
        } else {
          // GCP forwarding rules and Azure Standard LB rules: one price for the first five, then per rule.
          if (add(item, "lb-rules-first-5", 1, false, describe(item)) && item.count > 5) add(item, "lb-rule-extra", item.count - 5, false, describe(item));
          if (item.capacityUnits > 0) notPriced.push(`${describe(item)}: data processed (billed per GiB on ${provider}; the item gives capacity units, not GiB)`);
        }
        break;
      }
      case "public-ipv4":
        if (item.count > 0) add(item, "public-ipv4", item.count, item.perNode ?? false, describe(item));
        break;
      case "block-storage":
        if (item.count > 0 && item.sizeGiB > 0) add(item, "block-storage", item.count * item.sizeGiB, item.perNode ?? false, describe(item));
        break;
      case "file-storage":
        if (item.sizeGiB > 0) add(item, "file-storage", item.sizeGiB, false, describe(item));
        break;
      case "nat-gateway": {
        if (item.count <= 0) break;
        if (provider === "gcp") {
          // Cloud NAT is billed per VM behind the gateway up to 32 VMs, then one price per gateway.
          const vms = machines?.count ?? 1;
          if (vms > 32) add(item, "nat-gateway", item.count, false, describe(item));
          else add(item, "nat-gateway-per-vm", item.count * vms, false, describe(item));
        } else {
          add(item, "nat-gateway", item.count, false, describe(item));
        }
        if (item.processedGiBPerMonth > 0) add(item, "nat-processed", item.processedGiBPerMonth, false, `${describe(item)}: data processed`);
        break;
      }
      case "log-ingestion":
        if (item.gibPerMonth > 0) add(item, "log-ingestion", item.gibPerMonth, false, describe(item));
        break;
      case "egress":
        if (item.gibPerMonth > 0) add(item, "egress", item.gibPerMonth, false, describe(item));
        break;
      case "control-plane":
        if (item.count <= 0) break;
        if (input.controlPlaneCharged) {
          assumptions.push(`the ${CONTROL_PLANES[item.flavour]} control plane the backend declares is the one pricing.dedicatedCluster already charges, so it is not added again`);
          break;
        }
        add(item, "control-plane", item.count, false, describe(item), item.flavour);
        break;
      default:
        return assertNever(item);
    }
  }

  if (perNodeWithoutMachines) assumptions.push("items counted per node are counted once: this estimate packs no nodes or hosts");
  if (machines?.kind === "task" && billables.items.some((i) => "perNode" in i && i.perNode)) {
    assumptions.push("items counted per node are counted per Fargate task (each task is its own machine with its own network interface)");
  }
  assumptions.push(...notes);
  let hourlyUsd = 0;
  for (const l of lines) hourlyUsd += l.hourlyUsd;
  return { lines, hourlyUsd, onDemandHourlyUsd, assumptions, notPriced };
}

/**
 * Adds priced billables to a candidate: their lines, their cost in every
 * total (incremental, fallback, allocated share), and the target's own
 * `notPriced` list in place of the generic one. Pure.
 */
export function withBillables(candidate: PricedCandidate, priced: PricedBillables): PricedCandidate {
  const e = candidate.estimate;
  const hourlyUsd = e.hourlyUsd + priced.hourlyUsd;
  const chargesControlPlane = priced.lines.some((l) => l.unit === "cluster");
  const lines = [...e.lines, ...priced.lines];
  const common = new Set(NOT_PRICED_COMMON);
  return {
    ...candidate,
    estimate: {
      ...e,
      hourlyUsd,
      monthlyUsd: hourlyUsd * HOURS_PER_MONTH,
      onDemandHourlyUsd: e.onDemandHourlyUsd + priced.onDemandHourlyUsd,
      // The extras serve this app alone, so its allocated share carries them whole.
      ...(e.allocatedHourlyUsd === undefined ? {} : { allocatedHourlyUsd: e.allocatedHourlyUsd + priced.hourlyUsd }),
      lines,
      assumptions: [...e.assumptions.filter((a) => !(chargesControlPlane && a === NO_CONTROL_PLANE_FEE)), ...priced.assumptions],
      notPriced: [...new Set([...e.notPriced.filter((n) => !common.has(n)), ...priced.notPriced])],
      priceAsOf: oldestAsOf(lines, e.priceAsOf),
    },
  };
}

/** e.g. " (2 × 20 GiB per node × 3 nodes, declared)", " (sdx default: 1 LCU per load balancer)". */
function label(item: BillableItem, machines: PricedCandidate["machines"]): string {
  const perNode = machines ? ` per ${machines.kind} × ${machines.count} ${machines.kind}${machines.count === 1 ? "" : "s"}` : "";
  const basis = (b: UsageBasis, what: string): string => (b === "usage-hint" ? `${what}, from the app's usage hints` : b === "default" ? `sdx default: ${what}` : `${what}, declared`);
  switch (item.kind) {
    case "load-balancer":
      return ` (${basis(item.basis, `${item.count} × ${item.flavour} load balancer${item.count === 1 ? "" : "s"}, ${item.capacityUnits} capacity unit${item.capacityUnits === 1 ? "" : "s"} each`)})`;
    case "public-ipv4":
      return item.count === 1 && !perNode ? "" : ` (${item.count}${perNode})`;
    case "block-storage":
      return ` (${basis(item.basis, `${item.count} × ${item.sizeGiB} GiB${perNode}`)})`;
    case "file-storage":
      return ` (${basis(item.basis, `${item.sizeGiB} GiB stored`)})`;
    case "nat-gateway":
      return ` (${basis(item.basis, `${item.count} gateway${item.count === 1 ? "" : "s"}, ${item.processedGiBPerMonth} GiB processed per month`)})`;
    case "log-ingestion":
      return ` (${basis(item.basis, `${item.gibPerMonth} GiB per month`)})`;
    case "egress":
      return ` (${basis(item.basis, `${item.gibPerMonth} GiB per month`)})`;
    case "control-plane":
      return item.count === 1 ? "" : ` (${item.count} clusters)`;
    default:
      return assertNever(item);
  }
}

/** The item in words, for `notPriced`, e.g. "1 application load balancer for web". */
function describe(item: BillableItem): string {
  const svc = "service" in item && item.service ? ` for ${item.service}` : "";
  switch (item.kind) {
    case "load-balancer":
      return `${item.count} ${item.flavour} load balancer${item.count === 1 ? "" : "s"}${svc}`;
    case "public-ipv4":
      return `${item.count} public IPv4 address${item.count === 1 ? "" : "es"}${item.perNode ? " per node" : ""}${svc}`;
    case "block-storage":
      return `block storage ${item.count} × ${item.sizeGiB} GiB${item.perNode ? " per node" : ""}${svc}`;
    case "file-storage":
      return `file storage ${item.sizeGiB} GiB${svc}`;
    case "nat-gateway":
      return `${item.count} NAT gateway${item.count === 1 ? "" : "s"}`;
    case "log-ingestion":
      return `log ingestion ${item.gibPerMonth} GiB/month${svc}`;
    case "egress":
      return `data transfer out ${item.gibPerMonth} GiB/month${svc}`;
    case "control-plane":
      return `${CONTROL_PLANES[item.flavour]} control plane`;
    default:
      return assertNever(item);
  }
}

function assertNever(x: never): never {
  throw new Error(`unhandled billable item ${JSON.stringify(x)}`);
}
