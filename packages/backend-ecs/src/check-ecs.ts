import { secretKey, stopFirstReport, type BackendContext, type CheckReport, type Diagnostic, type FidelityEntry } from "@sdx/sdk";
import type { EcsTarget } from "./ecs-target.js";
import { parameterName, parameterPath } from "./render/ecs-names.js";
import { formatFargateSize, nearestFargateSize, roundUpFargate } from "./render/fargate-size.js";
import { healthCommand, isSecretArn, taskSize } from "./render/render-ecs.js";

const STORE_HINT =
  "ECS reads secrets itself from AWS Secrets Manager or SSM Parameter Store. Either give the value to sdx with " +
  "`fromEnv: VAR` / `fromFile: path` (sdx stores it in SSM Parameter Store as a SecureString at deploy time), or store it yourself " +
  "(e.g. `aws secretsmanager create-secret --name <name> --secret-string file://<file>`) and reference its ARN with " +
  "`awsSecretsManager: arn:aws:secretsmanager:<region>:<account>:secret:<name>` or `awsSsmParameter: arn:aws:ssm:<region>:<account>:parameter/<name>`.";

/** SSM standard parameters hold at most 4 KB. */
const SSM_STANDARD_MAX_BYTES = 4096;

/**
 * ECS-specific problems and the fidelity report: what Fargate carries exactly,
 * what it approximates (task size, probes, files) and what it drops. What
 * follows from the backend's capabilities alone (exec-only probes, refined
 * here with the command; no persistent volumes, refused) is derived by the sdk. Pure.
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
    // An error, not a warning, when secrets are used: RegisterTaskDefinition itself refuses container
    // secrets without an execution role, which would fail the deploy half-way (parameters written).
    diag(usesSecrets ? "error" : "warning", "SDX_ECS_EXECUTION_ROLE", `${tp}.executionRoleArn`,
      usesSecrets ? "services read secrets, which ECS fetches with the task execution role; none is set" : "no task execution role: awslogs logging and private image pulls need one",
      "Set executionRoleArn to a role with AmazonECSTaskExecutionRolePolicy, plus for secrets: secretsmanager:GetSecretValue on ARN secrets, and " +
      `ssm:GetParameters on arn:aws:ssm:${target.region}:<account>:parameter${parameterPath(app.name, target.cluster)}/* with kms:Decrypt on its key (aws/ssm unless overridden) for the ones sdx stores.`);
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
    } else {
      // Fargate has no unsized task: whatever size runs is also the task's hard limit, so it is reported even when the request fits exactly.
      const rounded = billed.cpuUnits !== requested.cpuUnits || billed.memoryMiB !== requested.memoryMiB;
      const defaulted = svc.resources.defaulted ?? [];
      if (defaulted.length > 0) {
        const used = defaulted.map((k) => (k === "cpu" ? `${svc.resources.cpuMillis}m CPU` : `${svc.resources.memoryMiB} MiB memory`)).join(" / ");
        field("resources", "approximated", `no ${defaulted.join(" or ")} request given; Fargate size ${formatFargateSize(billed)} used (sdx default ${used}${rounded ? ", rounded up to a valid size" : ""}), which is also the task's hard limit`);
      } else if (rounded) {
        field("resources", "approximated", `rounded up to the Fargate size ${formatFargateSize(billed)} (requested ${svc.resources.cpuMillis}m / ${svc.resources.memoryMiB} MiB); billed at that size, which is also the task's hard limit`);
      } else if (!svc.resources.limits) {
        field("resources", "approximated", `Fargate size ${formatFargateSize(billed)} as requested; Fargate also enforces it as the task's hard limit, though no limits are given`);
      } else field("resources", "exact");
    }
    if (svc.resources.limits) field("resources.limits", "approximated", "Fargate enforces the task size as the limit");

    svc.secrets.forEach((s) => {
      const p = `${sp}.secrets.${s.name}`;
      switch (s.source.kind) {
        case "env":
        case "file": {
          const value = ctx.secrets.get(secretKey(svc.name, s.name))?.value;
          // Measured, never shown: SSM refuses empty values and standard parameters over 4 KB.
          const bytes = value ? Buffer.byteLength(value.reveal(), "utf8") : undefined;
          const from = s.source.kind === "env" ? `environment variable ${s.source.name}` : `file ${s.source.path}`;
          if (bytes === 0) diag("error", "SDX_ECS_SECRET_SIZE", p, `secret "${s.name}" (${from}) is empty; SSM Parameter Store cannot store an empty value`, "Give the secret a value, or remove it.");
          else if (bytes !== undefined && bytes > SSM_STANDARD_MAX_BYTES) {
            diag("error", "SDX_ECS_SECRET_SIZE", p, `secret "${s.name}" (${from}) is ${bytes} bytes; sdx stores it as a standard SSM parameter, which holds at most ${SSM_STANDARD_MAX_BYTES}`,
              "Store it in AWS Secrets Manager (up to 64 KB) and reference it with `awsSecretsManager: <ARN>`.");
          }
          const where = parameterName(app.name, target.cluster, svc.name, s.name);
          if (s.asEnv) field(`secrets.${s.name}`, "approximated", `stored in SSM Parameter Store as a SecureString (${where}) by sdx at deploy time; ECS injects it with the execution role`);
          if (s.asFile) field(`secrets.${s.name}.asFile`, "approximated", `stored in SSM Parameter Store as a SecureString (${where}) by sdx at deploy time; ECS injects secrets as environment only, so an init container writes it to ${s.asFile}, whose directory becomes a task volume`);
          return;
        }
        case "kubernetes-secret":
          diag("error", "SDX_ECS_SECRET_SOURCE", p, `secret "${s.name}" comes from the Kubernetes Secret ${s.source.name} (key ${s.source.key}), which ECS cannot read`, STORE_HINT);
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

    // Persistent volumes: the capabilities declare none (no EFS), so the sdk refuses them.
    for (const v of svc.volumes) {
      if (v.kind === "ephemeral") field(`volumes.${v.name}`, v.sizeMiB ? "approximated" : "exact", v.sizeMiB ? "a task bind mount sharing the task's ephemeral storage (raised above 20 GiB when the sizes need it)" : undefined);
    }
    if (Object.keys(svc.placement.constraints).length > 0) field("placement.constraints", "dropped", "Fargate has no node labels to constrain placement");
    // Fargate must run a task on some architecture and capacity: a choice the app left out is the default, said with its value.
    const left = svc.placement.defaulted ?? [];
    if (left.includes("arch")) field("placement.arch", "approximated", `not given; runtimePlatform ${svc.placement.arch === "arm64" ? "ARM64" : "X86_64"} used (sdx default ${svc.placement.arch})`);
    if (left.includes("spot")) field("placement.spot", "approximated", `not given; FARGATE on-demand capacity used (sdx default ${svc.placement.spot})`);
    if (svc.placement.spot !== "never") field("placement.spot", "exact", "FARGATE_SPOT capacity provider" + (target.spotFallback ? `, falling back to FARGATE after ${target.spotFallbackSeconds}s unplaced` : ""));
    if (svc.rollout.strategy === "recreate") field("rollout.strategy", "approximated", "minimumHealthyPercent 0 / maximumPercent 100");
    const stopFirst = stopFirstReport(svc, target.name, "minimumHealthyPercent 0 / maximumPercent 100");
    diagnostics.push(...stopFirst.diagnostics);
    fidelity.push(...stopFirst.fidelity);
    const pub = svc.ports.filter((p) => p.public);
    if (pub.length > 0 && !target.targetGroups[svc.name]) {
      // Clients of a public port expect one address that reaches the service; task IPs change at every deploy.
      fidelity.push({ service: svc.name, field: "ports.public", level: "approximated", note: "no target group named for this service: tasks are reachable only at their own IPs (assignPublicIp / security groups)", breaks: "public-port" });
    }
    const internal = svc.ports.filter((p) => !p.public);
    if (internal.length > 0 && app.services.length > 1) {
      // Other services reach an internal port by name (http://api:9090); nothing registers ECS services under their names.
      fidelity.push({ service: svc.name, field: "ports", level: "dropped", note: `not reachable by name: sdx registers no service discovery on ECS (no Service Connect or Cloud Map), so ${svc.name}:${internal[0]!.port} does not resolve from other services`, breaks: "discovery" });
    }
    for (const p of svc.ports) if (p.appProtocol !== "tcp") field(`ports.${p.name}.appProtocol`, "dropped", "only used by ECS Service Connect, which sdx does not configure");
  }
  return { diagnostics, fidelity };
}
