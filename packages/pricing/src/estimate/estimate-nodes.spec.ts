import { isSdxError, type App } from "@sdx/sdk";
import { describe, expect, it } from "vitest";
import { makeApp, svc } from "../__fixtures__/make-app.js";
import { loadEmbeddedCatalog } from "../catalog/load-embedded-catalog.js";
import { estimateNodes, type EstimateNodesInput, type NodeType } from "./estimate-nodes.js";
import { KUBERNETES_RESERVE, SWARM_RESERVE } from "../__fixtures__/backend-cost-models.js";
import { allocatable } from "./node-overhead.js";
import { packReplicas } from "./pack-replicas.js";

const catalog = loadEmbeddedCatalog();
const aws = (t: string): NodeType => {
  const o = catalog.vm("aws", "us-east-1", t)!;
  return { ...o, ...(o.spotUsd === undefined ? {} : { spotUsd: o.spotUsd }) };
};
const catalogTypes = catalog.vmOffers("aws", "us-east-1");
const run = (app: App, nodeTypes: NodeType[], extra: Partial<EstimateNodesInput> = {}) =>
  estimateNodes({ app, target: "k8s", backend: "kubernetes", provider: "aws", region: "us-east-1", nodeTypes, spotAvailable: false, catalogTypes, reserve: KUBERNETES_RESERVE, ...extra });

// OpenCost's default weights, as in estimate-nodes.ts: CPU $0.031611/vCPU-h, RAM $0.004237/GiB-h.
const share = (price: number, vcpus: number, gib: number) => {
  const w = vcpus * 0.031611 + gib * 0.004237;
  return { perVcpu: (price * 0.031611) / w, perGiB: (price * 0.004237) / w };
};

describe("node overhead", () => {
  it("reserves by GKE's tiered formula plus system daemons (kubernetes)", () => {
    // 2 vCPU: 6% + 1% of a core = 70m, + 100m daemons → 1830m. 8 GiB: 25% of 4 + 20% of 4 = 1.8 GiB = 1843.2 MiB, + 100 eviction + 200 daemons → 6048 MiB.
    expect(allocatable(2, 8, KUBERNETES_RESERVE)).toEqual({ cpuMillis: 1830, memoryMiB: 6048 });
    // 4 vCPU: 60 + 10 + 10 = 80m + 100 → 3820m. 16 GiB: 1 + 0.8 + 0.8 = 2.6 GiB = 2662.4 + 300 → 13421 MiB.
    expect(allocatable(4, 16, KUBERNETES_RESERVE)).toEqual({ cpuMillis: 3820, memoryMiB: 13421 });
  });
  it("reserves a flat amount on Swarm", () => {
    expect(allocatable(2, 8, SWARM_RESERVE)).toEqual({ cpuMillis: 1900, memoryMiB: 7936 });
  });
});

describe("packReplicas", () => {
  const node = { cpuMillis: 2000, memoryMiB: 4096 };
  it.each([
    [[], 0],
    [[[1000, 1024], [1000, 1024]], 1],
    [[[1500, 512], [600, 512], [500, 3000]], 2], // FFD: 1500+500 | 600
    [[[1000, 3000], [1000, 3000], [1000, 100]], 2],
  ] as [number[][], number][])("%j → %i nodes", (items, n) => {
    expect(packReplicas(items.map(([c, m]) => ({ cpuMillis: c!, memoryMiB: m! })), node)).toBe(n);
  });
  it("returns undefined when one replica is bigger than the node", () => {
    expect(packReplicas([{ cpuMillis: 2001, memoryMiB: 1 }], node)).toBeUndefined();
    expect(packReplicas([{ cpuMillis: 100, memoryMiB: 100, count: 5 }, { cpuMillis: 2001, memoryMiB: 1, count: 3 }], node)).toBeUndefined();
  });
  it("packs counted groups by hand: 7 × 600m fill 3 per node (3 nodes), then 5 × 200m top up the partial node first", () => {
    // 600m × 3 = 1800m per node → 3 + 3 + 1; the third node has 1400m free → 5 × 200m fit there (1000m).
    expect(packReplicas([{ cpuMillis: 600, memoryMiB: 100, count: 7 }, { cpuMillis: 200, memoryMiB: 100, count: 5 }], node)).toBe(3);
    // Memory-bound: 1500 MiB → 2 per node (4096 MiB); 9 replicas → 5 nodes; 6 × 1000 MiB: 1096 free on 4 full nodes, 2596 on the fifth.
    // First fit: one each into the 4 full nodes, two into the fifth → still 5.
    expect(packReplicas([{ cpuMillis: 100, memoryMiB: 1500, count: 9 }, { cpuMillis: 100, memoryMiB: 1000, count: 6 }], node)).toBe(5);
    expect(packReplicas([{ cpuMillis: 100, memoryMiB: 100, count: 0 }], node)).toBe(0);
  });

  // The one-replica-at-a-time first-fit decreasing the grouped packer must match exactly.
  const naive = (items: readonly { cpuMillis: number; memoryMiB: number; count?: number }[], n: { cpuMillis: number; memoryMiB: number }): number | undefined => {
    const flat = items.flatMap((it) => Array.from({ length: it.count ?? 1 }, () => ({ cpuMillis: it.cpuMillis, memoryMiB: it.memoryMiB })));
    if (flat.length === 0) return 0;
    const key = (it: { cpuMillis: number; memoryMiB: number }) => Math.max(it.cpuMillis / n.cpuMillis, it.memoryMiB / n.memoryMiB);
    const order = flat.slice().sort((a, b) => key(b) - key(a));
    const free: [number, number][] = [];
    for (const it of order) {
      if (it.cpuMillis > n.cpuMillis || it.memoryMiB > n.memoryMiB) return undefined;
      let i = free.findIndex(([c, m]) => c >= it.cpuMillis && m >= it.memoryMiB);
      if (i < 0) i = free.push([n.cpuMillis, n.memoryMiB]) - 1;
      free[i]![0] -= it.cpuMillis;
      free[i]![1] -= it.memoryMiB;
    }
    return free.length;
  };
  it("gives exactly what packing replicas one by one gives, on 500 random mixes", () => {
    let seed = 12345;
    const rnd = (k: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % k);
    for (let trial = 0; trial < 500; trial++) {
      const shape = { cpuMillis: 500 + rnd(4000), memoryMiB: 512 + rnd(8192) };
      const items = Array.from({ length: 1 + rnd(6) }, () => ({ cpuMillis: 50 * (1 + rnd(30)), memoryMiB: 64 * (1 + rnd(40)), count: rnd(25) }));
      expect(packReplicas(items, shape), JSON.stringify({ shape, items })).toBe(naive(items, shape));
    }
  });
  it("packs a billion replicas arithmetically, in well under a second", () => {
    const t0 = performance.now();
    // 700m: 2 per node → 5e8 nodes with 600m / 2096 MiB free; 300m: 2 more in each (1e9), the other 2e8 at 6 per new node → 33,333,334.
    expect(packReplicas([{ cpuMillis: 700, memoryMiB: 1000, count: 1e9 }, { cpuMillis: 300, memoryMiB: 300, count: 1.2e9 }], node)).toBe(500_000_000 + 33_333_334);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe("estimateNodes: hand-checked (catalog us-east-1: m6i.large $0.096, m6i.xlarge $0.192, t3.large $0.0832 on-demand)", () => {
  it("packs onto the cheapest single type after overhead", () => {
    // 3 × 1 vCPU / 2 GiB. m6i.large holds one (2 × 1000m > 1830m) → 3 × 0.096 = 0.288;
    // m6i.xlarge holds three (3000m ≤ 3820m) → 1 × 0.192. Cheapest: 1 × m6i.xlarge.
    const app = makeApp({ api: svc(1, "2Gi", { replicas: 3 }) });
    const { estimate } = run(app, [aws("m6i.large"), aws("m6i.xlarge")]);
    expect(estimate.capacity).toBe("1× m6i.xlarge (on-demand)");
    expect(estimate.hourlyUsd).toBeCloseTo(0.192, 12);
    expect(estimate.monthlyUsd).toBeCloseTo(0.192 * 730, 10);
    const { perVcpu, perGiB } = share(0.192, 4, 16);
    expect(estimate.allocatedHourlyUsd).toBeCloseTo(3 * (1 * perVcpu + 2 * perGiB), 12);
    expect(estimate.lines).toEqual([
      expect.objectContaining({ item: "m6i.xlarge node (on-demand)", quantity: 1, unit: "node", unitPriceUsd: 0.192, provenance: expect.objectContaining({ sku: "m6i.xlarge" }) }),
    ]);
  });

  it("puts minOnDemand replicas on on-demand nodes and the rest on spot nodes", () => {
    // worker 3 × 1 vCPU / 2 GiB, prefer spot, minOnDemand 1, on m6i.large:
    // 1 on-demand node (0.096) + 2 spot nodes at the catalog's median zone spot price.
    const spot = catalog.vm("aws", "us-east-1", "m6i.large")!.spotUsd!;
    expect(spot).toBe(0.0431); // anycloud snapshot 2026-04-02, median of the per-AZ prices
    const app = makeApp({ worker: svc(1, "2Gi", { replicas: 3, placement: { spot: "prefer", minOnDemand: 1 } }) });
    const r = run(app, [aws("m6i.large")], { spotAvailable: true });
    expect(r.estimate.capacity).toBe("1× m6i.large (on-demand) + 2× m6i.large (spot)");
    expect(r.estimate.hourlyUsd).toBeCloseTo(0.096 + 2 * 0.0431, 12);
    expect(r.estimate.onDemandHourlyUsd).toBeCloseTo(3 * 0.096, 12);
    expect([r.onDemandReplicas, r.spotReplicas]).toEqual([1, 2]);
    expect(r.estimate.lines[1]!.provenance.sku).toBe("m6i.large");
  });

  it("adds the control-plane fee of a dedicated cluster to both incremental and allocated cost", () => {
    // EKS standard support: $0.10 per cluster-hour (aws_fargate_eks_rates.csv).
    const app = makeApp({ api: svc(1, "2Gi", { replicas: 3 }) });
    const eks = catalog.controlPlane("eks")!;
    const plain = run(app, [aws("m6i.xlarge")]).estimate;
    const dedicated = run(app, [aws("m6i.xlarge")], { controlPlane: { item: "EKS control plane", usdPerHour: eks.usd, provenance: eks.provenance } }).estimate;
    expect(dedicated.hourlyUsd).toBeCloseTo(0.192 + 0.1, 12);
    expect(dedicated.allocatedHourlyUsd! - plain.allocatedHourlyUsd!).toBeCloseTo(0.1, 12);
    expect(dedicated.lines.at(-1)).toMatchObject({ item: "EKS control plane", quantity: 1, unit: "cluster", hourlyUsd: 0.1 });
    expect(plain.assumptions.join("\n")).toMatch(/no control-plane fee/);
  });

  it("uses Swarm's smaller overhead", () => {
    // 2 × 950m: 1900m fits one t3.large under Swarm (1900m free) but not under Kubernetes (1830m).
    const app = makeApp({ api: svc("950m", "1Gi", { replicas: 2 }) });
    expect(run(app, [aws("t3.large")], { reserve: SWARM_RESERVE, backend: "swarm" }).estimate.hourlyUsd).toBeCloseTo(0.0832, 12);
    expect(run(app, [aws("t3.large")]).estimate.hourlyUsd).toBeCloseTo(2 * 0.0832, 12);
    expect(run(app, [aws("t3.large")]).estimate.notPriced).toContain("CPU credits above the baseline of burstable instance types");
  });

  it("packs each architecture onto its own node types", () => {
    // m7g.large (Graviton, $0.0816) for the arm64 service, m6i.large for the amd64 one.
    const app = makeApp({ x: svc(1, "2Gi"), y: svc(1, "2Gi", { placement: { arch: "arm64" } }) });
    const { estimate } = run(app, [aws("m6i.large"), aws("m7g.large")]);
    expect(estimate.capacity).toBe("1× m6i.large (on-demand) + 1× m7g.large (on-demand)");
    expect(estimate.hourlyUsd).toBeCloseTo(0.096 + 0.0816, 12);
  });

  it("falls back to one pool per service when no single type holds every replica", () => {
    const prov = { source: "test", asOf: "2026-01-01" };
    const cpuBox: NodeType = { instanceType: "cpu-box", vcpus: 8, memoryGiB: 8, arch: "amd64", onDemandUsd: 0.3, provenance: prov };
    const memBox: NodeType = { instanceType: "mem-box", vcpus: 2, memoryGiB: 32, arch: "amd64", onDemandUsd: 0.2, provenance: prov };
    const app = makeApp({ a: svc(6, "1Gi"), b: svc(1, "24Gi") });
    const { estimate } = run(app, [cpuBox, memBox]);
    expect(estimate.capacity).toBe("1× cpu-box (on-demand) + 1× mem-box (on-demand)");
    expect(estimate.hourlyUsd).toBeCloseTo(0.5, 12);
    expect(estimate.assumptions.join("\n")).toMatch(/one node pool per service/);
  });

  it("prices a million replicas arithmetically (O(services), not O(replicas))", () => {
    // An App object skips the schema's replica limit; the estimator must still not build one item per replica.
    // 1 vCPU / 2 GiB: m6i.xlarge holds 3 → ⌈1e6 / 3⌉ = 333,334 × 0.192 = 64,000.128 beats 1e6 m6i.large × 0.096 = 96,000.
    const base = makeApp({ api: svc(1, "2Gi", { replicas: 1 }) });
    const app: App = { ...base, services: base.services.map((s) => ({ ...s, scale: { kind: "fixed", replicas: 1_000_000 } })) };
    const t0 = performance.now();
    const { estimate } = run(app, [aws("m6i.large"), aws("m6i.xlarge")]);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(estimate.capacity).toBe("333334× m6i.xlarge (on-demand)");
    expect(estimate.hourlyUsd).toBeCloseTo(333_334 * 0.192, 6);
    const { perVcpu, perGiB } = share(0.192, 4, 16);
    expect(estimate.allocatedHourlyUsd).toBeCloseTo(1_000_000 * (1 * perVcpu + 2 * perGiB), 4);
  });

  it("names the autoscaling range and the cost at the maximum", () => {
    // web 2–6 × 1 vCPU / 2 GiB on m6i.xlarge: 3 per node → min 1 node, max 2 nodes = 2 × 0.192 × 730 = $280.32/month.
    const app = makeApp({ web: svc(1, "2Gi", { autoscale: { min: 2, max: 6 } }) });
    expect(run(app, [aws("m6i.xlarge")]).estimate.assumptions[0]).toBe("autoscaled services priced at their minimum replicas (web 2–6); at the maximum: $280.32/month");
  });
});

describe("estimateNodes: bad fits", () => {
  it("a replica bigger than every node type → a clear error naming the smallest type that fits", () => {
    // 6 vCPU / 20 GiB needs an 8 vCPU / 32 GiB machine; of those in us-east-1 (x86) the cheapest is t3a.2xlarge ($0.3008).
    const app = makeApp({ big: svc(6, "20Gi") });
    try {
      run(app, [aws("m6i.large"), aws("m6i.xlarge")]);
      expect.unreachable();
    } catch (e) {
      if (!isSdxError(e)) throw e;
      expect([e.code, e.fault, e.path]).toEqual(["SDX_PRICING", "user", "targets.k8s.pricing.nodeTypes"]);
      expect(e.message).toBe("a replica of big (6 vCPU / 20480 MiB) does not fit any amd64 node type of target k8s (m6i.large, m6i.xlarge) after system overhead");
      expect(e.hint).toMatch(/^Add t3a\.2xlarge \(8 vCPU \/ 32 GiB, the smallest aws amd64 type in us-east-1 that fits\)/);
      expect(e.details).toMatchObject({ service: "big", smallestFittingType: "t3a.2xlarge" });
    }
  });

  it("an arm64 service with only x86 node types → the architecture is named as the cause, not overhead", () => {
    // 1 vCPU / 2 GiB: m7g.medium (1 vCPU) is too small after overhead; t4g.medium (2 vCPU / 4 GiB) is the smallest that fits.
    const app = makeApp({ a: svc(1, "2Gi", { placement: { arch: "arm64" } }) });
    try {
      run(app, [aws("m6i.large")]);
      expect.unreachable();
    } catch (e) {
      if (!isSdxError(e)) throw e;
      expect([e.code, e.fault, e.path]).toEqual(["SDX_PRICING", "user", "targets.k8s.pricing.nodeTypes"]);
      expect(e.message).toBe("a runs on arm64 (placement.arch) but target k8s has no arm64 node type, only amd64 (m6i.large amd64)");
      expect(e.hint).toBe("Add t4g.medium (2 vCPU / 4 GiB, the smallest aws arm64 type in us-east-1 that fits 1 vCPU / 2048 MiB) to pricing.nodeTypes, or set a's placement.arch to amd64 if its image runs there.");
      expect(e.details).toMatchObject({ cause: "arch", nodeArchs: ["amd64"], smallestFittingType: "t4g.medium" });
    }
  });

  it("a Swarm target of x86 node types refuses an arm64 service for its architecture (the external check's case)", () => {
    // A small replica (0.25 vCPU / 256 MiB) fits a t3.medium after Swarm's 100m / 256 MiB reserve: only the architecture is wrong.
    const app = makeApp({ web: svc(0.25, "256Mi", { placement: { arch: "arm64" } }) });
    const swarm = (): unknown => run(app, [aws("t3.medium")], { target: "local", backend: "swarm", reserve: SWARM_RESERVE });
    expect(swarm).toThrow("web runs on arm64 (placement.arch) but target local has no arm64 node type, only amd64 (t3.medium amd64)");
    expect(swarm).not.toThrow(/overhead/);
    // The same service on amd64 prices: the reserve was never the obstacle.
    expect(run(makeApp({ web: svc(0.25, "256Mi") }), [aws("t3.medium")], { target: "local", backend: "swarm", reserve: SWARM_RESERVE }).estimate.capacity).toBe("1× t3.medium (on-demand)");
  });

  it("a spot-only service on a target without spot", () => {
    const app = makeApp({ w: svc(1, "2Gi", { placement: { spot: "only" } }) });
    expect(() => run(app, [aws("m6i.large")])).toThrow(/spot-only/);
  });
});
