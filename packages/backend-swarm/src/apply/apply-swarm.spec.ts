import { describe, expect, it } from "vitest";
import { SdxError, type BackendPlan, type PlannedAction } from "@sdx/sdk";
import { exampleContext } from "@sdx/sdk/testing";
import type { SwarmClient, SwarmService } from "../client/swarm-client.js";
import { renderSwarm } from "../render/render-swarm.js";
import { applySwarm } from "./apply-swarm.js";
import type { SwarmTarget } from "../swarm-target.js";

// Fault injection: a fake engine whose service version moves between plan and apply.
function fakeEngine(service: SwarmService): { client: SwarmClient; updates: number[] } {
  const updates: number[] = [];
  let current = service;
  const client: Partial<SwarmClient> = {
    apiVersion: "1.41",
    listSecrets: async () => [],
    listConfigs: async () => [{ ID: "c1", Spec: { Name: "shop_web_www-index.html-2ec86662" } }],
    inspectService: async () => current,
    updateService: async (_id, version) => {
      updates.push(version);
      if (version !== current.Version.Index) throw new SdxError("SDX_BACKEND_ERROR", "update out of sequence", { fault: "backend", details: { status: 500 } });
      current = { ...current, Version: { Index: version + 1 }, UpdateStatus: { State: "completed", StartedAt: "now" } };
    },
    listTasks: async () => [{ ID: "t", ServiceID: "s", DesiredState: "running", Status: { State: "running" } }, { ID: "u", ServiceID: "s", DesiredState: "running", Status: { State: "running" } }],
  };
  return { client: client as SwarmClient, updates };
}

describe("applySwarm", () => {
  it("retries an update once at the new version index when another writer moved it", async () => {
    const ctx = await exampleContext<SwarmTarget>("shop", { kind: "swarm" });
    const web = renderSwarm(ctx).find((r) => r.name === "shop_web")!;
    const moved: SwarmService = { ID: "s", Version: { Index: 12 }, Spec: { ...(web.body as SwarmService["Spec"]) } };
    const { client, updates } = fakeEngine(moved);
    const action: PlannedAction = { kind: "update", resource: { kind: "service", name: "shop_web", service: "web" }, changes: [], desired: web, live: { ...web, owned: true, version: 11 } };
    const plan: BackendPlan = { target: "swarm", backend: "swarm", mode: "live", actions: [action], summary: { create: 0, update: 1, replace: 0, delete: 0, noop: 0 }, diagnostics: [] };
    // Another writer moves the service from 12 to 13 between sdx's inspect and its update.
    let inspections = 0;
    const racing: SwarmClient = {
      ...client,
      inspectService: async () => ({ ...moved, Version: { Index: inspections++ === 0 ? 12 : 13 } }),
      updateService: async (id, version, spec) => {
        updates.push(version);
        if (version !== 13) throw new SdxError("SDX_BACKEND_ERROR", "update out of sequence", { fault: "backend", details: { status: 500 } });
      },
    };
    const r = await applySwarm(racing, ctx, plan, { wait: false });
    expect(r.status).toBe("succeeded");
    expect(updates).toEqual([12, 13]);
  });

  it("refuses to update a service that lost its ownership labels since the plan", async () => {
    const ctx = await exampleContext<SwarmTarget>("shop", { kind: "swarm" });
    const web = renderSwarm(ctx).find((r) => r.name === "shop_web")!;
    const { client } = fakeEngine({ ID: "s", Version: { Index: 1 }, Spec: { Name: "shop_web", Labels: {} } });
    const action: PlannedAction = { kind: "update", resource: { kind: "service", name: "shop_web", service: "web" }, changes: [], desired: web, live: { ...web, owned: true, version: 1 } };
    const r = await applySwarm(client, ctx, { target: "swarm", backend: "swarm", mode: "live", actions: [action], summary: { create: 0, update: 1, replace: 0, delete: 0, noop: 0 }, diagnostics: [] }, { wait: false });
    expect(r.status).toBe("failed");
    expect(r.failed[0]?.error.code).toBe("SDX_NOT_OWNED");
  });
});
