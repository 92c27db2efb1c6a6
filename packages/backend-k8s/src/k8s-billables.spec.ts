import { validateApp, type App } from "@sdx/sdk";
import { builtinTargetKinds, contextForApp, exampleContext, withTarget } from "@sdx/sdk/testing";
import { describe, expect, it } from "vitest";
import { k8sBillables } from "./k8s-billables.js";
import { K8sBackend } from "./k8s-backend.js";
import type { K8sTarget } from "./k8s-target.js";
import { renderK8s } from "./render/render-k8s.js";

const targetKinds = await builtinTargetKinds();
const image = "ghcr.io/acme/web:1.0@sha256:" + "a".repeat(64);

/** A one-target app of `services`, on a Kubernetes target with `settings`. */
function appOf(services: Record<string, unknown>, settings: Record<string, unknown> = {}): App {
  const r = validateApp({ name: "app", services, targets: { k8s: { kind: "kubernetes", pricing: { provider: "aws", region: "us-east-1", nodeTypes: ["m6i.large"] }, ...settings } } }, { targetKinds });
  if (!r.app) throw new Error(JSON.stringify(r.diagnostics));
  return r.app;
}
const targetOf = (app: App): K8sTarget => app.targets[0] as K8sTarget;

describe("k8sBillables", () => {
  it("prices the shop's one LoadBalancer Service (web) with its two AWS addresses, and says what it leaves out", async () => {
    const { app, target } = await exampleContext<K8sTarget>("shop", { kind: "kubernetes" });
    expect(k8sBillables(app, target)).toEqual({
      items: [
        { kind: "load-balancer", service: "web", flavour: "network", count: 1, capacityUnits: 1, basis: "default" },
        { kind: "public-ipv4", service: "web", count: 2 },
      ],
      unpriced: [
        "node root disks: their size and type are the node group's, which the target does not declare",
        "data sent to the internet by web, api, worker, quotes: set usage.egress (GiB per month) to price it",
        "log shipping and storage: the cluster's logging agent, if any, is not sdx's",
      ],
    });
  });

  it("prices exactly the LoadBalancer Services and claims the render creates", async () => {
    const app = appOf({
      web: { image, ports: [{ port: 80, appProtocol: "http", public: true }, { port: 5353, protocol: "udp", public: true }], usage: { lbCapacityUnits: 3 } },
      db: { image, ports: [5432], volumes: [{ name: "data", path: "/data", kind: "persistent", size: "5Gi" }, { name: "wal", path: "/wal", kind: "persistent" }, { name: "tmp", path: "/tmp" }], replicas: 3 },
      tcp: { image, ports: [{ port: 6379, public: true }] },
    });
    const ctx = await contextForApp<K8sTarget>(app, { kind: "kubernetes" }, process.cwd());
    const rendered = renderK8s(ctx);
    const lbServices = rendered.filter((r) => r.kind === "Service" && (r.body.spec as { type: string }).type === "LoadBalancer").map((r) => r.service);
    const claims = rendered.filter((r) => r.kind === "PersistentVolumeClaim").map((r) => (r.body.spec as { resources: { requests: { storage: string } } }).resources.requests.storage);
    const b = k8sBillables(app, ctx.target);
    expect(b.items.filter((i) => i.kind === "load-balancer").map((i) => i.service)).toEqual(lbServices);
    expect(lbServices).toEqual(["web", "tcp"]);
    // One claim per volume, shared by the Deployment's replicas: 5 GiB as declared, 1 GiB (render's default) otherwise.
    expect(claims).toEqual(["5120Mi", "1024Mi"]);
    expect(b.items.filter((i) => i.kind === "block-storage")).toEqual([
      { kind: "block-storage", service: "db", sizeGiB: 5, count: 1, basis: "declared" },
      { kind: "block-storage", service: "db", sizeGiB: 1, count: 1, basis: "default" },
    ]);
    expect(b.items.find((i) => i.kind === "load-balancer" && i.service === "web")).toMatchObject({ capacityUnits: 3, basis: "usage-hint" });
  });

  it("routes HTTP through the ingress (its load balancer is the cluster's) and still balances TCP ports", () => {
    const app = appOf({
      web: { image, ports: [{ port: 80, appProtocol: "http", public: true }] },
      mqtt: { image, ports: [{ port: 1883, public: true }] },
    }, { expose: "ingress" });
    const b = k8sBillables(app, targetOf(app));
    expect(b.items.filter((i) => i.kind === "load-balancer").map((i) => i.service)).toEqual(["mqtt"]);
    expect(b.unpriced).toContain("the ingress controller's load balancer that serves web: the cluster's, shared, not created by sdx");
  });

  it("gives every node a public address instead of load balancers with expose: node-port", () => {
    const app = appOf({ web: { image, ports: [{ port: 80, public: true }] }, api: { image, ports: [{ port: 9090, public: true }] } }, { expose: "node-port" });
    const b = k8sBillables(app, targetOf(app));
    expect(b.items).toEqual([{ kind: "public-ipv4", count: 1, perNode: true }]);
  });

  it("charges a dedicated cluster's control plane once, and notes a shared one's", async () => {
    const ctx = await exampleContext<K8sTarget>("shop", { kind: "kubernetes" });
    const pricing = { ...ctx.target.pricing!, controlPlane: "eks" as const };
    const dedicated = k8sBillables(ctx.app, withTarget(ctx, { pricing: { ...pricing, dedicatedCluster: true } }).target);
    expect(dedicated.items.filter((i) => i.kind === "control-plane")).toEqual([{ kind: "control-plane", flavour: "eks", count: 1 }]);
    const shared = k8sBillables(ctx.app, withTarget(ctx, { pricing: { ...pricing, dedicatedCluster: false } }).target);
    expect(shared.items.some((i) => i.kind === "control-plane")).toBe(false);
    expect(shared.unpriced).toContain("the EKS control plane: the cluster is shared (set pricing.dedicatedCluster: true to charge its fee to this app)");
  });

  it("counts one address per load balancer on GCP, and prices stated egress", () => {
    const app = appOf({ web: { image, ports: [{ port: 80, public: true }], usage: { egress: "25Gi" } } }, { pricing: { provider: "gcp", region: "europe-west1", nodeTypes: ["e2-standard-2"] } });
    const b = k8sBillables(app, targetOf(app));
    expect(b.items).toEqual([
      { kind: "load-balancer", service: "web", flavour: "network", count: 1, capacityUnits: 1, basis: "default" },
      { kind: "public-ipv4", service: "web", count: 1 },
      { kind: "egress", service: "web", gibPerMonth: 25, basis: "usage-hint" },
    ]);
    expect(b.unpriced.some((n) => n.includes("internet"))).toBe(false);
  });

  it("is what the backend and its light target spec both declare", async () => {
    const { app, target } = await exampleContext<K8sTarget>("shop", { kind: "kubernetes" });
    const backend = new K8sBackend();
    expect(backend.billables(app, target)).toEqual(k8sBillables(app, target));
    expect(backend.target.billables!(app, target)).toEqual(k8sBillables(app, target));
  });
});
