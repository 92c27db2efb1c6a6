import { egressBillables, nameList, USAGE_DEFAULTS, type App, type BillableItem, type Billables } from "@sdx/sdk/target";
import type { HostsTarget } from "./hosts-target.js";

/** IPv4 literals that are not internet addresses: loopback, RFC 1918, link-local and carrier-grade NAT. */
const PRIVATE_IPV4 = /^(127\.|10\.|192\.168\.|169\.254\.|172\.(1[6-9]|2\d|3[01])\.|100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.)/;

/** Whether sdx reaches the host at an address that is not a public IPv4 one (so it holds none for the app to pay). */
function reachedPrivately(address: string): boolean {
  return address === "localhost" || address.includes(":") || PRIVATE_IPV4.test(address);
}

/**
 * What a hosts target bills beside its hosts' instances. Pure.
 * A host with an `instanceType` is a cloud VM: its root disk, and its public
 * IPv4 address unless sdx reaches it at a private one. A host with a flat
 * `monthlyUsd` includes both. Persistent volumes are directories on the
 * hosts' disks, which the hosts already are: they add no bill.
 */
export function hostsBillables(app: App, target: HostsTarget): Billables {
  const items: BillableItem[] = [];
  const unpriced: string[] = [];
  const vms = target.hosts.filter((h) => h.instanceType !== undefined);
  if (vms.length > 0) items.push({ kind: "block-storage", sizeGiB: USAGE_DEFAULTS.rootDiskGiB, count: vms.length, basis: "default" });
  const publicVms = vms.filter((h) => !reachedPrivately(h.address));
  if (publicVms.length > 0) items.push({ kind: "public-ipv4", count: publicVms.length });
  const privateVms = vms.filter((h) => reachedPrivately(h.address));
  if (privateVms.length > 0) unpriced.push(`public IPv4 addresses of ${nameList(privateVms.map((h) => h.name))}: reached at a private or IPv6 address, so none is assumed`);
  const flat = target.hosts.filter((h) => h.monthlyUsd !== undefined);
  if (flat.length > 0) unpriced.push(`disks and addresses of ${nameList(flat.map((h) => h.name))}: included in their monthlyUsd`);
  const egress = egressBillables(app.services);
  items.push(...egress.items);
  unpriced.push(...egress.unpriced);
  return { items, unpriced };
}
