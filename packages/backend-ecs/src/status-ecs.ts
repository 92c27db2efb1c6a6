import type { Service as EcsService } from "@aws-sdk/client-ecs";
import { isOwnedBy, type BackendStatus, type ServiceStatus } from "@sdx/sdk";
import type { EcsPort } from "./client/ecs-port.js";
import type { EcsTarget } from "./ecs-target.js";
import { familyOf, tagRecord, TAG_REVISION } from "./render/ecs-names.js";

/** ECS service events kept per service in `status`. */
const EVENTS_PER_SERVICE = 5;

/** Counts, deployments and the last events of one described ECS service. Pure. */
export function serviceStatus(s: EcsService): ServiceStatus {
  const primary = s.deployments?.find((d) => d.status === "PRIMARY");
  const desired = s.desiredCount ?? 0;
  const running = s.runningCount ?? 0;
  const failedDeployment = s.deployments?.some((d) => d.rolloutState === "FAILED");
  const state: ServiceStatus["state"] = desired === 0 && running === 0 ? "stopped"
    : failedDeployment ? "degraded"
    : (s.deployments?.length ?? 0) > 1 || primary?.rolloutState === "IN_PROGRESS" ? "progressing"
    : running >= desired ? "healthy" : "degraded";
  const messages = [
    ...(s.deployments ?? []).map((d) => `deployment ${d.id} ${d.status} ${familyOf(d.taskDefinition ?? "")}:${(d.taskDefinition ?? "").split(":").pop()} ${d.runningCount ?? 0}/${d.desiredCount ?? 0} running, ${d.pendingCount ?? 0} pending, ${d.failedTasks ?? 0} failed, ${d.rolloutState ?? ""}${d.rolloutStateReason ? ` (${d.rolloutStateReason})` : ""}`),
    ...(s.events ?? []).slice(0, EVENTS_PER_SERVICE).map((e) => e.message ?? ""),
  ].filter(Boolean);
  const rev = tagRecord(s.tags)[TAG_REVISION];
  return {
    service: s.serviceName!, desired, running, ready: running, pending: s.pendingCount ?? 0,
    ...(primary ? { updated: primary.runningCount ?? 0 } : {}),
    ...(rev ? { revision: rev } : {}), state, messages,
  };
}

/** Services in the cluster tagged as this app's. */
export async function ownedServices(port: EcsPort, cluster: string, app: string): Promise<EcsService[]> {
  const arns = await port.listServices(cluster);
  if (arns.length === 0) return [];
  const { services } = await port.describeServices(cluster, arns);
  return services.filter((s) => isOwnedBy(tagRecord(s.tags), app));
}

/** The app's services in the target's cluster, found by their ownership tags. */
export async function statusEcs(port: EcsPort, target: EcsTarget, appName: string): Promise<BackendStatus> {
  const { missing } = await port.describeClusters([target.cluster]);
  if (missing.length > 0) return { target: target.name, backend: "ecs", services: [], warnings: [`cluster "${target.cluster}" does not exist`] };
  const services = (await ownedServices(port, target.cluster, appName)).map(serviceStatus);
  return { target: target.name, backend: "ecs", services, warnings: [] };
}
