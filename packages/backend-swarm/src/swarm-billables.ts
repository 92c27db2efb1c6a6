import {
  egressBillables, pricedReplicas, storedVolumeSize, USAGE_DEFAULTS,
  type App, type BillableItem, type Billables,
} from "@sdx/sdk/target";
import type { SwarmTarget } from "./swarm-target.js";

/**
 * What a Swarm target bills beside its nodes' compute: each node's root disk
 * and, when any port is published, its public IPv4 address (the routing mesh
 * answers on every node; in host mode any node may get the task); and the
 * disk space of persistent volumes. Pure.
 *
 * A persistent volume is a local named volume on the node that runs the
 * replica, so it costs the node disk it grows, priced as block storage of the
 * data it holds (block storage is billed per GiB, so a bigger root disk and a
 * volume of that size cost the same). Each replica on its own node has its
 * own copy, so the count is the priced replicas: an upper bound when several
 * share a node.
 */
export function swarmBillables(app: App, _target: SwarmTarget): Billables {
  const items: BillableItem[] = [];
  items.push({ kind: "block-storage", sizeGiB: USAGE_DEFAULTS.rootDiskGiB, count: 1, basis: "default", perNode: true });
  if (app.services.some((s) => s.ports.some((p) => p.public))) items.push({ kind: "public-ipv4", count: 1, perNode: true });
  for (const svc of app.services) {
    const replicas = pricedReplicas(svc);
    if (replicas === 0) continue;
    for (const v of svc.volumes) {
      if (v.kind !== "persistent") continue;
      const size = storedVolumeSize(svc, v);
      items.push({ kind: "block-storage", service: svc.name, sizeGiB: size.value, count: replicas, basis: size.basis });
    }
  }
  const egress = egressBillables(app.services);
  items.push(...egress.items);
  return { items, unpriced: [...egress.unpriced] };
}
