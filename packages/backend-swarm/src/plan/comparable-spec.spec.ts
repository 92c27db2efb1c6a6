import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { diffValues, type App } from "@sdx/sdk";
import { exampleContext, withTarget } from "@sdx/sdk/testing";
import { renderSwarm } from "../render/render-swarm.js";
import { comparableService, stripEmpty } from "./comparable-spec.js";
import type { SwarmTarget } from "../swarm-target.js";

// Captured from Engine 20.10 (API 1.41) after sdx created the service: the
// engine's defaults, a network ID and secret IDs are in it.
const live = JSON.parse(readFileSync(new URL("../__fixtures__/live-service-api.json", import.meta.url), "utf8"));
const networks = new Map([["u180znwav2lljbygxyuoq9gno", "smoke_default"]]);

async function smokeApi(): Promise<Record<string, unknown>> {
  const ctx = await exampleContext<SwarmTarget>("shop", { kind: "swarm" });
  const app = {
    ...ctx.app, name: "smoke",
    // What the captured service was rendered from: a memory limit and an on-demand, x86_64 placement, stated.
    services: ctx.app.services.map((s) => ({
      ...s, image: { ref: "sdx-busybox:latest", repository: "sdx-busybox", tag: "latest" },
      resources: { cpuMillis: 50, memoryMiB: 64, limits: { memoryMiB: 64 } }, placement: { spot: "never", minOnDemand: 0, arch: "amd64", constraints: {} },
    })),
  } as App;
  // The revision hashes the model, whose shape has grown since the capture; the label itself is not what is tested here.
  const revision = { ...ctx.revision, services: { ...ctx.revision.services, api: live.Spec.Labels["sdx.dev/revision"] as string } };
  const rs = renderSwarm(withTarget({ ...ctx, app, revision }, { publishMode: "host" }));
  return rs.find((r) => r.name === "smoke_api")!.body as Record<string, unknown>;
}

describe("comparableService", () => {
  it("makes the engine's inspected spec equal to the rendered one", async () => {
    const desired = comparableService(await smokeApi());
    const got = comparableService(live.Spec, networks);
    expect(diffValues(got, desired, "")).toEqual([]);
  });

  it("still shows a real change, a removed field and a network it cannot name", async () => {
    const spec = structuredClone(live.Spec);
    spec.TaskTemplate.ContainerSpec.Env = spec.TaskTemplate.ContainerSpec.Env.map((e: string) => (e === "LOG_LEVEL=info" ? "LOG_LEVEL=debug" : e));
    delete spec.TaskTemplate.ContainerSpec.Healthcheck;
    const changes = diffValues(comparableService(spec, networks), comparableService(await smokeApi()), "");
    expect(changes.map((c) => c.path)).toEqual(expect.arrayContaining(["TaskTemplate.ContainerSpec.Env[0]", "TaskTemplate.ContainerSpec.Healthcheck.Test"]));
    expect(comparableService(live.Spec).TaskTemplate).toMatchObject({ Networks: [{ Target: "u180znwav2lljbygxyuoq9gno" }] });
  });
});

describe("stripEmpty", () => {
  it("drops what the engine treats as unset", () => {
    expect(stripEmpty({ a: 0, b: "", c: [], d: {}, e: false, f: { g: undefined }, h: 1, i: [0, 2] })).toEqual({ h: 1, i: [2] });
  });
});
