import {
  egressBillables, lbCapacityUnits, logsPerMonth, nameList, PUBLIC_IPV4_PER_LOAD_BALANCER, pricedReplicas, storedVolumeSize,
  type App, type BillableItem, type Billables, type Service,
} from "@sdx/sdk/target";
import type { EcsTarget } from "./ecs-target.js";

/** Task storage Fargate includes; render-ecs asks for more (billed per GiB-hour) when ephemeral volumes need it. */
const FARGATE_FREE_EPHEMERAL_GIB = 20;

/**
 * The load balancer a service's public ports need: an ALB when every public
 * port speaks HTTP or gRPC, else an NLB, which forwards any TCP or UDP port.
 */
function loadBalancerFlavour(svc: Service): "application" | "network" | undefined {
  const pub = svc.ports.filter((p) => p.public);
  if (pub.length === 0) return undefined;
  return pub.every((p) => p.protocol === "tcp" && (p.appProtocol === "http" || p.appProtocol === "grpc")) ? "application" : "network";
}

/**
 * What an ECS (Fargate) target bills beside its tasks. Pure.
 * - A load balancer per service with public ports, and its public IPv4
 *   addresses: on ECS a public port is reachable only through one (sdx does not
 *   create it yet, see issue #12; `targetGroups` attaches an existing one), so
 *   its cost belongs to the app either way.
 * - A public IPv4 address per task when the target assigns public IPs.
 * - A NAT gateway when it does not: tasks in private subnets reach ECR,
 *   CloudWatch and the internet through one; it processes the services' egress.
 * - CloudWatch Logs ingestion per service: render-ecs sends every container's
 *   output to the app's log group.
 * - EFS storage per persistent volume (the backend refuses them today: this
 *   is what running them on ECS would cost).
 */
export function ecsBillables(app: App, target: EcsTarget): Billables {
  const items: BillableItem[] = [];
  const unpriced: string[] = [];
  const bigTasks: string[] = [];
  for (const svc of app.services) {
    const flavour = loadBalancerFlavour(svc);
    if (flavour) {
      const lcu = lbCapacityUnits(svc);
      items.push({ kind: "load-balancer", service: svc.name, flavour, count: 1, capacityUnits: lcu.value, basis: lcu.basis });
      items.push({ kind: "public-ipv4", service: svc.name, count: PUBLIC_IPV4_PER_LOAD_BALANCER.aws });
    }
    const tasks = pricedReplicas(svc);
    if (target.assignPublicIp && tasks > 0) items.push({ kind: "public-ipv4", service: svc.name, count: tasks });
    const logs = logsPerMonth(svc);
    if (logs.value > 0) items.push({ kind: "log-ingestion", service: svc.name, gibPerMonth: logs.value, basis: logs.basis });
    for (const v of svc.volumes) {
      if (v.kind !== "persistent") continue;
      const size = storedVolumeSize(svc, v);
      items.push({ kind: "file-storage", service: svc.name, sizeGiB: size.value, basis: size.basis });
    }
    const ephemeralGiB = Math.ceil(svc.volumes.filter((v) => v.kind === "ephemeral").reduce((n, v) => n + (v.sizeMiB ?? 0), 0) / 1024);
    if (ephemeralGiB > FARGATE_FREE_EPHEMERAL_GIB) bigTasks.push(svc.name);
  }

  const egress = egressBillables(app.services);
  if (!target.assignPublicIp) {
    const hinted = app.services.filter((s) => s.usage?.egressGiBPerMonth !== undefined);
    const processed = hinted.reduce((n, s) => n + s.usage!.egressGiBPerMonth!, 0);
    items.push({ kind: "nat-gateway", count: 1, processedGiBPerMonth: processed, basis: hinted.length > 0 ? "usage-hint" : "default" });
    unpriced.push("data the NAT gateway processes for image pulls and log delivery (none when the VPC has endpoints for ECR, S3 and CloudWatch Logs)");
  }
  items.push(...egress.items);
  unpriced.push(...egress.unpriced);
  unpriced.push(`storage of the logs kept in the log group: it has no retention, so it grows month by month`);
  if (bigTasks.length > 0) unpriced.push(`task storage beyond the ${FARGATE_FREE_EPHEMERAL_GIB} GiB Fargate includes, for ${nameList(bigTasks)}`);
  return { items, unpriced };
}
