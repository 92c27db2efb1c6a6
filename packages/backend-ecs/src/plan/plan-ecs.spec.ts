import { describe, expect, it } from "vitest";
import { EXAMPLE_SECRET_ENV, exampleContext, renderFor } from "@sdx/sdk/testing";
import type { BackendContext } from "@sdx/sdk";
import type { EcsTarget } from "../ecs-target.js";
import { EcsBackend } from "../ecs-backend.js";
import type { EcsPort, ParameterInfo } from "../client/ecs-port.js";
import { planEcs } from "./plan-ecs.js";

// planEcs over a fake port that speaks the SSM/ECS response shapes: how the
// parameters of env/file secrets are observed (metadata + tags, never values) and diffed.
type LiveParam = ParameterInfo & { tags: Record<string, string> };

function fakePort(params: LiveParam[]): EcsPort & { calls: string[] } {
  const calls: string[] = [];
  const port: Partial<EcsPort> & { calls: string[] } = {
    calls,
    describeClusters: async (names) => { calls.push("DescribeClusters"); return { clusters: names.map((clusterName) => ({ clusterName, status: "ACTIVE" })), missing: [] }; },
    describeLogGroups: async () => { calls.push("DescribeLogGroups"); return []; },
    describeParameters: async (path) => { calls.push(`DescribeParameters ${path}`); return params.filter((p) => p.name.startsWith(`${path}/`)).map(({ tags: _t, ...p }) => p); },
    listParameterTags: async (name) => { calls.push(`ListTagsForResource ${name}`); return params.find((p) => p.name === name)?.tags; },
    listServices: async () => { calls.push("ListServices"); return []; },
    describeServices: async (_c, names) => { calls.push("DescribeServices"); return { services: [], missing: names }; },
    describeScalableTargets: async () => { calls.push("DescribeScalableTargets"); return []; },
  };
  return port as EcsPort & { calls: string[] };
}

const backend = new EcsBackend();
const shop = async (env: Record<string, string> = EXAMPLE_SECRET_ENV) => (await exampleContext<EcsTarget>("shop", { kind: "ecs" }, env)) as BackendContext<EcsTarget>;

/** The live parameters a previous deploy of `ctx` left behind: desired metadata, tags as rendered. */
function deployed(ctx: BackendContext<EcsTarget>): LiveParam[] {
  return renderFor(backend, ctx).filter((r) => r.kind === "ssm-parameter").map((r) => {
    const b = r.body as Record<string, any>;
    return {
      name: r.name, type: b.Type, tier: b.Tier, description: b.Description, keyId: "alias/aws/ssm", version: 1,
      tags: Object.fromEntries((b.Tags as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value])),
    };
  });
}
const paramActions = (p: { actions: readonly { kind: string; resource: { kind: string; name: string } }[] }) =>
  p.actions.filter((a) => a.resource.kind === "ssm-parameter").map((a) => `${a.kind} ${a.resource.name}`);

describe("planEcs with sdx-stored secrets", () => {
  it("creates one SecureString parameter per env/file secret, observed with one DescribeParameters", async () => {
    const ctx = await shop();
    const port = fakePort([]);
    const { plan } = await planEcs(ctx, renderFor(backend, ctx), port);
    expect(paramActions(plan)).toEqual(["create /sdx/shop/shop/api/db-password", "create /sdx/shop/shop/api/payments-key", "create /sdx/shop/shop/worker/queue-token"]);
    // Parameters are created before the task definitions that reference them.
    const order = plan.actions.map((a) => a.resource.kind);
    expect(order.indexOf("ssm-parameter")).toBeLessThan(order.indexOf("task-definition"));
    expect(port.calls.filter((c) => c.startsWith("DescribeParameters") || c.startsWith("ListTags"))).toEqual(["DescribeParameters /sdx/shop/shop"]);
  });

  it("is a no-op when the digests match, reading one tag set per parameter and no value", async () => {
    const ctx = await shop();
    const port = fakePort(deployed(ctx));
    const { plan } = await planEcs(ctx, renderFor(backend, ctx), port);
    expect(paramActions(plan)).toEqual(["no-op /sdx/shop/shop/api/db-password", "no-op /sdx/shop/shop/api/payments-key", "no-op /sdx/shop/shop/worker/queue-token"]);
    expect(port.calls.filter((c) => c.startsWith("ListTags"))).toHaveLength(3);
  });

  it("updates a parameter whose value changed, showing digests only, and ignores revision-only tag changes", async () => {
    const live = deployed(await shop());
    const ctx = await shop({ ...EXAMPLE_SECRET_ENV, SHOP_DB_PASSWORD: "rotated-password" });
    const { plan } = await planEcs(ctx, renderFor(backend, ctx), fakePort(live));
    expect(paramActions(plan)).toEqual(["update /sdx/shop/shop/api/db-password", "no-op /sdx/shop/shop/api/payments-key", "no-op /sdx/shop/shop/worker/queue-token"]);
    const upd = plan.actions.find((a) => a.kind === "update" && a.resource.kind === "ssm-parameter")!;
    expect(upd.changes).toEqual([{ path: "digest", before: live[0]!.tags["sdx:digest"], after: ctx.secrets.get("api/db-password")!.digest }]);
    expect(JSON.stringify(plan)).not.toContain("rotated-password");
    expect(JSON.stringify(plan)).not.toContain(EXAMPLE_SECRET_ENV.SHOP_DB_PASSWORD);
  });

  it("deletes parameters of removed secrets and refuses to touch ones it does not own", async () => {
    const ctx = await shop();
    const live = deployed(ctx);
    const stale: LiveParam = { ...live[0]!, name: "/sdx/shop/shop/api/old-key", tags: { ...live[0]!.tags } };
    const foreign: LiveParam = { ...live[2]!, tags: { owner: "someone-else" } };
    const { plan } = await planEcs(ctx, renderFor(backend, ctx), fakePort([live[0]!, live[1]!, foreign, stale]));
    expect(paramActions(plan)).toEqual(["no-op /sdx/shop/shop/api/db-password", "no-op /sdx/shop/shop/api/payments-key", "delete /sdx/shop/shop/api/old-key"]);
    expect(plan.diagnostics.find((d) => d.code === "SDX_NOT_OWNED")).toMatchObject({ severity: "error", path: "services.worker", message: expect.stringContaining("/sdx/shop/shop/worker/queue-token") });
  });
});
