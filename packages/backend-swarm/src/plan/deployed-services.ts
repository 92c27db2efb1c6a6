import { DEFAULT_RESOURCES, LABEL_SERVICE, isOwnedBy, type DeployedService } from "@sdx/sdk";
import type { SwarmService } from "../client/swarm-client.js";

type Spec = {
  Mode?: { Replicated?: { Replicas?: number }; Global?: unknown };
  TaskTemplate?: { Resources?: { Reservations?: { NanoCPUs?: number; MemoryBytes?: number } } };
};

/** What runs now, per service, from this app's live Swarm services: for the plan's cost delta. */
export function deployedServices(services: Iterable<SwarmService>, app: string): DeployedService[] {
  const out: DeployedService[] = [];
  for (const s of services) {
    if (!isOwnedBy(s.Spec.Labels, app)) continue;
    const service = s.Spec.Labels?.[LABEL_SERVICE];
    if (!service) continue;
    const spec = s.Spec as Spec;
    const r = spec.TaskTemplate?.Resources?.Reservations ?? {};
    out.push({
      service,
      replicas: spec.Mode?.Replicated?.Replicas ?? 1,
      // No reservation means the app gave no request: it is priced at the model's defaults, as the new revision is.
      cpuMillis: r.NanoCPUs ? Math.round(r.NanoCPUs / 1e6) : DEFAULT_RESOURCES.cpuMillis,
      memoryMiB: r.MemoryBytes ? Math.ceil(r.MemoryBytes / 2 ** 20) : DEFAULT_RESOURCES.memoryMiB,
    });
  }
  return out.sort((a, b) => a.service.localeCompare(b.service));
}
