/**
 * The quantities sdx assumes when a service's `usage:` block leaves one out,
 * and the pure helpers every backend's `billables()` reads them through, so
 * the defaults, the schema's descriptions and the docs cannot drift apart.
 */
import type { BillableItem, UsageBasis } from "../backend/backend.js";
import type { Service, Volume } from "./app.js";

/**
 * What a quantity is assumed to be when the app does not say. Each is a
 * documented guess, reported with basis `default` so a reader knows to replace
 * it with a `usage:` hint.
 */
export const USAGE_DEFAULTS = {
  /** Logs one replica writes per month, GiB: a quiet service logging a line or two a second. */
  logsGiBPerReplicaMonth: 0.5,
  /** Data sent to the internet per month, GiB: unknown, so nothing is priced and a note says so. */
  egressGiBPerMonth: 0,
  /** Average load balancer capacity units (AWS LCU/NLCU): one covers 25 new connections/s or 1 GB/h of an ALB. */
  lbCapacityUnits: 1,
  /** Data held by a persistent volume whose size neither the app nor the backend sets, GiB. */
  volumeSizeGiB: 10,
  /** Root disk of a node or cloud host sdx prices, GiB (the default disk of an EKS managed node group). */
  rootDiskGiB: 20,
} as const;

/**
 * Public IPv4 addresses one internet-facing load balancer holds, by cloud: an
 * AWS ALB or NLB has one per availability zone and an ALB needs at least two;
 * a GCP forwarding rule and an Azure Standard load balancer frontend have one.
 */
export const PUBLIC_IPV4_PER_LOAD_BALANCER = { aws: 2, gcp: 1, azure: 1 } as const;

/** A quantity and where it came from. */
export interface UsageQuantity {
  readonly value: number;
  readonly basis: UsageBasis;
}

/** The replicas a service is priced at: its fixed count, or its autoscaling minimum (as compute is priced). */
export function pricedReplicas(service: Service): number {
  return service.scale.kind === "fixed" ? service.scale.replicas : service.scale.min;
}

/** Logs the service writes per month, GiB: its `usage.logs`, else {@link USAGE_DEFAULTS.logsGiBPerReplicaMonth} per priced replica. */
export function logsPerMonth(service: Service): UsageQuantity {
  const hint = service.usage?.logsGiBPerMonth;
  if (hint !== undefined) return { value: hint, basis: "usage-hint" };
  return { value: USAGE_DEFAULTS.logsGiBPerReplicaMonth * pricedReplicas(service), basis: "default" };
}

/** Average capacity units of the service's load balancer: its `usage.lbCapacityUnits`, else {@link USAGE_DEFAULTS.lbCapacityUnits}. */
export function lbCapacityUnits(service: Service): UsageQuantity {
  const hint = service.usage?.lbCapacityUnits;
  return hint !== undefined ? { value: hint, basis: "usage-hint" } : { value: USAGE_DEFAULTS.lbCapacityUnits, basis: "default" };
}

/**
 * Data a persistent volume holds, GiB, where the bill follows what is stored
 * (EFS, or a node disk that must grow by it): the service's `usage.volumeSize`,
 * else the volume's declared size, else {@link USAGE_DEFAULTS.volumeSizeGiB}.
 */
export function storedVolumeSize(service: Service, volume: Volume): UsageQuantity {
  const hint = service.usage?.volumeSizeGiB;
  if (hint !== undefined) return { value: hint, basis: "usage-hint" };
  if (volume.sizeMiB !== undefined) return { value: volume.sizeMiB / 1024, basis: "declared" };
  return { value: USAGE_DEFAULTS.volumeSizeGiB, basis: "default" };
}

/** Public IPv4 addresses of one internet-facing load balancer on `provider` (1 when the cloud is unknown). */
export function publicIpv4PerLoadBalancer(provider: keyof typeof PUBLIC_IPV4_PER_LOAD_BALANCER | undefined): number {
  return provider ? PUBLIC_IPV4_PER_LOAD_BALANCER[provider] : 1;
}

/** At most this many service names in one note; the rest are counted. */
const NAMED_IN_NOTE = 5;

/** `web, api and 3 more`: a list that stays short in a note. */
export function nameList(names: readonly string[]): string {
  if (names.length <= NAMED_IN_NOTE) return names.join(", ");
  return `${names.slice(0, NAMED_IN_NOTE).join(", ")} and ${names.length - NAMED_IN_NOTE} more`;
}

/**
 * Internet egress, the same on every backend: one `egress` item per service
 * that states `usage.egress`, and a note naming the services that do not
 * (their egress is unknown, so it is left out rather than guessed).
 */
export function egressBillables(services: readonly Service[]): { readonly items: BillableItem[]; readonly unpriced: string[] } {
  const items: BillableItem[] = [];
  const unknown: string[] = [];
  for (const s of services) {
    const gib = s.usage?.egressGiBPerMonth;
    if (gib === undefined) unknown.push(s.name);
    else if (gib > 0) items.push({ kind: "egress", service: s.name, gibPerMonth: gib, basis: "usage-hint" });
  }
  const unpriced = unknown.length === 0 ? [] : [`data sent to the internet by ${nameList(unknown)}: set usage.egress (GiB per month) to price it`];
  return { items, unpriced };
}
