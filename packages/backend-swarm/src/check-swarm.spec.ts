import { describe, expect, it } from "vitest";
import { checkTarget, type App } from "@sdx/sdk";
import { exampleContext } from "@sdx/sdk/testing";
import { checkSwarm } from "./check-swarm.js";
import { SwarmBackend } from "./swarm-backend.js";
import type { SwarmTarget } from "./swarm-target.js";

describe("checkSwarm", () => {
  it("reports shop's approximations and says what the image must contain", async () => {
    const r = checkSwarm(await exampleContext<SwarmTarget>("shop", { kind: "swarm" }));
    expect(r.diagnostics).toEqual([]);
    const f = (service: string, field: string) => r.fidelity.find((x) => x.service === service && x.field === field);
    expect(f("web", "health.http")).toMatchObject({ level: "approximated", note: expect.stringContaining("`nc`") });
    expect(f("api", "health.tcp")).toMatchObject({ level: "approximated" });
    // Derived by the sdk from capabilities.autoscale: false; Swarm's own check no longer repeats it.
    expect(f("web", "scale")).toBeUndefined();
    expect(f("worker", "placement.minOnDemand")).toMatchObject({ level: "approximated" });
    expect(f("api", "secrets.db-password.asEnv")).toMatchObject({ level: "approximated" });
    expect(f("worker", "health.exec")).toBeUndefined();
  });

  it("merged with what the sdk derives from its capabilities: autoscale runs the minimum, probes keep Swarm's own note", async () => {
    const r = checkTarget(new SwarmBackend(), await exampleContext<SwarmTarget>("shop", { kind: "swarm" }));
    expect(r.diagnostics).toEqual([]);
    const f = (service: string, field: string) => r.fidelity.filter((x) => x.service === service && x.field === field);
    expect(f("web", "scale")).toEqual([expect.objectContaining({ level: "approximated", note: expect.stringContaining("fixed 2 replicas") })]);
    expect(f("web", "health.http")).toEqual([expect.objectContaining({ level: "approximated", note: expect.stringContaining("`nc`") })]);
    expect(f("worker", "placement.spot")).toEqual([expect.objectContaining({ level: "approximated" })]);
  });

  it("has nothing to report about requests and placement the app left out: Swarm enforces none of them", async () => {
    const ctx = await exampleContext<SwarmTarget>("hello", { kind: "swarm" });
    const web = ctx.app.services[0]!;
    const app = { ...ctx.app, services: [{ ...web, resources: { cpuMillis: 250, memoryMiB: 256, defaulted: ["cpu", "memory"] }, placement: { ...web.placement, minOnDemand: 1, defaulted: ["spot", "arch"] } }] } as App;
    const r = checkTarget(new SwarmBackend(), { ...ctx, app });
    expect(r.fidelity.filter((x) => x.field.startsWith("resources") || x.field === "placement.spot" || x.field === "placement.arch")).toEqual([]);
    // Without a spot policy no node is excluded, so minOnDemand is not kept either.
    expect(r.fidelity.filter((x) => x.field === "placement.minOnDemand")).toEqual([expect.objectContaining({ level: "dropped", note: expect.stringContaining("no spot policy given") })]);
  });

  it("refuses secret sources Swarm cannot read", async () => {
    const ctx = await exampleContext<SwarmTarget>("shop", { kind: "swarm" });
    const app = { ...ctx.app, services: ctx.app.services.map((s) => (s.name === "worker" ? { ...s, secrets: [{ name: "k", source: { kind: "aws-secrets-manager", arn: "arn:aws:secretsmanager:us-east-1:1:secret:k" }, asEnv: "K" }] } : s)) } as App;
    const r = checkSwarm({ ...ctx, app });
    expect(r.diagnostics).toEqual([expect.objectContaining({ code: "SDX_BACKEND_UNSUPPORTED", severity: "error", path: "services.worker.secrets.k" })]);
  });
});
