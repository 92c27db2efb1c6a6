import { LABEL_APP, LABEL_REVISION, LABEL_SERVICE, isOwnedBy, type BackendStatus, type ServiceStatus } from "@sdx/sdk";
import { evaluateRollout } from "./apply/rollout-state.js";
import { eventTime } from "./apply/wait-rollouts.js";
import type { K8sClient, KubeObject } from "./client/k8s-client.js";
import type { K8sTarget } from "./k8s-target.js";

/** Warning events kept per service in `status`. */
const MESSAGES_PER_SERVICE = 5;
/** Warning lines kept for the whole app. */
const WARNINGS_PER_APP = 20;

/**
 * Per-service counts and the latest warning events, from an app's Deployments
 * (several per service when split into spot and on-demand pools) and the
 * namespace's Warning events. Pure.
 */
export function statusOf(deployments: readonly KubeObject[], warningEvents: readonly KubeObject[]): Pick<BackendStatus, "services" | "warnings"> {
  const recent = [...warningEvents].sort((a, b) => eventTime(b).localeCompare(eventTime(a)));
  const about = (name: string): KubeObject[] =>
    recent.filter((e) => {
      const n = String((e.involvedObject as { name?: string } | undefined)?.name ?? "");
      return n === name || n.startsWith(`${name}-`);
    });
  const byService = new Map<string, KubeObject[]>();
  for (const d of deployments) {
    const svc = d.metadata.labels?.[LABEL_SERVICE] ?? d.metadata.name;
    byService.set(svc, [...(byService.get(svc) ?? []), d]);
  }
  const services: ServiceStatus[] = [];
  const warnings = new Set<string>();
  for (const [service, ds] of [...byService].sort(([a], [b]) => a.localeCompare(b))) {
    let desired = 0, running = 0, ready = 0, updated = 0;
    let phase: "succeeded" | "progressing" | "failed" = "succeeded";
    const messages: string[] = [];
    for (const d of ds) {
      const st = (d.status ?? {}) as { replicas?: number };
      const r = evaluateRollout(d);
      desired += r.desired;
      running += st.replicas ?? 0;
      ready += r.ready;
      updated += r.updated;
      if (r.phase === "failed") phase = "failed";
      else if (r.phase === "progressing" && phase !== "failed") phase = "progressing";
      for (const e of about(d.metadata.name)) {
        const line = `${String(e.reason ?? "Warning")}: ${String(e.message ?? "")}`;
        if (!messages.includes(line)) messages.push(line);
        warnings.add(`${service}: ${line}`);
      }
    }
    const main = ds.find((d) => d.metadata.name === service) ?? ds[0]!;
    const revision = main.metadata.labels?.[LABEL_REVISION];
    const state: ServiceStatus["state"] = desired === 0 ? "stopped" : phase === "failed" ? "degraded" : phase === "progressing" ? "progressing" : ready >= desired ? "healthy" : "degraded";
    services.push({
      service, desired, running, ready, updated, pending: Math.max(0, desired - ready),
      ...(revision ? { revision } : {}), state, messages: messages.slice(0, MESSAGES_PER_SERVICE),
    });
  }
  return { services, warnings: [...warnings].slice(0, WARNINGS_PER_APP) };
}

/** The app's Deployments in the target's namespace, found by the sdx app label. */
export async function statusK8s(client: K8sClient, target: K8sTarget, appName: string, signal?: AbortSignal): Promise<BackendStatus> {
  const ns = target.namespace;
  const [deps, events] = await Promise.all([
    client.list("Deployment", ns, { labelSelector: `${LABEL_APP}=${appName}` }, signal),
    client.list("Event", ns, { fieldSelector: "type=Warning" }, signal),
  ]);
  // The label selector is a filter, not the proof: isOwnedBy checks managed-by too.
  const owned = deps.filter((d) => isOwnedBy(d.metadata.labels, appName));
  return { target: target.name, backend: "kubernetes", ...statusOf(owned, events) };
}
