import {
  egressBillables, lbCapacityUnits, nameList, publicIpv4PerLoadBalancer,
  type App, type BillableItem, type Billables, type Service,
} from "@sdx/sdk/target";
import type { K8sTarget } from "./k8s-target.js";

type Port = Service["ports"][number];

/** The claim size render-k8s gives a persistent volume that states none (`${v.sizeMiB ?? 1024}Mi`). */
const DEFAULT_CLAIM_MIB = 1024;

/**
 * The public ports render-k8s exposes through a `<service>-public` Service
 * (type LoadBalancer, or NodePort with `expose: node-port`), and those it
 * routes through an Ingress instead (HTTP and gRPC over TCP, with `expose: ingress`).
 */
export function publicRoutes(svc: Service, target: K8sTarget): { readonly viaService: readonly Port[]; readonly viaIngress: readonly Port[] } {
  const publicPorts = svc.ports.filter((p) => p.public);
  const viaIngress = target.expose === "ingress" ? publicPorts.filter((p) => p.appProtocol !== "tcp" && p.protocol === "tcp") : [];
  return { viaService: publicPorts.filter((p) => !viaIngress.includes(p)), viaIngress };
}

/**
 * What a Kubernetes target bills beside its nodes, from what render-k8s
 * creates: a network load balancer and its public addresses per LoadBalancer
 * Service, a public address per node when NodePorts are public, a block volume
 * per PersistentVolumeClaim (one per volume, shared by the service's replicas,
 * at its claimed size), and the control plane of a cluster dedicated to the
 * app. Pure.
 */
export function k8sBillables(app: App, target: K8sTarget): Billables {
  const items: BillableItem[] = [];
  const unpriced: string[] = [];
  const provider = target.pricing?.provider;
  const nodePorts: string[] = [];
  const ingress: string[] = [];
  for (const svc of app.services) {
    const { viaService, viaIngress } = publicRoutes(svc, target);
    if (viaIngress.length > 0) ingress.push(svc.name);
    if (viaService.length > 0 && target.expose === "node-port") nodePorts.push(svc.name);
    else if (viaService.length > 0) {
      // A Service of type LoadBalancer: a passthrough (network) load balancer on EKS, GKE and AKS.
      const lcu = lbCapacityUnits(svc);
      items.push({ kind: "load-balancer", service: svc.name, flavour: "network", count: 1, capacityUnits: lcu.value, basis: lcu.basis });
      items.push({ kind: "public-ipv4", service: svc.name, count: publicIpv4PerLoadBalancer(provider) });
    }
    for (const v of svc.volumes) {
      if (v.kind !== "persistent") continue;
      items.push({
        kind: "block-storage", service: svc.name, sizeGiB: (v.sizeMiB ?? DEFAULT_CLAIM_MIB) / 1024, count: 1,
        basis: v.sizeMiB === undefined ? "default" : "declared",
      });
    }
  }
  // Every node answers on a NodePort, so each needs an address of its own to be reached from outside.
  if (nodePorts.length > 0) items.push({ kind: "public-ipv4", count: 1, perNode: true });
  if (ingress.length > 0) unpriced.push(`the ingress controller's load balancer that serves ${nameList(ingress)}: the cluster's, shared, not created by sdx`);

  const pricing = target.pricing;
  if (pricing && pricing.controlPlane !== "none") {
    if (pricing.dedicatedCluster) items.push({ kind: "control-plane", flavour: pricing.controlPlane, count: 1 });
    else unpriced.push(`the ${pricing.controlPlane.toUpperCase()} control plane: the cluster is shared (set pricing.dedicatedCluster: true to charge its fee to this app)`);
  }

  const egress = egressBillables(app.services);
  items.push(...egress.items);
  unpriced.push(
    "node root disks: their size and type are the node group's, which the target does not declare",
    ...egress.unpriced,
    "log shipping and storage: the cluster's logging agent, if any, is not sdx's",
  );
  return { items, unpriced };
}
