import type { BackendStatus, ServiceStatus } from "@sdx/sdk";
import type { HostPool } from "./client/host-pool.js";
import { LABEL_REPLICAS } from "./render/host-names.js";
import { isServing, observeHosts } from "./plan/observe-hosts.js";

/**
 * Each service as the hosts run it, from the containers' labels: desired is
 * the replicas recorded at deploy, ready those running (and healthy, with a
 * health check), messages the reasons of the others.
 */
export async function statusHosts(pool: HostPool, app: string, targetName: string, signal?: AbortSignal): Promise<BackendStatus> {
  const live = await observeHosts(pool, app, signal);
  const services = new Map<string, { desired: number; running: number; ready: number; revisions: Set<string>; messages: string[] }>();
  for (const s of live.slots.values()) {
    const e = services.get(s.service) ?? { desired: 0, running: 0, ready: 0, revisions: new Set<string>(), messages: [] };
    e.desired = Math.max(e.desired, Number(s.current.labels[LABEL_REPLICAS] ?? 0));
    if (s.current.state === "running") e.running++;
    if (isServing(s.current)) e.ready++;
    else e.messages.push(`${s.current.name} on ${s.current.hostName}: ${s.current.health ?? s.current.state}${s.current.state === "exited" ? ` (exit code ${s.current.exitCode})` : ""}`);
    const rev = s.current.labels["sdx.dev/revision"];
    if (rev) e.revisions.add(rev);
    services.set(s.service, e);
  }
  const out: ServiceStatus[] = [...services].sort(([a], [b]) => a.localeCompare(b)).map(([service, e]) => ({
    service, desired: e.desired, running: e.running, ready: e.ready,
    ...(e.revisions.size === 1 ? { revision: [...e.revisions][0]! } : {}),
    state: e.ready >= e.desired && e.desired > 0 ? "healthy" : e.running === 0 ? "stopped" : e.ready < e.running ? "progressing" : "degraded",
    messages: e.messages,
  }));
  const stray = live.containers.filter((c) => !c.labels["sdx.dev/slot"]).map((c) => `${c.name} on ${c.hostName} carries the app's labels but no slot: not sdx's to manage`);
  return { target: targetName, backend: "hosts", services: out, warnings: stray };
}
