import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isSdxError, loadApp, type Target, type App, type Billables, type CostModel, type PriceSource } from "@sdx/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeApp, svc } from "./__fixtures__/make-app.js";
import { KUBERNETES_RESERVE, withBackendCostModels } from "./__fixtures__/backend-cost-models.js";
import { createCostEstimator } from "./create-cost-estimator.js";
import type { PriceCacheFile } from "./sources/price-cache.js";
import { builtinTargetKinds } from "@sdx/sdk/testing";

// The built-in backends' target kinds: validation knows no kind by itself.
const targetKinds = await builtinTargetKinds();

let shop: App;
beforeAll(async () => {
  const loaded = await loadApp(join(import.meta.dirname, "../../../examples/shop/sdx.yaml"), { targetKinds });
  if (!loaded.app) throw new Error(JSON.stringify(loaded.diagnostics));
  shop = loaded.app;
});
const NOW = new Date("2026-11-21T12:00:00Z");
const estimator = (o: Parameters<typeof createCostEstimator>[0] = {}) => withBackendCostModels(createCostEstimator({ cacheDir: false, now: () => NOW, ...o }));

describe("createCostEstimator on examples/shop", () => {
  it("prices every target and chooses the cheapest", async () => {
    const r = await estimator().estimate(shop, {});
    // ecs (Fargate us-east-1; no pricing block, priced from the target's region):
    //   web 2 × (0.5 × 0.04048 + 1 × 0.004445)                      = 0.04937  (500m/512Mi billed 0.5 vCPU / 1 GB)
    //   api 2 × (1 × 0.04048 + 2 × 0.004445)                        = 0.09874  (1 vCPU/1Gi billed 1 vCPU / 2 GB)
    //   worker 1 × 0.024685 + 2 × (0.5 × 0.02024 + 1 × 0.0022225)   = 0.04937  (spot prefer, minOnDemand 1)
    //   quotes 1 × (0.25 × 0.04048 + 0.5 × 0.004445)                = 0.0123425 (100m/128Mi billed at the smallest size, 0.25 vCPU / 0.5 GB)
    // k8s: 1 × m6i.xlarge 0.192 (6 on-demand replicas, 3.6 vCPU ≤ 3820m) + 1 × m6i.large spot 0.0431 = 0.2351
    // swarm: 3 × t3.large 0.0832 = 0.2496 (5.1 vCPU of requests, 1900m free per node)
    expect(r.estimates.map((e) => [e.target, e.capacity, Number(e.hourlyUsd.toFixed(6)), e.chosen])).toEqual([
      ["ecs", "fargate+spot", 0.209822, true], // 0.2098225 to 6 places
      ["k8s", "1× m6i.xlarge (on-demand) + 1× m6i.large (spot)", 0.2351, false],
      ["swarm", "3× t3.large (on-demand)", 0.2496, false],
    ]);
    expect(r.chosen).toBe("ecs");
    expect(r.reason).toBe("ecs is the cheapest of 3 targets that meet the policy: $153.17/month, next k8s at $171.62/month");
    expect(r.rejected).toEqual([]);
    const ecs = r.estimates[0]!;
    expect(ecs.monthlyUsd).toBeCloseTo(0.2098225 * 730, 9);
    expect(ecs.onDemandHourlyUsd).toBeCloseTo(0.04937 + 0.09874 + 3 * 0.024685 + 0.0123425, 12);
    expect(r.estimates[1]!.allocatedHourlyUsd).toBeLessThan(r.estimates[1]!.hourlyUsd);
  });

  it("warns when embedded prices are older than maxCatalogAgeDays", async () => {
    const r = await estimator().estimate(shop, {});
    expect(r.diagnostics).toEqual([
      expect.objectContaining({
        code: "SDX_PRICES_STALE",
        severity: "warning",
        message: "prices for ecs, k8s, swarm come from the embedded catalog, as old as 2026-01-01 (324 days; the limit is 90)",
        hint: expect.stringMatching(/sdx prices refresh/),
      }),
    ]);
    const fresh = await estimator({ now: () => new Date("2026-04-03T00:00:00Z"), maxCatalogAgeDays: 120 }).estimate(shop, {});
    expect(fresh.diagnostics).toEqual([]);
  });

  it("applies the policy: budget", async () => {
    const r = await estimator().estimate(shop, { policy: { maxMonthlyUsd: 160 } });
    expect(r.chosen).toBe("ecs");
    expect(r.rejected).toEqual([
      { target: "k8s", reason: "$171.62/month is over the $160.00/month budget" },
      { target: "swarm", reason: "$182.21/month is over the $160.00/month budget" },
    ]);
    const none = await estimator().estimate(shop, { policy: { maxMonthlyUsd: 100 } });
    expect(none.chosen).toBeUndefined();
    expect(none.estimates).toHaveLength(3);
    expect(none.rejected).toHaveLength(3);
  });

  it("applies the policy: no spot prices everything on-demand", async () => {
    const r = await estimator().estimate(shop, { policy: { allowSpot: false } });
    const ecs = r.estimates.find((e) => e.target === "ecs")!;
    expect(ecs.capacity).toBe("fargate");
    expect(ecs.hourlyUsd).toBeCloseTo(0.04937 + 0.09874 + 3 * 0.024685 + 0.0123425, 12);
  });

  it("applies the policy: regions and arm64", async () => {
    const r = await estimator().estimate(shop, { policy: { regions: ["eu-west-1"] } });
    expect(r.chosen).toBeUndefined();
    expect(r.rejected.map((x) => x.reason)).toEqual(Array(3).fill("region us-east-1 is not among the allowed regions (eu-west-1)"));
    const arm = await estimator().estimate(shop, { policy: { arch: "arm64" } });
    expect(arm.rejected[0]!.reason).toBe("the policy wants arm64 but web, api, worker, quotes are not arm64-capable (placement.arch)");
  });

  it("prices only the targets asked for", async () => {
    const r = await estimator().estimate(shop, { targets: shop.targets.filter((t) => t.name === "swarm") });
    expect(r.estimates.map((e) => e.target)).toEqual(["swarm"]);
    expect(r.chosen).toBe("swarm");
  });
});

describe("createCostEstimator: targets it cannot price", () => {
  const app = (targets: Record<string, unknown>, services: Record<string, unknown> = { api: svc(1, "2Gi") }) => makeApp(services, targets);

  it("rejects a target without pricing info and says what to add", async () => {
    const r = await estimator().estimate(app({ local: { kind: "swarm" } }), {});
    expect(r.estimates).toEqual([]);
    expect(r.rejected).toEqual([
      { target: "local", reason: "target local (swarm) has no pricing profile: add pricing: { provider: aws, region: us-east-1, nodeTypes: [m6i.large] } (its cloud, region and node types) to price it" },
    ]);
    const noTypes = await estimator().estimate(app({ g: { kind: "kubernetes", pricing: { provider: "gcp", region: "us-central1" } } }), {});
    expect(noTypes.rejected[0]!.reason).toBe("target g has no pricing.nodeTypes: list the node instance types it runs, e.g. nodeTypes: [e2-standard-2]");
  });

  it("unknown region → did-you-mean", async () => {
    const r = await estimator().estimate(app({ e: { kind: "ecs", region: "us-east1", cluster: "c" } }), {});
    expect(r.rejected[0]!.reason).toMatch(/^unknown aws region "us-east1"; did you mean us-east-1/);
    expect(r.diagnostics[0]).toMatchObject({ code: "SDX_PRICING", severity: "warning", path: "targets.e.region", target: "e", suggestions: expect.arrayContaining(["us-east-1"]) });
    const k = await estimator().estimate(app({ k: { kind: "kubernetes", pricing: { provider: "azure", region: "eastus3", nodeTypes: ["Standard_D2s_v5"] } } }), {});
    expect(k.diagnostics[0]).toMatchObject({ path: "targets.k.pricing.region", suggestions: expect.arrayContaining(["eastus2"]) });
  });

  it("unknown instance type → did-you-mean", async () => {
    const r = await estimator().estimate(app({ k: { kind: "kubernetes", pricing: { provider: "aws", region: "us-east-1", nodeTypes: ["m6i.xlarge", "m6i.larg"] } } }), {});
    expect(r.rejected).toEqual([{ target: "k", reason: 'unknown aws instance type "m6i.larg"; did you mean m6i.large, c6i.large, m6a.large?' }]);
    expect(r.diagnostics[0]).toMatchObject({ path: "targets.k.pricing.nodeTypes[1]", suggestions: ["m6i.large", "c6i.large", "m6a.large"] });
  });

  it("a type not offered in the region is named as such", async () => {
    // m7a exists in the catalog, but not in eu-west-3.
    const r = await estimator().estimate(app({ k: { kind: "kubernetes", pricing: { provider: "aws", region: "eu-west-3", nodeTypes: ["m7a.large"] } } }), {});
    expect(r.rejected[0]!.reason).toBe("aws m7a.large has no price in eu-west-3 (not offered there, or not in the embedded catalog)");
  });

  it("a known region without Fargate rates says how to get them", async () => {
    const r = await estimator().estimate(app({ e: { kind: "ecs", region: "eu-central-1", cluster: "c" } }), {});
    expect(r.rejected[0]!.reason).toBe(
      "no Fargate amd64 prices for eu-central-1 (the embedded catalog has ap-southeast-1, ap-southeast-2, eu-west-1, sa-east-1, us-east-1, us-west-2): run `sdx prices refresh --region eu-central-1` to fetch them",
    );
  });

  it("a replica bigger than every node type is rejected with the smallest type that fits", async () => {
    const r = await estimator().estimate(app({ k: { kind: "kubernetes", pricing: { provider: "aws", region: "us-east-1", nodeTypes: ["m6i.large"] } } }, { big: svc(6, "20Gi") }), {});
    expect(r.rejected[0]!.reason).toMatch(/does not fit any amd64 node type of target k .* Add t3a\.2xlarge/);
  });

  it("a spot-only service is rejected when the policy forbids spot", async () => {
    const r = await estimator().estimate(app({ e: { kind: "ecs", region: "us-east-1", cluster: "c" } }, { w: svc(1, "2Gi", { placement: { spot: "only" } }) }), { policy: { allowSpot: false } });
    expect(r.chosen).toBeUndefined();
    expect(r.rejected[0]!.reason).toBe("1 replica(s) must run on spot (placement.spot: only) but the policy forbids spot");
  });
});

describe("createCostEstimator: dispatch on the declared cost model, never on the kind", () => {
  const bare = () => createCostEstimator({ cacheDir: false, now: () => NOW });
  // Targets as plain data, of any kind: the estimator must not care what the kind is called.
  const appOn = (targets: readonly Omit<Target, "overrides">[], services: Record<string, unknown> = { api: svc(1, "2Gi", { replicas: 2 }) }): App => ({
    ...makeApp(services),
    targets: targets.map((t) => ({ ...t, overrides: [], settings: {} }) as Target),
  });
  const nodes = { provider: "aws", region: "us-east-1", nodeTypes: ["m6i.large"], spot: false, dedicatedCluster: false, controlPlane: "none" } as const;

  it("a target whose backend declares no model is unpriced with the reason, not packed as Kubernetes nodes", async () => {
    const app = appOn([{ name: "box", kind: "acme", pricing: nodes }, { name: "k", kind: "kubernetes", pricing: nodes }]);
    const r = await bare().estimate(app, { costModels: new Map() });
    expect(r.estimates).toEqual([]);
    expect(r.rejected).toEqual([
      { target: "box", reason: "target box (acme) cannot be priced: no cost model was given for it (the sdk passes each backend's costModel() to estimate())" },
      { target: "k", reason: "target k (kubernetes) cannot be priced: no cost model was given for it (the sdk passes each backend's costModel() to estimate())" },
    ]);
    const declared = await bare().estimate(app, { costModels: new Map([["box", { kind: "unpriced", reason: "acme bills by contract" } as const]]) });
    expect(declared.rejected[0]).toEqual({ target: "box", reason: "target box (acme) cannot be priced: acme bills by contract" });
  });

  it("packs nodes with the declared reserve: the same kind priced with two reserves gives two answers", async () => {
    // 2 replicas of 1 vCPU / 2 GiB on m6i.large (2 vCPU, 8 GiB): with Kubernetes' reserve (1830m allocatable)
    // one replica fits per node → 2 nodes; with Swarm's flat 100m (1900m) likewise; with no reserve, 2 fit on one.
    const app = appOn([{ name: "a", kind: "acme", pricing: nodes }, { name: "b", kind: "acme", pricing: nodes }]);
    const r = await bare().estimate(app, {
      costModels: new Map<string, CostModel>([
        ["a", { kind: "nodes", reserve: KUBERNETES_RESERVE }],
        ["b", { kind: "nodes", reserve: { kind: "fixed", cpuMillis: 0, memoryMiB: 0 } }],
      ]),
    });
    const by = Object.fromEntries(r.estimates.map((e) => [e.target, e]));
    expect(by.a!.capacity).toBe("2× m6i.large (on-demand)");
    expect(by.b!.capacity).toBe("1× m6i.large (on-demand)");
    expect(by.b!.assumptions).toContain("per-node system overhead: 0m CPU / 0 MiB (OS and container engine)");
  });

  it("prices a flat model as one line at the declared price, with the backend as provenance", async () => {
    const app = appOn([{ name: "box", kind: "acme" }, { name: "k", kind: "kubernetes", pricing: nodes }]);
    const r = await bare().estimate(app, {
      costModels: new Map<string, CostModel>([
        ["box", { kind: "flat", monthlyUsd: 40, description: "a rented 4 vCPU box", region: "eu-west-1" }],
        ["k", { kind: "nodes", reserve: KUBERNETES_RESERVE }],
      ]),
    });
    const box = r.estimates.find((e) => e.target === "box")!;
    expect(box).toMatchObject({ backend: "acme", region: "eu-west-1", capacity: "flat rate", monthlyUsd: 40, priceAsOf: "2026-11-21" });
    expect(box.hourlyUsd).toBeCloseTo(40 / 730, 12);
    expect(box.lines).toEqual([{ item: "a rented 4 vCPU box", quantity: 1, unit: "target", unitPriceUsd: 40 / 730, hourlyUsd: 40 / 730, provenance: { source: "declared by the acme backend", asOf: "2026-11-21" } }]);
    expect(r.chosen).toBe("box"); // $40 against 2 × m6i.large at $70.08 each
    expect((await bare().estimate(app, { costModels: new Map([["box", { kind: "flat", monthlyUsd: 40, description: "box" } as const]]), policy: { regions: ["us-east-1"] } })).rejected)
      .toEqual([{ target: "box", reason: "region - is not among the allowed regions (us-east-1)" }, { target: "k", reason: expect.stringMatching(/no cost model/) }]);
  });

  it("prices a tasks model at the size its own function bills, on the declared region's rates", async () => {
    // A made-up task platform on Fargate rates that bills whole vCPUs and 4 GB steps:
    // 2 × (1 vCPU × $0.04048 + 4 GB × $0.004445) = $0.11652/h in us-east-1 (on-demand: spot: false).
    const wholeCores = (cpuMillis: number, memoryMiB: number) => ({ cpuMillis: Math.ceil(cpuMillis / 1000) * 1000, memoryMiB: Math.ceil(memoryMiB / 4096) * 4096 });
    const app = appOn([{ name: "t", kind: "acme" }], { api: svc("600m", "3Gi", { replicas: 2 }) });
    const r = await bare().estimate(app, { costModels: new Map([["t", { kind: "tasks", rates: "fargate", provider: "aws", region: "us-east-1", spot: false, size: wholeCores } as const]]) });
    const t = r.estimates[0]!;
    expect(t).toMatchObject({ backend: "acme", region: "us-east-1", capacity: "fargate" });
    expect(t.hourlyUsd).toBeCloseTo(2 * (0.04048 + 4 * 0.004445), 12);
    expect(t.lines.map((l) => [l.item, l.quantity])).toEqual([["Fargate vCPU (on-demand)", 2], ["Fargate memory (on-demand)", 8]]);
    expect(t.assumptions).toContain("api: requests 0.6 vCPU / 3072 MiB, billed as the Fargate size 1 vCPU / 4 GB");
    const other = await bare().estimate(app, { costModels: new Map([["t", { kind: "tasks", rates: "cloud-run", provider: "gcp", region: "us-central1", spot: false, size: wholeCores } as const]]) });
    expect(other.rejected).toEqual([{ target: "t", reason: 'target t (acme) is billed per task at gcp "cloud-run" rates, which no price source or catalog has (they have aws "fargate")' }]);
  });
});

describe("createCostEstimator: control planes and other clouds", () => {
  it("charges a dedicated cluster's control plane: EKS, GKE, AKS", async () => {
    const a = makeApp({ api: svc(1, "2Gi") }, {
      eks: { kind: "kubernetes", pricing: { provider: "aws", region: "us-east-1", nodeTypes: ["m6i.large"], dedicatedCluster: true, controlPlane: "eks" } },
      gke: { kind: "kubernetes", pricing: { provider: "gcp", region: "us-central1", nodeTypes: ["e2-standard-2"], dedicatedCluster: true, controlPlane: "gke" } },
      aks: { kind: "kubernetes", pricing: { provider: "azure", region: "eastus", nodeTypes: ["Standard_D2s_v5"], dedicatedCluster: true, controlPlane: "aks" } },
      shared: { kind: "kubernetes", pricing: { provider: "aws", region: "us-east-1", nodeTypes: ["m6i.large"], controlPlane: "eks" } },
    });
    const r = await estimator().estimate(a, {});
    const by = Object.fromEntries(r.estimates.map((e) => [e.target, e]));
    expect(by.eks!.hourlyUsd).toBeCloseTo(0.096 + 0.1, 12);
    expect(by.eks!.lines.at(-1)).toMatchObject({ item: "EKS control plane", unitPriceUsd: 0.1 });
    expect(by.gke!.lines.map((l) => l.item)).toEqual(["e2-standard-2 node (on-demand)", "GKE control plane"]);
    expect(by.aks!.lines.map((l) => l.item)).toEqual(["Standard_D2s_v5 node (on-demand)", "AKS control plane"]);
    expect(by.aks!.provider).toBe("azure");
    expect(by.shared!.hourlyUsd).toBeCloseTo(0.096, 12);
  });
});

describe("createCostEstimator: price sources", () => {
  const k8sApp = () => makeApp({ api: svc(1, "2Gi", { replicas: 3 }) }, { k: { kind: "kubernetes", pricing: { provider: "aws", region: "us-east-1", nodeTypes: ["m6i.xlarge"] } } });
  const negotiated: PriceSource = {
    id: "acme-rates",
    priority: 10,
    async lookup(q) {
      return q.kind === "vm" && q.instanceType === "m6i.xlarge" ? { unit: "instance-hour", onDemandUsd: 0.15, provenance: { source: "acme-rates", asOf: "2026-11-01", sku: "m6i.xlarge" } } : undefined;
    },
  };

  it("asks registered sources before the catalog, and keeps the catalog's shape and spot", async () => {
    const r = await estimator({ sources: [negotiated] }).estimate(k8sApp(), {});
    expect(r.estimates[0]!.hourlyUsd).toBe(0.15);
    expect(r.estimates[0]!.lines[0]!.provenance).toEqual({ source: "acme-rates", asOf: "2026-11-01", sku: "m6i.xlarge" });
    expect(r.diagnostics).toEqual([]); // no embedded prices used → nothing stale
  });

  it("asks higher priority first", async () => {
    const low: PriceSource = { id: "low", priority: 1, lookup: async (q) => (q.kind === "vm" ? { unit: "instance-hour", onDemandUsd: 9, provenance: { source: "low", asOf: "2026-11-01" } } : undefined) };
    const r = await estimator({ sources: [low, negotiated] }).estimate(k8sApp(), {});
    expect(r.estimates[0]!.lines[0]!.provenance.source).toBe("acme-rates");
  });

  it("reports a failing source once and falls back", async () => {
    const broken: PriceSource = { id: "broken", lookup: async () => Promise.reject(new Error("boom")) };
    const r = await estimator({ sources: [broken] }).estimate(k8sApp(), {});
    expect(r.estimates[0]!.hourlyUsd).toBe(0.192);
    expect(r.diagnostics.filter((d) => d.code === "SDX_PRICE_SOURCE_FAILED")).toEqual([
      expect.objectContaining({ severity: "warning", message: "price source broken failed (boom); its prices were skipped" }),
    ]);
  });

  it("offline uses only the embedded catalog", async () => {
    const r = await estimator({ sources: [negotiated] }).estimate(k8sApp(), { offline: true });
    expect(r.estimates[0]!.hourlyUsd).toBe(0.192);
  });

  it("refuses things that are not price sources, and duplicate ids", () => {
    expect(() => createCostEstimator({ sources: [{} as PriceSource] })).toThrow(/not a PriceSource/);
    try {
      createCostEstimator({ sources: [negotiated, negotiated] });
      expect.unreachable();
    } catch (e) {
      expect(isSdxError(e) && [e.code, e.fault, e.message]).toEqual(["SDX_PRICING", "user", 'two price sources share the id "acme-rates"']);
    }
  });
});

describe("createCostEstimator: refreshed cache", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "sdx-prices-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (expiresAt: string): void => {
    const file: PriceCacheFile = {
      format: "sdx-price-cache", version: 1, region: "us-east-1", fetchedAt: "2026-11-20T00:00:00.000Z", expiresAt,
      ec2: [{ instanceType: "m6i.xlarge", vcpus: 4, memoryGiB: 16, arch: "amd64", onDemandUsd: 0.2, sku: "SKU1", spotMinUsd: 0.07, spotMedianUsd: 0.08, spotAzCount: 6 }],
      fargate: [
        { arch: "amd64", dimension: "vcpu", onDemandUsd: 0.05, usagetype: "USE1-Fargate-vCPU-Hours:perCPU", sku: "F1" },
        { arch: "amd64", dimension: "memory", onDemandUsd: 0.005, usagetype: "USE1-Fargate-GB-Hours", sku: "F2" },
      ],
    };
    writeFileSync(join(dir, "prices-us-east-1.json"), JSON.stringify(file));
  };
  const a = () => makeApp({ api: svc(1, "2Gi", { replicas: 3, placement: { spot: "prefer" } }) }, {
    e: { kind: "ecs", region: "us-east-1", cluster: "c" },
    k: { kind: "kubernetes", pricing: { provider: "aws", region: "us-east-1", nodeTypes: ["m6i.xlarge"] } },
  });

  it("prefers a fresh cache; Fargate Spot still comes from the catalog", async () => {
    write("2026-11-22T00:00:00.000Z");
    const r = await withBackendCostModels(createCostEstimator({ cacheDir: dir, now: () => NOW })).estimate(a(), { policy: { allowSpot: true } });
    const k = r.estimates.find((e) => e.target === "k")!;
    expect(k.lines[0]).toMatchObject({ unitPriceUsd: 0.2, provenance: { source: "aws-pricing-api", asOf: "2026-11-20", sku: "SKU1" } });
    const e = r.estimates.find((x) => x.target === "e")!;
    // 3 replicas all on Fargate Spot: vCPU from the catalog's derived spot rate (0.02024).
    expect(e.lines.map((l) => [l.item, l.unitPriceUsd, l.provenance.source])).toEqual([
      ["Fargate vCPU (spot)", 0.02024, "embedded-catalog/fargate-spot-derived"],
      ["Fargate memory (spot)", 0.0022225, "embedded-catalog/fargate-spot-derived"],
    ]);
    expect(e.onDemandHourlyUsd).toBeCloseTo(3 * (0.05 + 2 * 0.005), 12);
  });

  it("ignores an expired cache and says so", async () => {
    write("2026-11-21T00:00:00.000Z");
    const r = await withBackendCostModels(createCostEstimator({ cacheDir: dir, now: () => NOW })).estimate(a(), {});
    expect(r.estimates.find((e) => e.target === "k")!.lines[0]!.unitPriceUsd).toBe(0.192);
    expect(r.diagnostics).toContainEqual(expect.objectContaining({ code: "SDX_PRICES_CACHE_UNUSABLE", severity: "info", message: expect.stringMatching(/expired at 2026-11-21T00:00:00.000Z/) }));
  });

  it("offline ignores the cache", async () => {
    write("2026-11-22T00:00:00.000Z");
    const r = await withBackendCostModels(createCostEstimator({ cacheDir: dir, now: () => NOW })).estimate(a(), { offline: true });
    expect(r.estimates.find((e) => e.target === "k")!.lines[0]!.unitPriceUsd).toBe(0.192);
  });
});

describe("createCostEstimator: billable items beside compute", () => {
  const web = { web: svc("250m", "512Mi", { replicas: 2, ports: [{ port: 8080, appProtocol: "http", public: true }] }) };
  const targets = {
    ecs: { kind: "ecs", region: "us-east-1", cluster: "c" },
    swarm: { kind: "swarm", pricing: { provider: "aws", region: "us-east-1", nodeTypes: ["t3.medium"] } },
  };
  // What the ECS and Swarm backends declare for a service with a public HTTP port (hand-built here).
  const ecsItems: Billables = {
    items: [
      { kind: "load-balancer", service: "web", flavour: "application", count: 1, capacityUnits: 1, basis: "default" },
      { kind: "public-ipv4", service: "web", count: 2 },
      { kind: "log-ingestion", service: "web", gibPerMonth: 1, basis: "default" },
    ],
    unpriced: ["storage of the logs kept in the log group"],
  };
  const swarmItems: Billables = {
    items: [
      { kind: "block-storage", sizeGiB: 20, count: 1, basis: "default", perNode: true },
      { kind: "public-ipv4", count: 1, perNode: true },
    ],
    unpriced: [],
  };

  it("the cheapest choice flips once the load balancer is priced: ECS with a public HTTP port vs Swarm", async () => {
    const app = makeApp(web, targets);
    // Compute only: ecs 2 × (0.25 × 0.04048 + 0.5 × 0.004445) = 0.024685/h; swarm 1 × t3.medium 0.0416/h.
    const before = await estimator().estimate(app, {});
    expect(before.chosen).toBe("ecs");
    expect(before.estimates.map((e) => [e.target, Number(e.hourlyUsd.toFixed(6))])).toEqual([["ecs", 0.024685], ["swarm", 0.0416]]);

    const after = await estimator().estimate(app, { billables: new Map([["ecs", ecsItems], ["swarm", swarmItems]]) });
    // ecs: 0.024685 + ALB 0.0225 + 1 LCU × 0.008 + 2 IPv4 × 0.005 = 0.065185/h, + 1 GiB logs × $0.50 a month
    //      = 0.065185 × 730 + 0.50 = $48.08505/month
    // swarm: 0.0416 + 1 node × IPv4 0.005 = 0.0466/h, + 1 node × 20 GiB gp3 × $0.08 a month
    //      = 0.0466 × 730 + 1.60 = $35.618/month
    expect(after.chosen).toBe("swarm");
    const [swarm, ecs] = after.estimates;
    expect(swarm!.target).toBe("swarm");
    expect(swarm!.monthlyUsd).toBeCloseTo(35.618, 9);
    expect(ecs!.monthlyUsd).toBeCloseTo(48.08505, 9);
    expect(ecs!.onDemandHourlyUsd).toBeCloseTo(0.065185 + 0.5 / 730, 12);
    expect(after.reason).toBe("swarm is the cheapest of 2 targets that meet the policy: $35.62/month, next ecs at $48.09/month");
    expect(ecs!.lines.filter((l) => l.service === "web").map((l) => l.item)).toEqual([
      "Fargate vCPU (on-demand)",
      "Fargate memory (on-demand)",
      "Application Load Balancer (sdx default: 1 × application load balancer, 1 capacity unit each)",
      "ALB capacity units (LCU) (sdx default: 1 × application load balancer, 1 capacity unit each)",
      "public IPv4 address (2)",
      "CloudWatch Logs ingestion (sdx default: 1 GiB per month)",
    ]);
    // Each target lists what it leaves out; the generic list is gone.
    expect(ecs!.notPriced).toEqual(["storage of the logs kept in the log group"]);
    expect(swarm!.notPriced).toEqual(["CPU credits above the baseline of burstable instance types"]);
  });

  it("a public IPv4 address per node on a 3-node Swarm (examples/shop)", async () => {
    const r = await estimator().estimate(shop, { targets: shop.targets.filter((t) => t.name === "swarm"), billables: new Map([["swarm", { items: [{ kind: "public-ipv4", count: 1, perNode: true }], unpriced: [] }]]) });
    const e = r.estimates[0]!;
    // 3 × t3.large 0.0832 + 3 × 0.005 = 0.2646/h → $193.158/month
    expect(e.capacity).toBe("3× t3.large (on-demand)");
    expect(e.hourlyUsd).toBeCloseTo(0.2646, 12);
    expect(e.monthlyUsd).toBeCloseTo(193.158, 9);
    expect(e.lines.at(-1)).toMatchObject({ item: "public IPv4 address (1 per node × 3 nodes)", quantity: 3, unit: "address", unitPriceUsd: 0.005 });
  });

  it("an item without a rate in the target's region is listed in that target's notPriced, not priced at us-east-1's rate", async () => {
    const app = makeApp(web, { ecs: { kind: "ecs", region: "ap-southeast-2", cluster: "c" } });
    const plain = (await estimator().estimate(app, {})).estimates[0]!;
    const e = (await estimator().estimate(app, { billables: new Map([["ecs", ecsItems]]) })).estimates[0]!;
    // Public IPv4 is one price everywhere (2 × 0.005); no ALB, LCU or CloudWatch Logs figure for ap-southeast-2.
    expect(e.hourlyUsd - plain.hourlyUsd).toBeCloseTo(0.01, 12);
    expect(e.notPriced).toEqual([
      "storage of the logs kept in the log group",
      expect.stringMatching(/^1 application load balancer for web \(no Application Load Balancer rate for ap-southeast-2 in the rate table/),
      expect.stringMatching(/^1 application load balancer for web: capacity units \(no ALB capacity units \(LCU\) rate for ap-southeast-2/),
      expect.stringMatching(/^log ingestion 1 GiB\/month for web \(no CloudWatch Logs ingestion rate for ap-southeast-2/),
    ]);
  });

  it("a declared control plane is charged once, whether or not pricing.dedicatedCluster also says so", async () => {
    const k8s = (dedicatedCluster: boolean) => makeApp({ api: svc(1, "2Gi") }, { k: { kind: "kubernetes", pricing: { provider: "aws", region: "us-east-1", nodeTypes: ["m6i.large"], dedicatedCluster, controlPlane: "eks" } } });
    const billables = new Map([["k", { items: [{ kind: "control-plane", flavour: "eks", count: 1 } as const], unpriced: [] }]]);
    for (const dedicated of [true, false]) {
      const e = (await estimator().estimate(k8s(dedicated), { billables })).estimates[0]!;
      // 1 × m6i.large 0.096 + EKS 0.10
      expect(e.hourlyUsd).toBeCloseTo(0.196, 12);
      expect(e.lines.filter((l) => l.unit === "cluster")).toHaveLength(1);
      expect(e.assumptions.join("\n")).not.toMatch(/no control-plane fee/);
    }
  });

  it("a flat rate is all-inclusive: its backend's items are not added, and it says so", async () => {
    const app = makeApp({ api: svc(1, "2Gi") }, { box: { kind: "swarm" } });
    const r = await createCostEstimator({ cacheDir: false, now: () => NOW }).estimate(app, {
      costModels: new Map([["box", { kind: "flat", monthlyUsd: 40, description: "a rented box", region: "eu-west-1" } as const]]),
      billables: new Map([["box", swarmItems]]),
    });
    expect(r.estimates[0]!.monthlyUsd).toBe(40);
    expect(r.estimates[0]!.lines).toHaveLength(1);
    expect(r.estimates[0]!.assumptions).toContain("the flat rate is taken as all-inclusive: the billable items its backend declares (block-storage, public-ipv4) are not added");
  });

  it("without billables, the generic not-priced list names each thing once", async () => {
    const r = await estimator().estimate(shop, {});
    const merged = r.estimates.flatMap((e) => e.notPriced);
    expect([...new Set(merged)]).toEqual([
      "load balancers", "NAT gateways", "data transfer (egress)", "public IPv4 addresses", "logs and metrics", "persistent volumes and disks",
      "CPU credits above the baseline of burstable instance types",
    ]);
    expect(merged.filter((n) => /persistent volume/.test(n))).toHaveLength(3); // once per target, one wording
  });
});
