import { validateApp, type App } from "@sdx/sdk";
import { builtinTargetKinds, contextForApp, exampleContext } from "@sdx/sdk/testing";
import { describe, expect, it } from "vitest";
import { renderSwarm } from "./render/render-swarm.js";
import { SwarmBackend } from "./swarm-backend.js";
import { swarmBillables } from "./swarm-billables.js";
import type { SwarmTarget } from "./swarm-target.js";

const targetKinds = await builtinTargetKinds();
const image = "ghcr.io/acme/web:1.0@sha256:" + "a".repeat(64);

function appOf(services: Record<string, unknown>): App {
  const r = validateApp({ name: "app", services, targets: { swarm: { kind: "swarm", pricing: { provider: "aws", region: "us-east-1", nodeTypes: ["t3.large"] } } } }, { targetKinds });
  if (!r.app) throw new Error(JSON.stringify(r.diagnostics));
  return r.app;
}
const targetOf = (app: App): SwarmTarget => app.targets[0] as SwarmTarget;

describe("swarmBillables", () => {
  it("prices the shop's nodes' root disks and, since web publishes a port, each node's public address", async () => {
    const { app, target } = await exampleContext<SwarmTarget>("shop", { kind: "swarm" });
    expect(swarmBillables(app, target)).toEqual({
      items: [
        { kind: "block-storage", sizeGiB: 20, count: 1, basis: "default", perNode: true },
        { kind: "public-ipv4", count: 1, perNode: true },
      ],
      unpriced: ["data sent to the internet by web, api, worker, quotes: set usage.egress (GiB per month) to price it"],
    });
  });

  it("gives nodes no public address when nothing is published", () => {
    const app = appOf({ worker: { image, ports: [9090] } });
    expect(swarmBillables(app, targetOf(app)).items.filter((i) => i.kind === "public-ipv4")).toEqual([]);
  });

  it("prices each replica's local volume by the data it holds: the hint, else its size, else 10 GiB", async () => {
    const app = appOf({
      db: { image, replicas: 3, volumes: [{ name: "data", path: "/data", kind: "persistent", size: "2Gi" }, { name: "scratch", path: "/scratch" }] },
      files: { image, replicas: 2, usage: { volumeSize: "50Gi" }, volumes: [{ name: "blobs", path: "/blobs", kind: "persistent", size: "1Gi" }] },
      cache: { image, volumes: [{ name: "c", path: "/c", kind: "persistent" }] },
      idle: { image, replicas: 0, volumes: [{ name: "d", path: "/d", kind: "persistent" }] },
    });
    const ctx = await contextForApp<SwarmTarget>(app, { kind: "swarm" }, process.cwd());
    // The render mounts each persistent volume as a named (node-local) volume; tmpfs for the ephemeral one.
    const named = renderSwarm(ctx).filter((r) => r.kind === "service").flatMap((r) =>
      ((r.body as { TaskTemplate: { ContainerSpec: { Mounts?: { Type: string; Target: string }[] } } }).TaskTemplate.ContainerSpec.Mounts ?? []).filter((m) => m.Type === "volume").map((m) => `${r.service}:${m.Target}`));
    expect(named).toEqual(["db:/data", "files:/blobs", "cache:/c", "idle:/d"]);
    expect(swarmBillables(app, ctx.target).items.filter((i) => i.kind === "block-storage" && !i.perNode)).toEqual([
      { kind: "block-storage", service: "db", sizeGiB: 2, count: 3, basis: "declared" },
      { kind: "block-storage", service: "files", sizeGiB: 50, count: 2, basis: "usage-hint" },
      { kind: "block-storage", service: "cache", sizeGiB: 10, count: 1, basis: "default" },
    ]);
  });

  it("prices stated egress and leaves no egress note when every service states it", () => {
    const app = appOf({ web: { image, usage: { egress: "100Gi" } }, api: { image, usage: { egress: 0 } } });
    const b = swarmBillables(app, targetOf(app));
    expect(b.items.filter((i) => i.kind === "egress")).toEqual([{ kind: "egress", service: "web", gibPerMonth: 100, basis: "usage-hint" }]);
    expect(b.unpriced).toEqual([]);
  });

  it("is what the backend and its light target spec both declare", async () => {
    const { app, target } = await exampleContext<SwarmTarget>("shop", { kind: "swarm" });
    expect(new SwarmBackend().billables(app, target)).toEqual(swarmBillables(app, target));
    expect(new SwarmBackend().target.billables!(app, target)).toEqual(swarmBillables(app, target));
  });
});
