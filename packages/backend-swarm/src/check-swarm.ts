import { effectiveRollout, stopFirstReport, type BackendContext, type CheckReport, type Diagnostic, type FidelityEntry } from "@sdx/sdk";
import { probeRequirement } from "./render/health-test.js";
import { SWARM_SECRET_SOURCES, type SwarmSettings } from "./render/render-swarm.js";
import type { SwarmTarget } from "./swarm-target.js";

/**
 * Swarm-specific problems and the fidelity report: what Swarm carries exactly,
 * what sdx approximates and how, and what it drops. What follows from the
 * backend's capabilities alone (no autoscaler; exec-only probes, refined here
 * with the command sdx runs) is derived by the sdk. Pure.
 */
export function checkSwarm(ctx: BackendContext<SwarmTarget>): CheckReport {
  const settings: SwarmSettings = ctx.target;
  const diagnostics: Diagnostic[] = [];
  const fidelity: FidelityEntry[] = [];
  const target = ctx.target.name;
  for (const svc of ctx.app.services) {
    const service = svc.name;
    const path = `services.${service}`;
    for (const s of svc.secrets) {
      if (!SWARM_SECRET_SOURCES.has(s.source.kind)) {
        diagnostics.push({
          code: "SDX_BACKEND_UNSUPPORTED", severity: "error", target, path: `${path}.secrets.${s.name}`,
          message: `secret source "${s.source.kind}" is not supported on swarm: Swarm cannot read ${s.source.kind === "kubernetes-secret" ? "Kubernetes secrets" : "AWS secret stores"}`,
          hint: "Use fromEnv or fromFile for this target; sdx then stores the value as a Swarm secret.",
        });
        continue;
      }
      if (s.asEnv) {
        fidelity.push({
          service, field: `secrets.${s.name}.asEnv`, level: "approximated",
          note: svc.command
            ? `Swarm secrets are files; sdx wraps the command in \`sh -c\` to export ${s.asEnv} from the file (the image needs sh and cat) and also sets ${s.asEnv}_FILE`
            : `Swarm secrets are files; the service gets ${s.asEnv}_FILE with the file's path and must read it (set a command to have sdx export ${s.asEnv} itself)`,
        });
      }
    }
    if (svc.health && svc.health.probe.kind !== "exec") {
      fidelity.push({
        service, field: `health.${svc.health.probe.kind}`, level: "approximated",
        note: `Swarm runs only in-container commands, so the ${svc.health.probe.kind} probe becomes a shell check against 127.0.0.1:${svc.health.probe.port}; ${probeRequirement(svc.health.probe)}`,
      });
    }
    if (svc.placement.spot === "prefer") {
      fidelity.push({
        service, field: "placement.spot", level: "approximated",
        note: `Swarm has no weighted preference; replicas spread evenly over the values of node label ${settings.spotLabel} (spot / on-demand)`,
      });
    }
    // A spot policy the app left out adds no constraint (see placementOf), so minOnDemand has nothing to hold on to.
    const spotGiven = !svc.placement.defaulted?.includes("spot");
    if (svc.placement.minOnDemand > 0) {
      fidelity.push({
        service, field: "placement.minOnDemand", level: svc.placement.spot === "prefer" ? "approximated" : spotGiven ? "exact" : "dropped",
        note: svc.placement.spot === "prefer"
          ? "not enforced: the spread puts about half the replicas on on-demand nodes when both kinds exist, none when only spot nodes exist"
          : spotGiven ? "all replicas run on on-demand nodes" : "no spot policy given, so replicas run on any node; set placement.spot to keep them on on-demand nodes",
      });
    }
    const stopFirst = stopFirstReport(svc, target, "UpdateConfig and RollbackConfig Order stop-first");
    diagnostics.push(...stopFirst.diagnostics);
    fidelity.push(...stopFirst.fidelity);
    if (effectiveRollout(svc).strategy === "rolling" && svc.rollout.maxUnavailable !== 0 && svc.rollout.maxUnavailable !== "0%") {
      fidelity.push({ service, field: "rollout.maxUnavailable", level: "approximated", note: "Swarm has one batch size; with maxSurge it is the surge (start-first), otherwise maxUnavailable (stop-first)" });
    }
    if (settings.publishMode === "host" && svc.ports.some((p) => p.public)) {
      fidelity.push({ service, field: "ports.public", level: "approximated", note: "host mode: each task publishes on a port the engine picks on its node (see `sdx status` / `docker service ps`); no routing mesh" });
    }
    for (const v of svc.volumes) {
      if (v.kind === "persistent") {
        fidelity.push({ service, field: `volumes.${v.name}`, level: "approximated", note: "a named local volume on each node the task lands on: data does not follow a task to another node" });
      }
      if (v.kind === "persistent" && v.sizeMiB) {
        fidelity.push({ service, field: `volumes.${v.name}.sizeMiB`, level: "dropped", note: "the local volume driver has no size limit" });
      }
    }
  }
  return { diagnostics, fidelity };
}
