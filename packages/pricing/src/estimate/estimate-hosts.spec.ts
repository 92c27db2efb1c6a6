import { pricingBasis, type App, type CostEstimate, type EstimateOptions, type EstimateReport } from "@sdx/sdk";
import { describe, expect, it } from "vitest";
import { costModelsOf, withBackendCostModels } from "../__fixtures__/backend-cost-models.js";
import { makeApp, svc } from "../__fixtures__/make-app.js";
import { createCostEstimator } from "../create-cost-estimator.js";
import { packOntoHosts, type HostPackItem, type PackHost } from "./pack-hosts.js";

// Embedded catalog, aws us-east-1 (anycloud 2026-04-02): t3.medium 2 vCPU / 4 GiB at $0.0416/h on-demand,
// $0.0157/h spot (median); m6a.2xlarge 8 vCPU / 32 GiB at $0.3456/h, no spot price (SkyPilot's derived row); t3.large 2 vCPU / 8 GiB at $0.0832/h.
// The hosts backend's reserve is 100m / 256 MiB per host, so a t3.medium leaves 1900m / 3840 MiB.
const NOW = new Date("2026-05-01T12:00:00Z");
const estimate = (app: App, o: EstimateOptions = {}): Promise<EstimateReport> =>
  withBackendCostModels(createCostEstimator({ cacheDir: false, now: () => NOW })).estimate(app, o);
const aws = { provider: "aws", region: "us-east-1" };
// Two t3.medium hosts and one rented box at a flat $5/month with 1 CPU / 1 GiB (900m / 768 MiB after the reserve).
const threeHosts = (extra: Record<string, unknown> = {}) => ({
  kind: "hosts",
  pricing: aws,
  hosts: [
    { name: "a", address: "10.0.0.1", instanceType: "t3.medium", labels: { zone: "us" } },
    { name: "b", address: "10.0.0.2", instanceType: "t3.medium", labels: { zone: "us" } },
    { name: "c", address: "10.0.0.3", monthlyUsd: 5, cpus: 1, memory: "1Gi", labels: { zone: "us", role: "db" } },
  ],
  ...extra,
});
const only = (r: EstimateReport, target = "h"): CostEstimate => r.estimates.find((e) => e.target === target)!;

describe("hosts cost model: every declared host is billed", () => {
  it("prices two t3.medium from the catalog and a flat $5 host, one line each, with provenance", async () => {
    const app = makeApp({ api: svc(1, "2Gi", { replicas: 2 }), web: svc("500m", "512Mi", { replicas: 2 }) }, { h: threeHosts() });
    const r = await estimate(app);
    const e = only(r);
    // 2 × 0.0416 + 5 / 730 = 0.0832 + 0.006849… per hour; 2 × 0.0416 × 730 + 5 = $65.736 a month.
    expect(e.hourlyUsd).toBeCloseTo(0.0832 + 5 / 730, 12);
    expect(e.monthlyUsd).toBeCloseTo(65.736, 9);
    expect(e.onDemandHourlyUsd).toBeCloseTo(0.0832 + 5 / 730, 12);
    expect(e).toMatchObject({ backend: "hosts", provider: "aws", region: "us-east-1", capacity: "3 hosts: 2× t3.medium, 1× flat-rate", priceAsOf: "2026-04-02" });
    expect(e.lines).toEqual([
      { item: "host a: t3.medium (on-demand)", quantity: 1, unit: "host", unitPriceUsd: 0.0416, hourlyUsd: 0.0416, provenance: { source: "embedded-catalog/anycloud-aws-2026-04-02", asOf: "2026-04-02", sku: "t3.medium" } },
      { item: "host b: t3.medium (on-demand)", quantity: 1, unit: "host", unitPriceUsd: 0.0416, hourlyUsd: 0.0416, provenance: { source: "embedded-catalog/anycloud-aws-2026-04-02", asOf: "2026-04-02", sku: "t3.medium" } },
      { item: "host c: flat $5.00/month", quantity: 1, unit: "host", unitPriceUsd: 5 / 730, hourlyUsd: 5 / 730, provenance: { source: "declared flat price", asOf: "2026-05-01" } },
    ]);
    expect(e.notPriced).toContain("CPU credits above the baseline of burstable instance types");
    expect(r.chosen).toBe("h");
    expect(r.rejected).toEqual([]);
  });

  it("bills the hosts the same whatever the app's size: an idle host costs as much as a full one", async () => {
    const small = await estimate(makeApp({ api: svc("100m", "128Mi") }, { h: threeHosts() }));
    const big = await estimate(makeApp({ api: svc(1, "2Gi", { replicas: 2 }) }, { h: threeHosts() }));
    expect(only(small).monthlyUsd).toBeCloseTo(65.736, 9);
    expect(only(big).monthlyUsd).toBeCloseTo(65.736, 9);
  });
});

describe("hosts cost model: packing the replicas", () => {
  it("packs first-fit decreasing, each host keeping the reserve, and says where replicas land", async () => {
    // api (1 vCPU / 2 GiB, share 0.53 of a t3.medium) goes first: one per t3.medium (3840 MiB hold one 2048 MiB replica).
    // web (500m / 512Mi) then fills the first host with room: a has 900m / 1792 MiB left → one; b → the other.
    const r = await estimate(makeApp({ web: svc("500m", "512Mi", { replicas: 2 }), api: svc(1, "2Gi", { replicas: 2 }) }, { h: threeHosts() }));
    const e = only(r);
    expect(e.assumptions).toContain("replicas packed first-fit decreasing onto the hosts in their declared order; placed: a ← api ×1, web ×1; b ← api ×1, web ×1");
    expect(e.assumptions).toContain("per-node system overhead: 100m CPU / 256 MiB (OS and container engine)");
    expect(r.diagnostics.filter((d) => d.code === "SDX_HOSTS_DO_NOT_FIT")).toEqual([]);
    expect(r.chosen).toBe("h");
  });

  it("says which service and how many replicas do not fit, and why (memory), and is not chosen", async () => {
    // api 500m / 3 GiB × 3: a and b take one each (3840 MiB), c has 768 MiB; the third does not fit.
    // After that, the most memory left on any host is 768 MiB (CPU is not short: a and b have 1400m left).
    const app = makeApp({ api: svc("500m", "3Gi", { replicas: 3 }) }, {
      h: threeHosts(),
      // 2 replicas per t3.large (1900m / 7936 MiB) → 2 × $0.0832 = $121.47/month, dearer than the hosts' $65.74.
      s: { kind: "swarm", pricing: { ...aws, nodeTypes: ["t3.large"] } },
    });
    const r = await estimate(app);
    const message = "1 of 3 replicas of api does not fit on the hosts of target h: not enough memory left on the 3 hosts that may take it (each replica needs 0.5 vCPU / 3072 MiB; at most 768 MiB left)";
    expect(r.diagnostics).toContainEqual({
      code: "SDX_HOSTS_DO_NOT_FIT", severity: "warning", path: "services.api", target: "h", message,
      hint: "Add a host to target h or declare a bigger one, or lower api's replicas or resources.",
    });
    // Listed with its price (the hosts are billed anyway), but rejected, and the dearer target that fits is chosen.
    expect(r.estimates.map((e) => [e.target, Number(e.monthlyUsd.toFixed(3)), e.chosen])).toEqual([["h", 65.736, false], ["s", 121.472, true]]);
    expect(r.rejected).toEqual([{ target: "h", reason: message }]);
    expect(r.chosen).toBe("s");
    expect(r.reason).toBe("s is the only target that meets the policy ($121.47/month)");
  });

  it("names a replica bigger than every host it may use, even empty", async () => {
    const r = await estimate(makeApp({ big: svc(3, "2Gi") }, { h: threeHosts() }));
    expect(r.rejected[0]!.reason).toBe(
      "1 of 1 replica of big does not fit on the hosts of target h: too little CPU on the 3 hosts that may take it, even empty (each replica needs 3 vCPU / 2048 MiB; at most 1.9 vCPU / 3840 MiB after the reserve)",
    );
    expect(r.chosen).toBeUndefined();
  });

  it("matches placement.constraints against host labels", async () => {
    // role=db: only c (900m / 768 MiB) may take db's replicas; zone=eu: no host at all.
    const app = makeApp({
      db: svc("500m", "512Mi", { replicas: 2, placement: { constraints: { role: "db" } } }),
      eu: svc("100m", "128Mi", { placement: { constraints: { zone: "eu" } } }),
    }, { h: threeHosts() });
    const r = await estimate(app);
    expect(r.rejected).toEqual([{
      target: "h",
      reason: "1 of 2 replicas of db does not fit on the hosts of target h: not enough CPU and memory left on host c, the one that may take it (each replica needs 0.5 vCPU / 512 MiB; at most 0.4 vCPU / 256 MiB left); " +
        "1 of 1 replica of eu does not fit on the hosts of target h: no host has the labels zone=eu (placement.constraints)",
    }]);
    expect(r.diagnostics.find((d) => d.path === "services.eu")!.hint).toBe("Give a host of target h the labels (or the capacity) eu's placement asks for, or relax its placement.");
    expect(only(r).assumptions).toContain("replicas packed first-fit decreasing onto the hosts in their declared order; placed: c ← db ×1");
  });
});

describe("hosts cost model: spot hosts", () => {
  const spotB = (extra: Record<string, unknown> = {}) => threeHosts({
    hosts: [
      { name: "a", address: "10.0.0.1", instanceType: "t3.medium" },
      { name: "b", address: "10.0.0.2", instanceType: "t3.medium", capacity: "spot" },
      { name: "c", address: "10.0.0.3", monthlyUsd: 5, cpus: 1, memory: "1Gi", capacity: "spot" },
    ],
    ...extra,
  });

  it("prices a spot host at its catalog spot price, a flat spot host as declared, and says which", async () => {
    const r = await estimate(makeApp({ api: svc("500m", "512Mi") }, { h: spotB() }));
    const e = only(r);
    // a on-demand 0.0416 + b spot 0.0157 + c flat 5/730; on-demand column: 0.0416 + 0.0416 + 5/730.
    expect(e.hourlyUsd).toBeCloseTo(0.0416 + 0.0157 + 5 / 730, 12);
    expect(e.onDemandHourlyUsd).toBeCloseTo(0.0832 + 5 / 730, 12);
    expect(e.lines.map((l) => [l.item, l.unitPriceUsd, l.provenance.source, l.provenance.sku])).toEqual([
      ["host a: t3.medium (on-demand)", 0.0416, "embedded-catalog/anycloud-aws-2026-04-02", "t3.medium"],
      ["host b: t3.medium (spot)", 0.0157, "embedded-catalog/anycloud-aws-2026-04-02", "t3.medium (spot price)"],
      ["host c: flat $5.00/month (spot)", 5 / 730, "declared flat price", undefined],
    ]);
    expect(e.capacity).toBe("3 hosts: 1× t3.medium, 1× t3.medium (spot), 1× flat-rate (spot)");
    expect(e.assumptions).toContain("spot hosts at the median of the latest per-zone spot prices; they can be reclaimed at short notice");
  });

  it("prices a spot host at on-demand when the catalog has no spot price for it, and says so", async () => {
    const r = await estimate(makeApp({ api: svc("500m", "512Mi") }, { h: { kind: "hosts", pricing: aws, hosts: [{ name: "x", address: "10.0.0.9", instanceType: "m6a.2xlarge", capacity: "spot" }] } }));
    const e = only(r);
    expect(e.lines).toEqual([{
      item: "host x: m6a.2xlarge (spot, at the on-demand price)", quantity: 1, unit: "host", unitPriceUsd: 0.3456, hourlyUsd: 0.3456,
      provenance: { source: "embedded-catalog/skypilot-aws-v7-derived:m6a.2xlarge@us-east-1", asOf: "2025-01-01", sku: "m6a.2xlarge (on-demand price: no spot price known)" },
    }]);
    expect(e.onDemandHourlyUsd).toBe(0.3456);
  });

  it("puts prefer on spot hosts first, never only on on-demand ones, and only on spot ones", async () => {
    const app = makeApp({
      p: svc("500m", "512Mi", { replicas: 4, placement: { spot: "prefer" } }),
      n: svc("500m", "512Mi", { replicas: 2, placement: { spot: "never" } }),
    }, { h: spotB() });
    const r = await estimate(app);
    // p: b takes 3 (1900m / 500m), c takes 1 (900m); n: only a (on-demand).
    expect(only(r).assumptions).toContain("replicas packed first-fit decreasing onto the hosts in their declared order; placed: a ← n ×2; b ← p ×3; c ← p ×1");
    expect(r.chosen).toBe("h");

    // With more prefer replicas than the spot hosts hold, the rest land on the on-demand host.
    const more = await estimate(makeApp({ p: svc("500m", "512Mi", { replicas: 6, placement: { spot: "prefer" } }) }, { h: spotB() }));
    expect(only(more).assumptions).toContain("replicas packed first-fit decreasing onto the hosts in their declared order; placed: a ← p ×2; b ← p ×3; c ← p ×1");

    // never: the spot hosts are not used even when the on-demand one is full.
    const never = await estimate(makeApp({ n: svc("500m", "512Mi", { replicas: 4, placement: { spot: "never" } }) }, { h: spotB() }));
    expect(never.rejected).toEqual([{
      target: "h",
      reason: "1 of 4 replicas of n does not fit on the hosts of target h: not enough CPU left on host a, the one that may take it (each replica needs 0.5 vCPU / 512 MiB; at most 0.4 vCPU left)",
    }]);
  });

  it("says when a spot-only service has no spot host, and a policy without spot keeps prefer off spot hosts", async () => {
    const noSpot = await estimate(makeApp({ o: svc("100m", "128Mi", { placement: { spot: "only" } }) }, { h: threeHosts() }));
    expect(noSpot.rejected).toEqual([{ target: "h", reason: "1 of 1 replica of o does not fit on the hosts of target h: no spot host (placement.spot: only)" }]);

    const app = makeApp({ p: svc("500m", "512Mi", { replicas: 2, placement: { spot: "prefer" } }) }, { h: spotB() });
    const r = await estimate(app, { policy: { allowSpot: false } });
    expect(only(r).assumptions).toContain("replicas packed first-fit decreasing onto the hosts in their declared order; placed: a ← p ×2");
    expect(r.chosen).toBe("h");
  });
});

describe("hosts cost model: hosts sdx cannot size or price", () => {
  it("packs onto a host of unknown size only when needed, assumes the replicas fit, and notes it", async () => {
    // c is flat with no size: a (1900m) takes 3 replicas of 600m, the 4th goes to c, assumed to fit.
    const app = makeApp({ w: svc("600m", "512Mi", { replicas: 4 }) }, {
      h: { kind: "hosts", pricing: aws, hosts: [{ name: "a", address: "10.0.0.1", instanceType: "t3.medium" }, { name: "c", address: "10.0.0.3", monthlyUsd: 5 }] },
    });
    const r = await estimate(app);
    const e = only(r);
    expect(e.assumptions).toContain("replicas packed first-fit decreasing onto the hosts in their declared order; placed: a ← w ×3; c ← w ×1");
    expect(e.assumptions).toContain("host c has unknown capacity (no instanceType, and no cpus and memory declared): it takes replicas only when no host of known size can, and 1 replica of w placed on it, assumed to fit; declare its cpus and memory to check");
    expect(e.monthlyUsd).toBeCloseTo(0.0416 * 730 + 5, 9);
    expect(r.chosen).toBe("h");
  });

  it("an unknown instance type without a flat price: an unpriced host with the reason, did-you-mean, and no choice", async () => {
    const app = makeApp({ api: svc("500m", "512Mi") }, {
      h: threeHosts({ hosts: [{ name: "a", address: "10.0.0.1", instanceType: "t3.medium" }, { name: "d", address: "10.0.0.4", instanceType: "t3.mediun" }] }),
    });
    const r = await estimate(app);
    const e = only(r);
    const why = 'unknown aws instance type "t3.mediun"; did you mean t3.medium, t3a.medium, t4g.medium?';
    expect(e.lines.map((l) => l.item)).toEqual(["host a: t3.medium (on-demand)"]);
    expect(e.hourlyUsd).toBe(0.0416);
    expect(e.notPriced).toContain(`host d (${why})`);
    expect(e.assumptions).toContain("host d has unknown capacity (the catalog does not know t3.mediun, and no cpus and memory declared): it takes replicas only when no host of known size can, and nothing had to be placed on it; declare its cpus and memory to check");
    expect(r.rejected).toEqual([{ target: "h", reason: `host d has no price (${why}), so the total leaves it out` }]);
    expect(r.diagnostics).toContainEqual(expect.objectContaining({
      code: "SDX_PRICING", severity: "warning", path: "targets.h.hosts[1].instanceType", target: "h", message: `host d: ${why}`, suggestions: ["t3.medium", "t3a.medium", "t4g.medium"],
    }));
    expect(r.chosen).toBeUndefined();
  });

  it("without a pricing profile, instance types are not priced (as for nodes targets); flat hosts still are", async () => {
    const hosts = [{ name: "a", address: "10.0.0.1", instanceType: "t3.medium" }, { name: "c", address: "10.0.0.3", monthlyUsd: 5 }];
    const r = await estimate(makeApp({ api: svc("500m", "512Mi") }, { h: { kind: "hosts", hosts } }));
    const e = only(r);
    expect(e).toMatchObject({ provider: "-", region: "-", capacity: "2 hosts: 1× unpriced, 1× flat-rate" });
    expect(e.lines.map((l) => l.item)).toEqual(["host c: flat $5.00/month"]);
    // The catalog still sizes t3.medium, so a is packed first, as a known 1900m / 3840 MiB.
    expect(e.assumptions).toContain("replicas packed first-fit decreasing onto the hosts in their declared order; placed: a ← api ×1");
    expect(r.rejected[0]!.reason).toBe("host a has no price (target h has no pricing profile: add pricing: { provider: aws, region: us-east-1 } (the cloud and region of its hosts) to price t3.medium), so the total leaves it out");
    expect(r.diagnostics).toContainEqual(expect.objectContaining({ code: "SDX_PRICING", path: "targets.h.pricing", target: "h" }));

    const none = await estimate(makeApp({ api: svc("500m", "512Mi") }, { h: { kind: "hosts", hosts: [hosts[0]] } }));
    expect(none.estimates).toEqual([]);
    expect(none.rejected).toEqual([{ target: "h", reason: "no host of target h can be priced: a: target h has no pricing profile: add pricing: { provider: aws, region: us-east-1 } (the cloud and region of its hosts) to price t3.medium" }]);
  });
});

describe("hosts cost model: sdx targets", () => {
  it("shows how a hosts target is priced", () => {
    const app = makeApp({ api: svc(1, "1Gi") }, {
      h: threeHosts(),
      bare: { kind: "hosts", hosts: [{ address: "10.0.0.1", instanceType: "t3.medium" }, { address: "10.0.0.2" }] },
    });
    const models = costModelsOf(app.targets);
    expect(app.targets.map((t) => pricingBasis(t, models.get(t.name)))).toEqual([
      "3 hosts (2 priced by instance type in aws us-east-1, 1 flat)",
      "2 hosts (1 by instance type but no pricing profile, 1 without a price)",
    ]);
  });
});

describe("packOntoHosts", () => {
  const host = (name: string, cpuMillis: number | undefined, memoryMiB = 4096, extra: Partial<PackHost> = {}): PackHost => ({
    name, labels: {}, spot: false, ...(cpuMillis === undefined ? {} : { allocatable: { cpuMillis, memoryMiB } }), ...extra,
  });
  const item = (service: string, cpuMillis: number, memoryMiB: number, count: number, extra: Partial<HostPackItem> = {}): HostPackItem => ({
    service, cpuMillis, memoryMiB, count, constraints: {}, capacity: "on-demand", capacityRule: "placement.spot: never", ...extra,
  });

  it("places bigger replicas first, so small ones fill the gaps (first fit in input order would not fit)", () => {
    // In input order, small ×2 would go to a (1000m), leaving 600m: big (1000m) then fits nowhere but b, and big #2 nowhere.
    const r = packOntoHosts([item("small", 200, 100, 2), item("big", 1000, 100, 2)], [host("a", 1000), host("b", 1400)]);
    expect(r.placements.map((p) => [p.host, p.service, p.count])).toEqual([["a", "big", 1], ["b", "big", 1], ["b", "small", 2]]);
    expect(r.unplaced).toEqual([]);
  });

  it("places large counts arithmetically", () => {
    const r = packOntoHosts([item("w", 1, 1, 5_000_000)], [host("a", 2_000_000, 1e9), host("b", 2_000_000, 1e9)]);
    expect(r.placements.map((p) => p.count)).toEqual([2_000_000, 2_000_000]);
    expect(r.unplaced.map((u) => u.count)).toEqual([1_000_000]);
  });

  it("uses a host of unknown size last, and marks what it takes as assumed to fit", () => {
    const r = packOntoHosts([item("w", 500, 100, 5)], [host("u", undefined), host("a", 1000)]);
    expect(r.placements).toEqual([
      { host: "u", service: "w", count: 3, spot: false, assumedToFit: true },
      { host: "a", service: "w", count: 2, spot: false, assumedToFit: false },
    ]);
  });
});
