import { LABEL_SERVICE, isOwnedBy, parseCpu, parseMemory, type DeployedService } from "@sdx/sdk";
import type { KubeObject } from "../client/k8s-client.js";

type Container = { resources?: { requests?: Record<string, string | number> } };
type DeploymentSpec = { replicas?: number; template?: { spec?: { containers?: Container[] } } };

function memoryMiB(q: string | number | undefined): number {
  if (q === undefined) return 0;
  // The API server may normalise quantities to plain bytes.
  if (typeof q === "number" || /^\d+$/.test(q)) return Math.ceil(Number(q) / 2 ** 20);
  const r = parseMemory(q);
  return r.ok ? r.value : 0;
}

/**
 * What runs now, per service, from this app's live Deployments (a spot-tolerant
 * service's base and on-demand Deployments add up). Used for the plan's cost delta.
 */
export function deployedServices(objects: Iterable<KubeObject>, app: string): DeployedService[] {
  const by = new Map<string, DeployedService>();
  for (const o of objects) {
    if (o.kind !== "Deployment" || !isOwnedBy(o.metadata.labels, app)) continue;
    const service = o.metadata.labels?.[LABEL_SERVICE];
    if (!service) continue;
    const spec = (o as KubeObject & { spec?: DeploymentSpec }).spec ?? {};
    const requests = spec.template?.spec?.containers?.[0]?.resources?.requests ?? {};
    const cpu = requests.cpu === undefined ? undefined : parseCpu(typeof requests.cpu === "number" ? requests.cpu : String(requests.cpu));
    const prev = by.get(service);
    by.set(service, {
      service,
      replicas: (prev?.replicas ?? 0) + (spec.replicas ?? 1),
      cpuMillis: cpu?.ok ? cpu.value : prev?.cpuMillis ?? 0,
      memoryMiB: memoryMiB(requests.memory) || prev?.memoryMiB || 0,
    });
  }
  return [...by.values()].sort((a, b) => a.service.localeCompare(b.service));
}
