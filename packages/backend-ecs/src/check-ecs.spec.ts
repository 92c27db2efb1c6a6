import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT, exampleContext, withTarget } from "@sdx/sdk/testing";
import { checkTarget, type BackendContext } from "@sdx/sdk";
import type { EcsTarget } from "./ecs-target.js";
import { checkEcs } from "./check-ecs.js";
import { EcsBackend } from "./ecs-backend.js";

const FIXTURE = resolve(REPO_ROOT, "packages/backend-ecs/test/fixtures/shop-ecs/sdx.yaml");
const ecs = (ctx: BackendContext) => ctx as BackendContext<EcsTarget>;

describe("checkEcs", () => {
  it("accepts examples/shop's env and file secrets: sdx stores them in SSM Parameter Store", async () => {
    const r = checkEcs(ecs(await exampleContext<EcsTarget>("shop", { kind: "ecs" })));
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const f = Object.fromEntries(r.fidelity.map((x) => [`${x.service}.${x.field}`, x]));
    expect(f["api.secrets.db-password"]).toEqual({
      service: "api", field: "secrets.db-password", level: "approximated",
      note: "stored in SSM Parameter Store as a SecureString (/sdx/shop/shop/api/db-password) by sdx at deploy time; ECS injects it with the execution role",
    });
    expect(f["api.secrets.payments-key.asFile"]).toMatchObject({ level: "approximated", note: expect.stringContaining("/sdx/shop/shop/api/payments-key") });
    expect(f["worker.secrets.queue-token"]).toMatchObject({ level: "approximated" });
  });

  it("rejects Kubernetes secrets, empty and oversized values, and secrets without an execution role", async () => {
    const base = await exampleContext<EcsTarget>("shop", { kind: "ecs" }, { SHOP_DB_PASSWORD: "", SHOP_QUEUE_TOKEN: "x".repeat(5000) });
    const app = {
      ...base.app,
      services: base.app.services.map((s) => (s.name === "web" ? { ...s, secrets: [{ name: "tls", source: { kind: "kubernetes-secret" as const, name: "web-tls", key: "tls.key" }, asEnv: "TLS_KEY" }] } : s)),
    };
    const r = checkEcs(ecs(withTarget<EcsTarget>({ ...base, app }, { executionRoleArn: undefined })));
    const errs = r.diagnostics.filter((d) => d.severity === "error");
    expect(errs.map((d) => [d.code, d.path])).toEqual([
      ["SDX_ECS_EXECUTION_ROLE", "targets.ecs.executionRoleArn"],
      ["SDX_ECS_SECRET_SOURCE", "services.web.secrets.tls"],
      ["SDX_ECS_SECRET_SIZE", "services.api.secrets.db-password"],
      ["SDX_ECS_SECRET_SIZE", "services.worker.secrets.queue-token"],
    ]);
    expect(errs[0]!.hint).toContain("ssm:GetParameters on arn:aws:ssm:us-east-1:<account>:parameter/sdx/shop/shop/* with kms:Decrypt");
    expect(errs[1]!.message).toBe('secret "tls" comes from the Kubernetes Secret web-tls (key tls.key), which ECS cannot read');
    expect(errs[1]!.hint).toContain("fromEnv");
    expect(errs[2]!.message).toBe('secret "db-password" (environment variable SHOP_DB_PASSWORD) is empty; SSM Parameter Store cannot store an empty value');
    expect(errs[3]!.message).toBe('secret "queue-token" (environment variable SHOP_QUEUE_TOKEN) is 5000 bytes; sdx stores it as a standard SSM parameter, which holds at most 4096');
    expect(JSON.stringify(r)).not.toContain("x".repeat(100));
  });

  it("passes the ECS variant and reports approximations", async () => {
    const r = checkEcs(ecs(await exampleContext<EcsTarget>(FIXTURE, { kind: "ecs" })));
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const f = Object.fromEntries(r.fidelity.map((x) => [`${x.service}.${x.field}`, x]));
    expect(f["web.resources"]).toMatchObject({ level: "approximated", note: expect.stringContaining("0.5 vCPU / 1 GB") });
    expect(f["web.health.http"]).toMatchObject({ level: "approximated" });
    expect(f["api.health.tcp"]).toMatchObject({ level: "approximated" });
    expect(f["worker.health.exec"]).toMatchObject({ level: "exact" });
    expect(f["web.files"]).toMatchObject({ level: "approximated" });
    expect(f["api.secrets.payments-key.asFile"]).toMatchObject({ level: "approximated" });
    expect(f["api.secrets.db-password"]).toMatchObject({ level: "exact" });
  });

  it("reports the task size and the architecture and capacity Fargate runs when the app gave none, with their values", async () => {
    const base = await exampleContext<EcsTarget>("hello", { kind: "ecs" });
    const withWeb = (patch: Record<string, unknown>) => ecs({ ...base, app: { ...base.app, services: base.app.services.map((s) => ({ ...s, ...patch })) } });
    const lines = (ctx: BackendContext<EcsTarget>) => checkEcs(ctx).fidelity.filter((x) => /^(resources|placement)/.test(x.field)).map((x) => `${x.level} ${x.service}.${x.field}: ${x.note}`);
    const placement = base.app.services[0]!.placement;
    expect(lines(withWeb({ resources: { cpuMillis: 250, memoryMiB: 256, defaulted: ["cpu", "memory"] }, placement: { ...placement, defaulted: ["spot", "arch"] } }))).toEqual([
      "approximated web.resources: no cpu or memory request given; Fargate size 0.25 vCPU / 512 MiB used (sdx default 250m CPU / 256 MiB memory, rounded up to a valid size), which is also the task's hard limit",
      "approximated web.placement.arch: not given; runtimePlatform X86_64 used (sdx default amd64)",
      "approximated web.placement.spot: not given; FARGATE on-demand capacity used (sdx default never)",
    ]);
    expect(lines(withWeb({ resources: { cpuMillis: 250, memoryMiB: 1024, defaulted: ["cpu"] }, placement: { spot: "never", minOnDemand: 0, arch: "arm64", constraints: {} } }))).toEqual([
      "approximated web.resources: no cpu request given; Fargate size 0.25 vCPU / 1 GB used (sdx default 250m CPU), which is also the task's hard limit",
    ]);
    // Requests that are a Fargate size exactly, and no limits: still a hard limit the model did not state.
    expect(lines(withWeb({ resources: { cpuMillis: 500, memoryMiB: 1024 }, placement: { spot: "never", minOnDemand: 0, arch: "amd64", constraints: {} } }))).toEqual([
      "approximated web.resources: Fargate size 0.5 vCPU / 1 GB as requested; Fargate also enforces it as the task's hard limit, though no limits are given",
    ]);
    const capped = lines(withWeb({ resources: { cpuMillis: 500, memoryMiB: 1024, limits: { memoryMiB: 1024 } }, placement: { spot: "never", minOnDemand: 0, arch: "amd64", constraints: {} } }));
    expect(capped).toEqual(["exact web.resources: undefined", "approximated web.resources.limits: Fargate enforces the task size as the limit"]);
  });

  it("flags missing subnets, non-ARN secrets and oversized tasks", async () => {
    const base = await exampleContext<EcsTarget>(FIXTURE, { kind: "ecs" });
    const app = {
      ...base.app,
      services: base.app.services.map((s) =>
        s.name === "api" ? { ...s, secrets: [{ name: "db-password", source: { kind: "aws-secrets-manager" as const, arn: "shop/db-password" }, asEnv: "DB_PASSWORD" }] }
        : s.name === "worker" ? { ...s, resources: { cpuMillis: 32000, memoryMiB: 4096 } } : s),
    };
    const r = checkEcs(ecs(withTarget<EcsTarget>({ ...base, app }, { subnets: [] })));
    const byCode = Object.fromEntries(r.diagnostics.filter((d) => d.severity === "error").map((d) => [d.code, d]));
    expect(byCode.SDX_ECS_SUBNETS?.path).toBe("targets.ecs.subnets");
    expect(byCode.SDX_ECS_SECRET_ARN?.message).toBe('secret "db-password": "shop/db-password" is not a Secrets Manager or SSM parameter ARN');
    expect(byCode.SDX_FARGATE_SIZE?.message).toContain("the largest (nearest valid) size is 16 vCPU / 120 GB");
  });

  it("refuses persistent volumes (no EFS): the capabilities declare none, so the sdk's merged check has an error", async () => {
    const base = await exampleContext<EcsTarget>(FIXTURE, { kind: "ecs" });
    const app = { ...base.app, services: base.app.services.map((s) => (s.name === "worker" ? { ...s, volumes: [{ name: "data", path: "/data", kind: "persistent" as const, readOnly: false }] } : s)) };
    const r = checkTarget(new EcsBackend(), { ...base, app });
    expect(r.fidelity.filter((x) => x.field === "volumes.data")).toEqual([expect.objectContaining({ service: "worker", level: "dropped" })]);
    expect(r.diagnostics.filter((d) => d.path === "services.worker.volumes.data")).toEqual([
      expect.objectContaining({ code: "SDX_BACKEND_UNSUPPORTED", severity: "error", target: "ecs", message: expect.stringContaining("its data would be lost") }),
    ]);
    // The health probes keep ECS's own note (the command it runs) at the level the capabilities allow.
    expect(r.fidelity.find((x) => x.service === "web" && x.field === "health.http")).toMatchObject({ level: "approximated", note: expect.stringContaining("wget") });
  });

  it("marks what the app depends on that ECS breaks: discovery by name of internal ports, a public port without a target group", async () => {
    const base = ecs(await exampleContext<EcsTarget>(FIXTURE, { kind: "ecs" }));
    const breaking = (ctx: BackendContext<EcsTarget>) => checkEcs(ctx).fidelity.filter((x) => x.breaks).map((x) => `${x.service}.${x.field} ${x.level} ${x.breaks}`);
    // web calls http://api:9090: nothing registers api under its name on ECS.
    expect(breaking({ ...base, target: { ...base.target, targetGroups: {} } })).toEqual(["web.ports.public approximated public-port", "api.ports dropped discovery"]);
    expect(checkEcs(base).fidelity.find((x) => x.service === "api" && x.field === "ports")?.note).toBe(
      "not reachable by name: sdx registers no service discovery on ECS (no Service Connect or Cloud Map), so api:9090 does not resolve from other services");
    // A named target group gives the public port its stable address; an app of one service has nobody to call it by name.
    expect(breaking({ ...base, target: { ...base.target, targetGroups: { web: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/1" } } })).not.toContain("web.ports.public approximated public-port");
    const alone = { ...base, app: { ...base.app, services: base.app.services.filter((s) => s.name === "api") } };
    expect(breaking(alone)).toEqual([]);
  });
});
