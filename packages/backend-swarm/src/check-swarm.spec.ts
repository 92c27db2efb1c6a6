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

  it("refuses secret sources Swarm cannot read", async () => {
    const ctx = await exampleContext<SwarmTarget>("shop", { kind: "swarm" });
    const app = { ...ctx.app, services: ctx.app.services.map((s) => (s.name === "worker" ? { ...s, secrets: [{ name: "k", source: { kind: "aws-secrets-manager", arn: "arn:aws:secretsmanager:us-east-1:1:secret:k" }, asEnv: "K" }] } : s)) } as App;
    const r = checkSwarm({ ...ctx, app });
    expect(r.diagnostics).toEqual([expect.objectContaining({ code: "SDX_BACKEND_UNSUPPORTED", severity: "error", path: "services.worker.secrets.k" })]);
  });
});
