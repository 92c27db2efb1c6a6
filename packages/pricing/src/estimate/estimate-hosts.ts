import type { App, ChoosePolicy, CostLine, Diagnostic, NodeReserve, PriceProvenance } from "@sdx/sdk";
import { costLine, HOURS_PER_MONTH, NOT_PRICED_COMMON, NOT_PRICED_CPU_CREDITS, oldestAsOf, sumHourly, usd, type PricedCandidate } from "./candidate.js";
import { allocatable, describeOverhead } from "./node-overhead.js";
import { packOntoHosts, type HostPackItem, type PackHost, type PackHostsResult } from "./pack-hosts.js";
import { planReplicas, type ReplicaPlan } from "./replica-plan.js";

/** What one host costs, as the estimator found it. */
export type HostPrice =
  /** Per hour from a price source or the catalog; `spotUsd` when it has a spot figure. */
  | {
      readonly kind: "catalog";
      readonly onDemandUsd: number;
      readonly provenance: PriceProvenance;
      readonly spotUsd?: number;
      /** @default provenance */
      readonly spotProvenance?: PriceProvenance;
    }
  /** The host's declared `monthlyUsd`, on-demand or spot alike. */
  | { readonly kind: "flat"; readonly monthlyUsd: number; readonly provenance: PriceProvenance }
  /** No price: the total leaves the host out, and says why. */
  | { readonly kind: "unpriced"; readonly reason: string };

/** One declared host with its price and its size resolved. */
export interface PricedHost {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly spot: boolean;
  readonly instanceType?: string;
  readonly price: HostPrice;
  /** The whole machine, before the reserve; undefined when neither the catalog nor the declaration says. */
  readonly size?: { readonly cpuMillis: number; readonly memoryMiB: number };
  /** Why the size is unknown, for the note, e.g. "a flat price without cpus and memory". */
  readonly sizeUnknown?: string;
}

/** Input of {@link estimateHosts}. */
export interface EstimateHostsInput {
  readonly app: App;
  readonly target: string;
  readonly backend: string;
  /** The target's `pricing` provider, or `-`. */
  readonly provider: string;
  /** The target's `pricing` region, or `-`. */
  readonly region: string;
  readonly hosts: readonly PricedHost[];
  /** What each host keeps for itself (the `hosts` cost model's `reserve`). */
  readonly reserve: NodeReserve;
  readonly policy?: Pick<ChoosePolicy, "allowSpot" | "minOnDemandShare">;
}

/** The estimate, and a warning per service whose replicas do not fit. */
export interface EstimateHostsResult {
  readonly candidate: PricedCandidate;
  readonly diagnostics: readonly Diagnostic[];
}

// AWS t2/t3/t3a/t4g, Azure B-series, GCP shared-core: list price covers only a baseline CPU share.
const BURSTABLE = /^(t\d[a-z]*\.|Standard_B\d|e2-(micro|small|medium)$|f1-|g1-)/;

/**
 * Prices an app on a fixed list of hosts (the `hosts` cost model): every host
 * is billed all month whether or not a replica lands on it, one line each;
 * spot hosts at their spot price when there is one. The replicas are packed
 * onto the hosts first-fit decreasing (`packOntoHosts`), each host keeping the
 * reserve, with each service's `placement.constraints` matched against host
 * labels and `placement.spot` deciding between spot and on-demand hosts
 * (`placement.arch` cannot be checked: hosts do not declare theirs).
 *
 * Replicas that do not fit, and hosts without a price, become `blockers`: the
 * candidate is listed but never chosen. Pure.
 */
export function estimateHosts(input: EstimateHostsInput): EstimateHostsResult {
  const { app, target, reserve } = input;
  const policy = input.policy ? { policy: input.policy } : {};
  const packHosts: PackHost[] = input.hosts.map((h) => ({
    name: h.name,
    labels: h.labels,
    spot: h.spot,
    ...(h.size ? { allocatable: allocatable(h.size.cpuMillis / 1000, h.size.memoryMiB / 1024, reserve) } : {}),
  }));
  // Spot replicas are placed by the hosts themselves: a `prefer` replica with no spot host left lands on an on-demand one.
  const plans = planReplicas(app, target, { spotAvailable: true, ...policy });
  const packed = packOntoHosts(packItems(app, plans), packHosts);

  const lines: CostLine[] = [];
  const notPriced: string[] = [];
  const blockers: string[] = [];
  let onDemandHourly = 0;
  let spotPriced = false;
  for (const h of input.hosts) {
    const p = h.price;
    switch (p.kind) {
      case "catalog": {
        const type = h.instanceType ?? "instance";
        onDemandHourly += p.onDemandUsd;
        if (h.spot && p.spotUsd !== undefined) {
          spotPriced = true;
          const from = p.spotProvenance ?? p.provenance;
          lines.push(costLine(`host ${h.name}: ${type} (spot)`, 1, "host", p.spotUsd, { ...from, sku: `${from.sku ?? type} (spot price)` }));
        } else if (h.spot) {
          lines.push(costLine(`host ${h.name}: ${type} (spot, at the on-demand price)`, 1, "host", p.onDemandUsd, { ...p.provenance, sku: `${p.provenance.sku ?? type} (on-demand price: no spot price known)` }));
        } else {
          lines.push(costLine(`host ${h.name}: ${type} (on-demand)`, 1, "host", p.onDemandUsd, p.provenance));
        }
        break;
      }
      case "flat": {
        const hourly = p.monthlyUsd / HOURS_PER_MONTH;
        onDemandHourly += hourly;
        lines.push(costLine(`host ${h.name}: flat ${usd(p.monthlyUsd)}/month${h.spot ? " (spot)" : ""}`, 1, "host", hourly, p.provenance));
        break;
      }
      case "unpriced":
        notPriced.push(`host ${h.name} (${p.reason})`);
        blockers.push(`host ${h.name} has no price (${p.reason}), so the total leaves it out`);
        break;
      default:
        return assertNever(p);
    }
  }

  const diagnostics: Diagnostic[] = [];
  const byService = new Map<string, { count: number; reasons: string[]; kinds: Set<string> }>();
  for (const u of packed.unplaced) {
    const s = byService.get(u.service);
    if (s) {
      s.count += u.count;
      s.reasons.push(u.reason);
      s.kinds.add(u.kind);
    } else byService.set(u.service, { count: u.count, reasons: [u.reason], kinds: new Set([u.kind]) });
  }
  for (const [service, u] of byService) {
    const total = plans.find((p) => p.service === service)!.replicas;
    const message = `${u.count} of ${total} replica${total === 1 ? "" : "s"} of ${service} do${u.count === 1 ? "es" : ""} not fit on the hosts of target ${target}: ${u.reasons.join("; ")}`;
    blockers.push(message);
    diagnostics.push({
      code: "SDX_HOSTS_DO_NOT_FIT",
      severity: "warning",
      path: `services.${service}`,
      message,
      hint: u.kinds.has("constraints")
        ? `Give a host of target ${target} the labels (or the capacity) ${service}'s placement asks for, or relax its placement.`
        : `Add a host to target ${target} or declare a bigger one, or lower ${service}'s replicas or resources.`,
      target,
    });
  }

  const assumptions: string[] = [
    "every declared host is billed all month, whether or not a replica lands on it (machines the team already runs)",
    describeOverhead(reserve),
    `replicas packed first-fit decreasing onto the hosts in their declared order; ${describePlacements(packed)}`,
  ];
  for (const [i, h] of input.hosts.entries()) {
    if (packHosts[i]!.allocatable) continue;
    const on = packed.placements.filter((p) => p.host === h.name && p.assumedToFit);
    const landed = on.length ? `${on.map((p) => `${p.count} replica${p.count === 1 ? "" : "s"} of ${p.service}`).join(", ")} placed on it, assumed to fit` : "nothing had to be placed on it";
    assumptions.push(`host ${h.name} has unknown capacity (${h.sizeUnknown ?? "no size"}): it takes replicas only when no host of known size can, and ${landed}; declare its cpus and memory to check`);
  }
  const scaled = plans.filter((p) => p.autoscale);
  if (scaled.length > 0) {
    const atMax = packOntoHosts(packItems(app, planReplicas(app, target, { spotAvailable: true, at: "max", ...policy })), packHosts);
    const missing = atMax.unplaced.reduce((n, u) => n + u.count, 0);
    assumptions.push(
      `autoscaled services packed at their minimum replicas (${scaled.map((p) => `${p.service} ${p.autoscale!.min}–${p.autoscale!.max}`).join(", ")}); the hosts cost the same at the maximum, ` +
        (missing === 0 ? "where every replica still fits" : `where ${missing} replica${missing === 1 ? "" : "s"} would not fit`),
    );
  }
  if (app.services.some((s) => s.placement.arch !== "amd64")) {
    assumptions.push("placement.arch is not checked: hosts do not declare their CPU architecture");
  }
  if (spotPriced) assumptions.push("spot hosts at the median of the latest per-zone spot prices; they can be reclaimed at short notice");
  assumptions.push("priced as running all month (730 h)");

  const hourlyUsd = sumHourly(lines);
  const spotReplicas = packed.placements.filter((p) => p.spot).reduce((n, p) => n + p.count, 0) +
    packed.unplaced.filter((u) => app.services.find((s) => s.name === u.service)?.placement.spot === "only").reduce((n, u) => n + u.count, 0);
  const replicas = plans.reduce((n, p) => n + p.replicas, 0);
  return {
    candidate: {
      kind: "priced",
      onDemandReplicas: replicas - spotReplicas,
      spotReplicas,
      ...(blockers.length ? { blockers } : {}),
      machines: { kind: "host", count: input.hosts.length, onDemandCount: input.hosts.length },
      estimate: {
        target,
        backend: input.backend,
        provider: input.provider,
        region: input.region,
        capacity: describeHosts(input.hosts),
        hourlyUsd,
        monthlyUsd: hourlyUsd * HOURS_PER_MONTH,
        onDemandHourlyUsd: onDemandHourly,
        lines,
        assumptions,
        notPriced: [
          ...NOT_PRICED_COMMON,
          ...(input.hosts.some((h) => h.price.kind === "catalog" && h.instanceType && BURSTABLE.test(h.instanceType)) ? [NOT_PRICED_CPU_CREDITS] : []),
          ...notPriced,
        ],
        priceAsOf: oldestAsOf(lines, "unknown"),
        chosen: false,
      },
    },
    diagnostics,
  };
}

/** Each service's replicas as pack items: the on-demand share on on-demand hosts, the rest by `placement.spot`. */
function packItems(app: App, plans: readonly ReplicaPlan[]): HostPackItem[] {
  const items: HostPackItem[] = [];
  for (const p of plans) {
    const s = app.services.find((x) => x.name === p.service)!;
    const base = { service: p.service, cpuMillis: p.cpuMillis, memoryMiB: p.memoryMiB, constraints: s.placement.constraints };
    const spotRule = `placement.spot: ${s.placement.spot}`;
    const odRule = s.placement.spot === "prefer" ? "the on-demand share of placement.spot: prefer (placement.minOnDemand, policy minOnDemandShare)" : spotRule;
    if (p.onDemand > 0) items.push({ ...base, count: p.onDemand, capacity: "on-demand", capacityRule: odRule });
    if (p.spot > 0) items.push({ ...base, count: p.spot, capacity: s.placement.spot === "only" ? "spot" : "prefer-spot", capacityRule: spotRule });
  }
  return items;
}

/** e.g. "3 hosts: 2× t3.medium, 1× flat-rate", spot hosts marked. */
function describeHosts(hosts: readonly PricedHost[]): string {
  const groups = new Map<string, number>();
  for (const h of hosts) {
    const what = h.price.kind === "flat" ? "flat-rate" : h.price.kind === "unpriced" ? "unpriced" : (h.instanceType ?? "instance");
    const key = `${what}${h.spot ? " (spot)" : ""}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return `${hosts.length} host${hosts.length === 1 ? "" : "s"}: ${[...groups].map(([k, n]) => `${n}× ${k}`).join(", ")}`;
}

/** e.g. "placed: a ← api ×2, web ×1; b ← worker ×1; c ← nothing". */
function describePlacements(packed: PackHostsResult): string {
  const byHost = new Map<string, string[]>();
  for (const p of packed.placements) {
    const list = byHost.get(p.host) ?? [];
    list.push(`${p.service} ×${p.count}`);
    byHost.set(p.host, list);
  }
  return byHost.size ? `placed: ${[...byHost].map(([h, l]) => `${h} ← ${l.join(", ")}`).join("; ")}` : "nothing placed";
}

function assertNever(x: never): never {
  throw new Error(`unhandled host price ${JSON.stringify(x)}`);
}
