import type { BackendContext, CheckReport, Diagnostic, FidelityEntry } from "@sdx/sdk";
import type { HostsTarget } from "./hosts-target.js";
import { placeReplicas, replicasOf } from "./render/place-replicas.js";

/** Secret sources sdx can deliver to hosts (it must read the value itself). */
export const HOSTS_SECRET_SOURCES: ReadonlySet<string> = new Set(["env", "file"]);

/**
 * Hosts-specific problems (placement that cannot be met, secret stores the
 * hosts cannot read) and the fidelity report: what plain hosts carry exactly,
 * what sdx approximates and how, and what it drops. Pure.
 */
export function checkHosts(ctx: BackendContext<HostsTarget>): CheckReport {
  const target = ctx.target.name;
  const multiHost = ctx.target.hosts.length > 1;
  const diagnostics: Diagnostic[] = [...placeReplicas(ctx.app.services, ctx.target.hosts, target).diagnostics];
  const fidelity: FidelityEntry[] = [];
  for (const svc of ctx.app.services) {
    const service = svc.name;
    const path = `services.${service}`;
    for (const s of svc.secrets) {
      if (!HOSTS_SECRET_SOURCES.has(s.source.kind)) {
        diagnostics.push({
          code: "SDX_BACKEND_UNSUPPORTED", severity: "error", target, path: `${path}.secrets.${s.name}`,
          message: `secret source "${s.source.kind}" is not supported on hosts: plain Docker hosts cannot read ${s.source.kind === "kubernetes-secret" ? "Kubernetes secrets" : "AWS secret stores"}`,
          hint: "Use fromEnv or fromFile for this target; sdx then writes the value to a 0400 file on each host.",
        });
      } else if (s.asEnv) {
        fidelity.push({ service, field: `secrets.${s.name}.asEnv`, level: "exact", note: `delivered in a 0400 env file (never on a command line); like any variable it is visible to root through \`docker inspect\` on the host` });
      }
    }
    if (svc.health && svc.health.probe.kind !== "exec") {
      fidelity.push({
        service, field: `health.${svc.health.probe.kind}`, level: "approximated",
        note: `Docker runs health checks inside the container: the ${svc.health.probe.kind} probe runs \`node -e\` when the image has Node (sdx-built images), else \`sh\` with busybox \`nc\``,
      });
    }
    const internal = svc.ports.filter((p) => !p.public);
    if (internal.length && multiHost) {
      fidelity.push({ service, field: "ports", level: "approximated", note: `reached by name (${service}:${internal[0]!.port}) only from containers on the same host: each host has its own app network and no overlay joins them`, breaks: "discovery" });
    }
    // Not a break: every host running a replica answers on the port at its own address, so clients still reach the service.
    if (svc.ports.some((p) => p.public)) {
      fidelity.push({ service, field: "ports.public", level: "approximated", note: "published on each host that runs a replica (one replica per host), at the host's own address; no load balancer spreads requests across hosts" });
    }
    if (svc.scale.kind === "auto") {
      fidelity.push({ service, field: "scale", level: "approximated", note: `no autoscaler on plain hosts: runs its minimum, ${replicasOf(svc)} replica(s)` });
    }
    for (const v of svc.volumes) {
      if (v.kind === "persistent") {
        fidelity.push({ service, field: `volumes.${v.name}`, level: replicasOf(svc) > 1 && multiHost ? "approximated" : "exact", note: `a directory under ${ctx.target.dataDir}/${ctx.app.name}/volumes on the host; kept by destroy${replicasOf(svc) > 1 && multiHost ? "; each host keeps its own data" : ""}; updates stop the old container first` });
        if (v.sizeMiB) fidelity.push({ service, field: `volumes.${v.name}.sizeMiB`, level: "dropped", note: "a host directory has no size limit" });
      }
    }
    if (svc.rollout.strategy === "rolling") {
      fidelity.push({ service, field: "rollout", level: "approximated", note: "host by host: each host starts its new containers, waits until they serve, then stops the old ones (stop-first with a public port or persistent volume)" });
    }
  }
  return { diagnostics, fidelity };
}
