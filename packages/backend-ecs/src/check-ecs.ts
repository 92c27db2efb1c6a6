import type { BackendContext, CheckReport, Diagnostic, EcsTarget, FidelityEntry } from "@sdx/sdk";
import { formatFargateSize, nearestFargateSize, roundUpFargate } from "./fargate-size.js";
import { healthCommand, isSecretArn, taskSize } from "./render-ecs.js";

const STORE_HINT =
  "ECS reads secrets itself from AWS Secrets Manager or SSM Parameter Store. Store the value there " +
  "(e.g. `aws secretsmanager create-secret --name <name> --secret-string file://<file>`) and reference its ARN with " +
  "`awsSecretsManager: arn:aws:secretsmanager:<region>:<account>:secret:<name>` or `awsSsmParameter: arn:aws:ssm:<region>:<account>:parameter/<name>`.";

/**
 * ECS-specific problems and the fidelity report: what Fargate carries exactly,
 * what it approximates (task size, probes, files) and what it drops. Pure.
 */
export function checkEcs(ctx: BackendContext<EcsTarget>): CheckReport {
  const { app, target } = ctx;
  const diagnostics: Diagnostic[] = [];
  const fidelity: FidelityEntry[] = [];
  const tp = `targets.${target.name}`;
  const diag = (severity: Diagnostic["severity"], code: string, path: string, message: string, hint?: string): void => {
    diagnostics.push({ code, severity, path, message, target: target.name, ...(hint ? { hint } : {}) });
  };
  if (target.subnets.length === 0) {
    diag("error", "SDX_ECS_SUBNETS", `${tp}.subnets`, "Fargate tasks use awsvpc networking and need at least one subnet", "List the VPC subnet ids under `subnets:` (e.g. subnet-0a1b2c3d).");
  }
  if (target.securityGroups.length === 0) {
    diag("warning", "SDX_ECS_SECURITY_GROUPS", `${tp}.securityGroups`, "no security groups: tasks get the VPC's default security group", "List security group ids under `securityGroups:`.");
  }
  const usesSecrets = app.services.some((s) => s.secrets.length > 0);
  if (!target.executionRoleArn) {
    diag(usesSecrets ? "error" : "warning", "SDX_ECS_EXECUTION_ROLE", `${tp}.executionRoleArn`,
      usesSecrets ? "services read secrets, which needs a task execution role" : "no task execution role: awslogs logging and private image pulls need one",
      "Set executionRoleArn to a role with AmazonECSTaskExecutionRolePolicy (plus secretsmanager:GetSecretValue / ssm:GetParameters for secrets).");
  }

  for (const svc of app.services) {
    const sp = `services.${svc.name}`;
    const field = (f: string, level: FidelityEntry["level"], note?: string): void => {
      fidelity.push({ service: svc.name, field: f, level, ...(note ? { note } : {}) });
    };

    const { requested, billed } = taskSize(svc);
    if (!roundUpFargate(svc.resources.cpuMillis, svc.resources.memoryMiB)) {
      diag("error", "SDX_FARGATE_SIZE", `${sp}.resources`, `no Fargate task holds ${svc.resources.cpuMillis}m CPU and ${svc.resources.memoryMiB} MiB; the largest (nearest valid) size is ${formatFargateSize(nearestFargateSize(requested.cpuUnits, requested.memoryMiB))}`,
        "Lower resources.cpu / resources.memory, or deploy this service to a node-based target.");
    } else if (billed.cpuUnits !== requested.cpuUnits || billed.memoryMiB !== requested.memoryMiB) {
      field("resources", "approximated", `rounded up to the Fargate size ${formatFargateSize(billed)} (requested ${svc.resources.cpuMillis}m / ${svc.resources.memoryMiB} MiB); billed at that size`);
    } else field("resources", "exact");
    if (svc.resources.limits) field("resources.limits", "approximated", "Fargate enforces the task size as the limit");

    svc.secrets.forEach((s) => {
      const p = `${sp}.secrets.${s.name}`;
      switch (s.source.kind) {
        case "env":
        case "file":
        case "kubernetes-secret":
          diag("error", "SDX_ECS_SECRET_SOURCE", p, `secret "${s.name}" comes from ${s.source.kind === "env" ? `environment variable ${s.source.name}` : s.source.kind === "file" ? `file ${s.source.path}` : "a Kubernetes Secret"}; ECS needs an ARN`, STORE_HINT);
          return;
        case "aws-secrets-manager":
        case "aws-ssm-parameter":
          if (!isSecretArn(s.source.arn)) {
            diag("error", "SDX_ECS_SECRET_ARN", p, `secret "${s.name}": "${s.source.arn}" is not a Secrets Manager or SSM parameter ARN`, STORE_HINT);
            return;
          }
          if (s.asEnv) field(`secrets.${s.name}`, "exact", "container secret (valueFrom)");
          if (s.asFile) field(`secrets.${s.name}.asFile`, "approximated", `ECS injects secrets as environment only; an init container writes it to ${s.asFile}, whose directory becomes a task volume`);
          return;
        default: {
          const never: never = s.source;
          throw new Error(`unhandled secret source ${JSON.stringify(never)}`);
        }
      }
    });

    if (svc.files.length > 0) {
      const dirs = [...new Set(svc.files.map((f) => f.path.slice(0, f.path.lastIndexOf("/")) || "/"))];
      field("files", "approximated", `ECS has no config files: an init container writes them into task volumes mounted read-only at ${dirs.join(", ")}, which hide the image's own content there`);
    }

    if (svc.health) {
      const kind = svc.health.probe.kind;
      if (kind === "exec") field("health.exec", "exact");
      else field(`health.${kind}`, "approximated", `ECS runs command checks only: ${healthCommand(svc.health)[1]} (the image needs ${kind === "http" ? "wget or curl" : "nc"})`);
      const h = svc.health;
      if (h.intervalSeconds < 5 || h.intervalSeconds > 300 || h.timeoutSeconds < 2 || h.timeoutSeconds > 60 || h.retries > 10 || h.startPeriodSeconds > 300) {
        field("health.timing", "approximated", "clamped to ECS limits (interval 5–300 s, timeout 2–60 s, retries 1–10, startPeriod 0–300 s)");
      }
    }

    for (const v of svc.volumes) {
      if (v.kind === "persistent") field(`volumes.${v.name}`, "dropped", "persistent volumes need EFS, which this target does not configure; the volume is not mounted");
      else field(`volumes.${v.name}`, v.sizeMiB ? "approximated" : "exact", v.sizeMiB ? "a task bind mount sharing the task's ephemeral storage (raised above 20 GiB when the sizes need it)" : undefined);
    }
    if (svc.volumes.some((v) => v.kind === "persistent")) {
      diag("warning", "SDX_ECS_VOLUME_DROPPED", `${sp}.volumes`, "persistent volumes are not mounted on this target (no EFS configured)", "Use an EFS volume through `overrides`, or deploy stateful services elsewhere.");
    }
    if (Object.keys(svc.placement.constraints).length > 0) field("placement.constraints", "dropped", "Fargate has no node labels to constrain placement");
    if (svc.placement.spot !== "never") field("placement.spot", "exact", "FARGATE_SPOT capacity provider" + (target.spotFallback ? `, falling back to FARGATE after ${target.spotFallbackSeconds}s unplaced` : ""));
    if (svc.rollout.strategy === "recreate") field("rollout.strategy", "approximated", "minimumHealthyPercent 0 / maximumPercent 100");
    const pub = svc.ports.filter((p) => p.public);
    if (pub.length > 0 && !target.targetGroups[svc.name]) {
      field("ports.public", "approximated", "no target group named for this service: tasks are reachable only at their own IPs (assignPublicIp / security groups)");
    }
    for (const p of svc.ports) if (p.appProtocol !== "tcp") field(`ports.${p.name}.appProtocol`, "dropped", "only used by ECS Service Connect, which sdx does not configure");
  }
  return { diagnostics, fidelity };
}
