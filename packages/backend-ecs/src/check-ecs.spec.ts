import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT, exampleContext, withTarget } from "@sdx/sdk/testing";
import type { BackendContext, EcsTarget } from "@sdx/sdk";
import { checkEcs } from "./check-ecs.js";

const FIXTURE = resolve(REPO_ROOT, "packages/backend-ecs/test/fixtures/shop-ecs/sdx.yaml");
const ecs = (ctx: BackendContext) => ctx as BackendContext<EcsTarget>;

describe("checkEcs", () => {
  it("rejects examples/shop's env and file secrets: ECS needs an ARN", async () => {
    const r = checkEcs(ecs(await exampleContext("shop", { kind: "ecs" })));
    const errs = r.diagnostics.filter((d) => d.severity === "error");
    expect(errs.map((d) => [d.code, d.path])).toEqual([
      ["SDX_ECS_SECRET_SOURCE", "services.api.secrets.db-password"],
      ["SDX_ECS_SECRET_SOURCE", "services.api.secrets.payments-key"],
      ["SDX_ECS_SECRET_SOURCE", "services.worker.secrets.queue-token"],
    ]);
    expect(errs[0]!.message).toBe('secret "db-password" comes from environment variable SHOP_DB_PASSWORD; ECS needs an ARN');
    expect(errs[0]!.hint).toContain("aws secretsmanager create-secret");
  });

  it("passes the ECS variant and reports approximations", async () => {
    const r = checkEcs(ecs(await exampleContext(FIXTURE, { kind: "ecs" })));
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

  it("flags missing subnets, non-ARN secrets and oversized tasks", async () => {
    const base = await exampleContext(FIXTURE, { kind: "ecs" });
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

  it("drops persistent volumes and says so", async () => {
    const base = await exampleContext(FIXTURE, { kind: "ecs" });
    const app = { ...base.app, services: base.app.services.map((s) => (s.name === "worker" ? { ...s, volumes: [{ name: "data", path: "/data", kind: "persistent" as const, readOnly: false }] } : s)) };
    const r = checkEcs(ecs({ ...base, app }));
    expect(r.fidelity.find((x) => x.field === "volumes.data")).toMatchObject({ level: "dropped" });
    expect(r.diagnostics.find((d) => d.code === "SDX_ECS_VOLUME_DROPPED")?.severity).toBe("warning");
  });
});
