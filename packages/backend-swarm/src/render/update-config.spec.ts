import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { App, BackendContext, Service } from "@sdx/sdk";
import { exampleContext } from "@sdx/sdk/testing";
import { checkSwarm } from "../check-swarm.js";
import type { SwarmTarget } from "../swarm-target.js";
import { renderSwarm } from "./render-swarm.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const img = `registry.test/x@sha256:${"6".repeat(64)}`;
const DATA = "volumes: [{ name: data, path: /data, kind: persistent }]";

async function context(services: string): Promise<BackendContext<SwarmTarget>> {
  const dir = mkdtempSync(join(tmpdir(), "sdx-swarm-update-"));
  dirs.push(dir);
  writeFileSync(join(dir, "sdx.yaml"), `name: store\nservices:\n${services}\ntargets:\n  swarm:\n    kind: swarm\n`);
  return exampleContext<SwarmTarget>(join(dir, "sdx.yaml"), { kind: "swarm" }, {});
}

/** The app wrote `strategy: rolling` itself (validation's `strategyGiven`). */
const givenStrategy = (ctx: BackendContext<SwarmTarget>, name: string): BackendContext<SwarmTarget> => ({
  ...ctx,
  app: { ...ctx.app, services: ctx.app.services.map((s) => (s.name === name ? { ...s, rollout: { ...s.rollout, strategyGiven: true } as Service["rollout"] } : s)) } as App,
});

const configs = (ctx: BackendContext<SwarmTarget>, svc: string): { UpdateConfig: Record<string, unknown>; RollbackConfig: Record<string, unknown> } => {
  const r = renderSwarm(ctx).find((x) => x.kind === "service" && x.name === `store_${svc}`);
  if (!r) throw new Error(`no service store_${svc}`);
  return r.body as { UpdateConfig: Record<string, unknown>; RollbackConfig: Record<string, unknown> };
};

describe("Swarm update order", () => {
  it("updates and rolls back one replica with a persistent volume stop-first, keeping automatic rollback", async () => {
    const ctx = await context(`  db:\n    image: "${img}"\n    replicas: 1\n    ${DATA}\n    health: { exec: { command: [pg_isready] }, interval: 10s }`);
    const { UpdateConfig, RollbackConfig } = configs(ctx, "db");
    expect(UpdateConfig).toEqual({ Parallelism: 0, Delay: 0, FailureAction: "rollback", Monitor: 10e9, MaxFailureRatio: 0, Order: "stop-first" });
    expect(RollbackConfig).toEqual({ Parallelism: 0, Delay: 0, FailureAction: "pause", Monitor: 10e9, MaxFailureRatio: 0, Order: "stop-first" });
  });

  it("does the same for a service autoscaled to at most one, and pauses instead of rolling back when autoRollback is off", async () => {
    const ctx = await context(`  db:\n    image: "${img}"\n    autoscale: { min: 1, max: 1 }\n    ${DATA}\n    rollout: { autoRollback: false }`);
    expect(configs(ctx, "db").UpdateConfig).toMatchObject({ Order: "stop-first", FailureAction: "pause" });
    expect(configs(ctx, "db").RollbackConfig).toMatchObject({ Order: "stop-first" });
  });

  it("keeps start-first for several replicas, for one replica without a persistent volume, and for a surge the app asked for", async () => {
    const ctx = await context([
      `  shared:\n    image: "${img}"\n    replicas: 2\n    ${DATA}`,
      `  web:\n    image: "${img}"\n    replicas: 1\n    volumes: [{ name: cache, path: /cache }]`,
      `  db:\n    image: "${img}"\n    replicas: 1\n    ${DATA}\n    rollout: { strategy: rolling, maxSurge: 1 }`,
    ].join("\n"));
    expect(configs(ctx, "shared").UpdateConfig).toMatchObject({ Parallelism: 1, Order: "start-first", FailureAction: "rollback" });
    expect(configs(ctx, "web").UpdateConfig).toMatchObject({ Parallelism: 1, Order: "start-first" });
    expect(configs(givenStrategy(ctx, "db"), "db").UpdateConfig).toMatchObject({ Parallelism: 1, Order: "start-first" });
    expect(configs(givenStrategy(ctx, "db"), "db").RollbackConfig).toMatchObject({ Order: "start-first" });
  });
});

describe("checkSwarm: the update order", () => {
  it("reports the stop-first default with its reason, and warns when the app asks for a second process on the volume", async () => {
    const ctx = await context([
      `  db:\n    image: "${img}"\n    ${DATA}`,
      `  web:\n    image: "${img}"\n    replicas: 3`,
      `  legacy:\n    image: "${img}"\n    ${DATA}\n    rollout: { strategy: rolling, maxSurge: 1 }`,
    ].join("\n"));
    const { diagnostics, fidelity } = checkSwarm(givenStrategy(ctx, "legacy"));
    expect(fidelity.filter((f) => f.field.startsWith("rollout"))).toEqual([{
      service: "db", field: "rollout", level: "exact",
      note: "one replica with a persistent volume: stop-first (recreate) so two processes never share the volume (UpdateConfig and RollbackConfig Order stop-first); set strategy: rolling with maxSurge: 1 to start the new one first",
    }]);
    expect(diagnostics).toEqual([expect.objectContaining({ code: "SDX_ROLLOUT_SHARED_VOLUME", severity: "warning", target: "swarm", path: "services.legacy.rollout" })]);
  });
});
