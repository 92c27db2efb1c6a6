import { validateApp, type App } from "@sdx/sdk";
import { builtinTargetKinds, exampleContext, withTarget } from "@sdx/sdk/testing";
import { describe, expect, it } from "vitest";
import { EcsBackend } from "./ecs-backend.js";
import { ecsBillables } from "./ecs-billables.js";
import type { EcsTarget } from "./ecs-target.js";

const targetKinds = await builtinTargetKinds();
const image = "ghcr.io/acme/web:1.0@sha256:" + "a".repeat(64);

function appOf(services: Record<string, unknown>, settings: Record<string, unknown> = {}): App {
  const r = validateApp({ name: "app", services, targets: { ecs: { kind: "ecs", region: "us-east-1", cluster: "c", subnets: ["subnet-1"], ...settings } } }, { targetKinds });
  if (!r.app) throw new Error(JSON.stringify(r.diagnostics));
  return r.app;
}
const targetOf = (app: App): EcsTarget => app.targets[0] as EcsTarget;

describe("ecsBillables", () => {
  it("prices the shop's ALB for web, CloudWatch Logs of every service and the NAT gateway its private tasks need", async () => {
    const { app, target } = await exampleContext<EcsTarget>("shop", { kind: "ecs" });
    expect(ecsBillables(app, target)).toEqual({
      items: [
        { kind: "load-balancer", service: "web", flavour: "application", count: 1, capacityUnits: 1, basis: "default" },
        { kind: "public-ipv4", service: "web", count: 2 },
        // 0.5 GiB per replica at the replicas compute is priced at: web autoscales from 2, api 2, worker 3, quotes 1.
        { kind: "log-ingestion", service: "web", gibPerMonth: 1, basis: "default" },
        { kind: "log-ingestion", service: "api", gibPerMonth: 1, basis: "default" },
        { kind: "log-ingestion", service: "worker", gibPerMonth: 1.5, basis: "default" },
        { kind: "log-ingestion", service: "quotes", gibPerMonth: 0.5, basis: "default" },
        { kind: "nat-gateway", count: 1, processedGiBPerMonth: 0, basis: "default" },
      ],
      unpriced: [
        "data the NAT gateway processes for image pulls and log delivery (none when the VPC has endpoints for ECR, S3 and CloudWatch Logs)",
        "data sent to the internet by web, api, worker, quotes: set usage.egress (GiB per month) to price it",
        "storage of the logs kept in the log group: it has no retention, so it grows month by month",
      ],
    });
  });

  it("gives each task a public address instead of a NAT gateway when the target assigns public IPs", async () => {
    const ctx = await exampleContext<EcsTarget>("shop", { kind: "ecs" });
    const b = ecsBillables(ctx.app, withTarget(ctx, { assignPublicIp: true }).target);
    expect(b.items.filter((i) => i.kind === "public-ipv4")).toEqual([
      { kind: "public-ipv4", service: "web", count: 2 },
      { kind: "public-ipv4", service: "web", count: 2 },
      { kind: "public-ipv4", service: "api", count: 2 },
      { kind: "public-ipv4", service: "worker", count: 3 },
      { kind: "public-ipv4", service: "quotes", count: 1 },
    ]);
    expect(b.items.some((i) => i.kind === "nat-gateway")).toBe(false);
    expect(b.unpriced.some((n) => n.includes("NAT"))).toBe(false);
  });

  it("picks an ALB only when every public port speaks HTTP or gRPC, else an NLB", () => {
    const app = appOf({
      http: { image, ports: [{ port: 80, appProtocol: "http", public: true }, { port: 9000 }] },
      grpc: { image, ports: [{ port: 50051, appProtocol: "grpc", public: true }] },
      tcp: { image, ports: [{ port: 6379, public: true }] },
      mixed: { image, ports: [{ port: 80, appProtocol: "http", public: true }, { port: 1883, public: true }] },
      internal: { image, ports: [{ port: 8080, appProtocol: "http" }] },
    });
    const lbs = ecsBillables(app, targetOf(app)).items.filter((i) => i.kind === "load-balancer");
    expect(lbs.map((i) => [i.service, i.kind === "load-balancer" && i.flavour])).toEqual([["http", "application"], ["grpc", "application"], ["tcp", "network"], ["mixed", "network"]]);
  });

  it("takes quantities from usage hints: LCUs, logs, the NAT's processed egress", () => {
    const app = appOf({
      web: { image, replicas: 4, ports: [{ port: 80, appProtocol: "http", public: true }], usage: { lbCapacityUnits: 5, logs: "30Gi", egress: "10Gi" } },
      api: { image, usage: { logs: 0, egress: "5Gi" } },
      jobs: { image },
    });
    const b = ecsBillables(app, targetOf(app));
    expect(b.items).toEqual([
      { kind: "load-balancer", service: "web", flavour: "application", count: 1, capacityUnits: 5, basis: "usage-hint" },
      { kind: "public-ipv4", service: "web", count: 2 },
      { kind: "log-ingestion", service: "web", gibPerMonth: 30, basis: "usage-hint" },
      { kind: "log-ingestion", service: "jobs", gibPerMonth: 0.5, basis: "default" },
      { kind: "nat-gateway", count: 1, processedGiBPerMonth: 15, basis: "usage-hint" },
      { kind: "egress", service: "web", gibPerMonth: 10, basis: "usage-hint" },
      { kind: "egress", service: "api", gibPerMonth: 5, basis: "usage-hint" },
    ]);
    expect(b.unpriced).toContain("data sent to the internet by jobs: set usage.egress (GiB per month) to price it");
  });

  it("prices a persistent volume as EFS storage and notes task storage beyond the 20 GiB Fargate includes", () => {
    const app = appOf({
      db: { image, volumes: [{ name: "data", path: "/data", kind: "persistent", size: "4Gi" }, { name: "scratch", path: "/scratch", size: "30Gi" }] },
      blobs: { image, usage: { volumeSize: "200Gi" }, volumes: [{ name: "b", path: "/b", kind: "persistent" }] },
    });
    const b = ecsBillables(app, targetOf(app));
    expect(b.items.filter((i) => i.kind === "file-storage")).toEqual([
      { kind: "file-storage", service: "db", sizeGiB: 4, basis: "declared" },
      { kind: "file-storage", service: "blobs", sizeGiB: 200, basis: "usage-hint" },
    ]);
    expect(b.unpriced).toContain("task storage beyond the 20 GiB Fargate includes, for db");
  });

  it("is what the backend and its light target spec both declare", async () => {
    const { app, target } = await exampleContext<EcsTarget>("shop", { kind: "ecs" });
    expect(new EcsBackend().billables(app, target)).toEqual(ecsBillables(app, target));
    expect(new EcsBackend().target.billables!(app, target)).toEqual(ecsBillables(app, target));
  });
});
