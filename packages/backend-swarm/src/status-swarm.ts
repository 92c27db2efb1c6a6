import { LABEL_APP, LABEL_REVISION, LABEL_SERVICE, isOwnedBy, type BackendStatus, type ServiceStatus } from "@sdx/sdk";
import type { SwarmClient, SwarmService, SwarmTask } from "./client/swarm-client.js";
import { taskErrors } from "./apply/rollout-state.js";

const PENDING = new Set(["new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting"]);

/** A task failure this recent means the service is crash-looping, even if a replica happens to be up right now. */
const RECENT_FAILURE_MS = 60_000;

/** Tasks per state, the last errors and the published host ports of one service. Pure. */
export function serviceStatus(service: SwarmService, tasks: readonly SwarmTask[], upToDate: readonly SwarmTask[], now: number = Date.now()): ServiceStatus {
  const name = service.Spec.Labels?.[LABEL_SERVICE] ?? service.Spec.Name;
  const desired = (service.Spec.Mode as { Replicated?: { Replicas?: number } } | undefined)?.Replicated?.Replicas ?? 0;
  const active = tasks.filter((t) => t.DesiredState === "running");
  const running = active.filter((t) => t.Status.State === "running").length;
  const pending = active.filter((t) => PENDING.has(t.Status.State)).length;
  const updated = upToDate.filter((t) => t.DesiredState === "running" && t.Status.State === "running").length;
  const errors = taskErrors(tasks);
  const us = service.UpdateStatus;
  const messages = [...(us?.Message ? [`update ${us.State}: ${us.Message}`] : []), ...errors];
  const ports = active.flatMap((t) => t.Status.PortStatus?.Ports ?? []).filter((p) => p.PublishedPort);
  if (ports.length) messages.push(`published: ${ports.map((p) => `${p.PublishedPort}->${p.TargetPort}/${p.Protocol ?? "tcp"}`).join(", ")}`);
  let state: ServiceStatus["state"];
  if (desired === 0) state = running === 0 ? "stopped" : "progressing";
  else if (us?.State === "updating" || us?.State === "rollback_started") state = "progressing";
  else if (running >= desired && updated >= desired) {
    const recentFailure = tasks.some((t) => t.DesiredState === "shutdown" && (t.Status.State === "failed" || t.Status.State === "rejected") && now - Date.parse(t.Status.Timestamp ?? "") < RECENT_FAILURE_MS);
    state = us?.State === "paused" || us?.State === "rollback_paused" || recentFailure ? "degraded" : "healthy";
  }
  else state = errors.length ? "degraded" : "progressing";
  const revision = service.Spec.Labels?.[LABEL_REVISION];
  // Swarm has no readiness apart from health: a task is "running" only once healthy.
  return { service: name, desired, running, ready: running, updated, pending, ...(revision ? { revision } : {}), state, messages };
}

/** The app's services on the engine, found by the sdx app label. */
export async function statusSwarm(client: SwarmClient, appName: string, target: string): Promise<BackendStatus> {
  const services = (await client.listServices(`${LABEL_APP}=${appName}`)).filter((s) => isOwnedBy(s.Spec.Labels, appName));
  const out = await Promise.all(
    services.map(async (s) => {
      const [tasks, upToDate] = await Promise.all([client.listTasks({ service: s.ID }), client.listTasks({ service: s.ID, upToDate: true })]);
      return serviceStatus(s, tasks, upToDate);
    }),
  );
  out.sort((a, b) => a.service.localeCompare(b.service));
  const warnings = out.filter((s) => s.state === "degraded").map((s) => `${s.service}: ${s.messages[0] ?? "degraded"}`);
  return { target, backend: "swarm", services: out, warnings };
}
