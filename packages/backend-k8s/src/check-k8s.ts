import { effectiveRollout, stopFirstReport, type BackendContext, type CheckReport, type Diagnostic, type FidelityEntry } from "@sdx/sdk";
import type { K8sTarget } from "./k8s-target.js";

// IANA_SVC_NAME, which Kubernetes requires for container and Service port names.
const PORT_NAME = /^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Kubernetes-specific problems and the fidelity report: how each model field maps. Pure. */
export function checkK8s(ctx: BackendContext<K8sTarget>): CheckReport {
  const target = ctx.target;
  const diagnostics: Diagnostic[] = [];
  const fidelity: FidelityEntry[] = [];
  const diag = (d: Omit<Diagnostic, "target">): void => void diagnostics.push({ ...d, target: target.name });
  for (const svc of ctx.app.services) {
    const at = (field: string): string => `services.${svc.name}.${field}`;
    const f = (field: string, level: FidelityEntry["level"], note?: string): void =>
      void fidelity.push({ service: svc.name, field, level, ...(note ? { note } : {}) });
    f("image", "exact");
    if (svc.command) f("command", "exact", "container command");
    if (svc.args) f("args", "exact", "container args");
    if (Object.keys(svc.env).length > 0) f("env", "exact");
    for (const s of svc.secrets) {
      switch (s.source.kind) {
        case "env":
        case "file":
          f(`secrets.${s.name}`, "exact", "immutable Secret named by a digest of the values; a change rolls the pods");
          break;
        case "kubernetes-secret":
          f(`secrets.${s.name}`, "exact", `references the existing Secret ${s.source.name}`);
          break;
        case "aws-secrets-manager":
        case "aws-ssm-parameter":
          f(`secrets.${s.name}`, "dropped", "AWS secret stores are not reachable from Kubernetes by sdx");
          diag({
            code: "SDX_BACKEND_UNSUPPORTED", severity: "error", path: at(`secrets.${s.name}`),
            message: `secret "${s.name}" comes from ${s.source.kind}, which the kubernetes backend cannot deliver`,
            hint: "Sync it into a Kubernetes Secret (e.g. with External Secrets) and use `kubernetesSecret: { name, key }`, or use fromEnv/fromFile.",
          });
          break;
        default: {
          const never: never = s.source;
          throw new Error(`unhandled secret source ${JSON.stringify(never)}`);
        }
      }
    }
    if (svc.files.length > 0) f("files", "exact", "immutable ConfigMap named by a content hash, mounted with subPath; a change rolls the pods");
    svc.ports.forEach((p, i) => {
      if (!PORT_NAME.test(p.name)) {
        diag({
          code: "SDX_K8S_PORT_NAME", severity: "error", path: at(`ports[${i}].name`),
          message: `port name "${p.name}" is not valid on Kubernetes (at most 15 lower-case letters, digits and dashes, with a letter)`,
          hint: "Give the port a shorter name, e.g. `name: http`.",
        });
      }
      if (!p.public) return;
      if (target.expose === "ingress" && (p.appProtocol === "tcp" || p.protocol === "udp")) {
        f(`ports[${i}].public`, "approximated", "an Ingress only carries HTTP; this port gets a LoadBalancer Service instead");
        diag({
          code: "SDX_K8S_INGRESS_PORT", severity: "warning", path: at(`ports[${i}]`),
          message: `public port ${p.port} is not HTTP, so it is exposed by a LoadBalancer Service rather than the Ingress`,
        });
      } else {
        f(`ports[${i}].public`, "exact", target.expose === "ingress" ? "Ingress" : target.expose === "node-port" ? "NodePort Service" : "LoadBalancer Service");
      }
    });
    if (svc.health) {
      f(`health.${svc.health.probe.kind}`, "exact", "readiness and liveness probes");
      if (svc.health.startPeriodSeconds > 0) f("health.startPeriod", "approximated", "a startup probe allowing the period plus the retries");
    }
    const defaulted = svc.resources.defaulted ?? [];
    if (defaulted.length > 0) {
      // Requests place pods and weigh CPU shares; they never kill or throttle, so a default is safe to run with, but it is not the app's.
      const used = defaulted.map((k) => (k === "cpu" ? `${svc.resources.cpuMillis}m CPU` : `${svc.resources.memoryMiB}Mi memory`)).join(" / ");
      f("resources", "approximated", `no ${defaulted.join(" or ")} request given; requests ${used} used (sdx default) for scheduling${svc.scale.kind === "auto" ? " and the autoscaler's utilisation" : ""}; requests never stop or throttle a container`);
    } else f("resources", "exact", "requests");
    if (svc.resources.limits?.cpuMillis !== undefined || svc.resources.limits?.memoryMiB !== undefined) f("resources.limits", "exact", "limits");
    if (svc.scale.kind === "auto") f("scale", "exact", "HorizontalPodAutoscaler (autoscaling/v2, CPU utilisation); needs metrics-server");
    else f("scale", "exact", "Deployment replicas");
    for (const v of svc.volumes) {
      if (v.kind === "ephemeral") f(`volumes.${v.name}`, "exact", "emptyDir");
      else {
        const replicas = svc.scale.kind === "fixed" ? svc.scale.replicas : svc.scale.max;
        f(`volumes.${v.name}`, "approximated", "one ReadWriteOnce PersistentVolumeClaim shared by the replicas");
        if (replicas > 1) {
          diag({
            code: "SDX_K8S_SHARED_VOLUME", severity: "warning", path: at(`volumes.${v.name}`),
            message: `persistent volume "${v.name}" is one ReadWriteOnce claim; replicas on other nodes cannot mount it`,
            hint: "Run one replica, or give the claim a ReadWriteMany storage class through overrides.",
          });
        }
      }
    }
    // A spot policy or architecture left out renders no affinity or selector: nothing to report for it.
    const left = svc.placement.defaulted ?? [];
    if (left.includes("spot")) {
      if (svc.placement.minOnDemand > 0) f("placement.minOnDemand", "dropped", "no spot policy given, so pods run on any node; set placement.spot to keep some on on-demand nodes");
    } else if (svc.placement.spot !== "never") {
      f("placement.spot", "approximated", "node affinity and tolerations on the capacity labels; only as good as the nodes' labels");
      if (svc.placement.minOnDemand > 0) {
        f("placement.minOnDemand", "approximated", `a second Deployment ${svc.name}-on-demand pinned to on-demand nodes`);
        if (svc.placement.spot === "only") {
          diag({
            code: "SDX_K8S_SPOT_ONLY_MIN_ON_DEMAND", severity: "warning", path: at("placement.minOnDemand"),
            message: "spot: only with minOnDemand > 0 still runs the minimum on on-demand nodes",
          });
        }
      }
    } else {
      f("placement.spot", "exact", "required node affinity away from spot capacity labels");
    }
    if (!left.includes("arch")) f("placement.arch", "exact", "nodeSelector kubernetes.io/arch");
    if (Object.keys(svc.placement.constraints).length > 0) f("placement.constraints", "exact", "nodeSelector");
    f("rollout.strategy", "exact", effectiveRollout(svc).strategy === "recreate" ? "Recreate" : "RollingUpdate");
    const stopFirst = stopFirstReport(svc, target.name, "Deployment strategy Recreate");
    diagnostics.push(...stopFirst.diagnostics);
    fidelity.push(...stopFirst.fidelity);
    f("rollout.timeout", "exact", "progressDeadlineSeconds");
    f("rollout.autoRollback", "approximated", "performed by sdx after the rollout fails (the cluster does not roll back by itself)");
  }
  return { diagnostics, fidelity };
}
