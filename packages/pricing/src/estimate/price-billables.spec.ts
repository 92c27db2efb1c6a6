import type { BillableItem, CostEstimate } from "@sdx/sdk";
import { describe, expect, it } from "vitest";
import type { PricedCandidate } from "./candidate.js";
import { priceBillables, withBillables } from "./price-billables.js";

// Rates from the embedded table (catalog/service-rates.ts), us-east-1 unless said:
// ALB $0.0225/h + $0.008/LCU-h, NLB $0.0225/h + $0.006/NLCU-h, public IPv4 $0.005/h, EBS gp3 $0.08/GiB-month,
// EFS Standard $0.30/GiB-month, NAT $0.045/h + $0.045/GiB, CloudWatch Logs $0.50/GiB, egress $0.09/GiB, EKS $0.10/h.
const aws = (items: BillableItem[], extra: Partial<Parameters<typeof priceBillables>[0]> = {}) =>
  priceBillables({ billables: { items, unpriced: [] }, provider: "aws", region: "us-east-1", ...extra });
const nodes3 = { kind: "node" as const, count: 3, onDemandCount: 3 };

describe("priceBillables: one line per billing dimension, hand-computed", () => {
  it("an ALB: load-balancer-hours plus its capacity units", () => {
    const r = aws([{ kind: "load-balancer", service: "web", flavour: "application", count: 1, capacityUnits: 1, basis: "default" }]);
    expect(r.lines).toEqual([
      expect.objectContaining({ service: "web", item: "Application Load Balancer (sdx default: 1 × application load balancer, 1 capacity unit each)", quantity: 1, unit: "load balancer", unitPriceUsd: 0.0225, hourlyUsd: 0.0225 }),
      expect.objectContaining({ service: "web", item: "ALB capacity units (LCU) (sdx default: 1 × application load balancer, 1 capacity unit each)", quantity: 1, unit: "LCU", unitPriceUsd: 0.008, hourlyUsd: 0.008 }),
    ]);
    // 0.0225 + 0.008 = 0.0305/h → $22.265/month
    expect(r.hourlyUsd * 730).toBeCloseTo(22.265, 9);
  });

  it("two NLBs in eu-west-1 at their Irish rate, with capacity units from a usage hint", () => {
    const r = priceBillables({ billables: { items: [{ kind: "load-balancer", flavour: "network", count: 2, capacityUnits: 0.5, basis: "usage-hint" }], unpriced: [] }, provider: "aws", region: "eu-west-1" });
    // 2 × 0.0252 + (2 × 0.5) × 0.006 = 0.0504 + 0.006
    expect(r.lines.map((l) => [l.quantity, l.unitPriceUsd, l.hourlyUsd])).toEqual([[2, 0.0252, 0.0504], [1, 0.006, 0.006]]);
    expect(r.lines[1]!.item).toMatch(/from the app's usage hints/);
  });

  it("a public IPv4 address per node, on a 3-node estimate", () => {
    const r = aws([{ kind: "public-ipv4", count: 1, perNode: true }], { machines: nodes3 });
    // 3 × $0.005 = $0.015/h = $10.95/month
    expect(r.lines).toEqual([expect.objectContaining({ item: "public IPv4 address (1 per node × 3 nodes)", quantity: 3, unit: "address", unitPriceUsd: 0.005 })]);
    expect(r.hourlyUsd).toBeCloseTo(0.015, 12);
    expect(r.assumptions).toContain("public IPv4 address: billed since 2024-02-01, in use or idle");
  });

  it("per-month figures keep the page's unit price: hourly = quantity × price / 730", () => {
    const r = aws([
      { kind: "block-storage", sizeGiB: 20, count: 1, basis: "default", perNode: true },
      { kind: "file-storage", service: "db", sizeGiB: 10, basis: "declared" },
    ], { machines: nodes3 });
    // EBS: 3 nodes × 20 GiB = 60 GiB-month × $0.08 = $4.80/month; EFS: 10 GiB-month × $0.30 = $3.00/month
    expect(r.lines.map((l) => [l.item, l.quantity, l.unit, l.unitPriceUsd])).toEqual([
      ["EBS gp3 storage (sdx default: 1 × 20 GiB per node × 3 nodes)", 60, "GiB-month", 0.08],
      ["EFS Standard storage (10 GiB stored, declared)", 10, "GiB-month", 0.3],
    ]);
    expect(r.lines[0]!.hourlyUsd).toBeCloseTo(4.8 / 730, 12);
    expect(r.lines[1]!.hourlyUsd).toBeCloseTo(3 / 730, 12);
  });

  it("a NAT gateway, its processed data, logs and egress, each saying its basis", () => {
    const r = aws([
      { kind: "nat-gateway", count: 1, processedGiBPerMonth: 100, basis: "usage-hint" },
      { kind: "log-ingestion", service: "api", gibPerMonth: 1.5, basis: "default" },
      { kind: "egress", service: "api", gibPerMonth: 50, basis: "usage-hint" },
    ]);
    expect(r.lines.map((l) => [l.item, l.quantity, l.unit, l.unitPriceUsd])).toEqual([
      ["NAT gateway (1 gateway, 100 GiB processed per month, from the app's usage hints)", 1, "gateway", 0.045],
      ["NAT gateway data processed (1 gateway, 100 GiB processed per month, from the app's usage hints)", 100, "GiB/month", 0.045],
      ["CloudWatch Logs ingestion (sdx default: 1.5 GiB per month)", 1.5, "GiB/month", 0.5],
      ["data transfer out to the internet (50 GiB per month, from the app's usage hints)", 50, "GiB/month", 0.09],
    ]);
    // 0.045/h + ($4.50 + $0.75 + $4.50)/730
    expect(r.hourlyUsd).toBeCloseTo(0.045 + (4.5 + 0.75 + 4.5) / 730, 12);
    expect(r.assumptions.join("\n")).toMatch(/100 GB per month free for the whole account not deducted/);
  });

  it("a control plane, unless pricing.dedicatedCluster already charges it", () => {
    const item: BillableItem = { kind: "control-plane", flavour: "eks", count: 1 };
    expect(aws([item]).lines).toEqual([expect.objectContaining({ item: "EKS control plane", quantity: 1, unit: "cluster", hourlyUsd: 0.1 })]);
    const twice = aws([item], { controlPlaneCharged: true });
    expect(twice.lines).toEqual([]);
    expect(twice.assumptions.join("\n")).toMatch(/already charges/);
  });

  it("GCP: one price for the first five forwarding rules, then per rule; Cloud NAT per VM, then per gateway above 32", () => {
    const gcp = (items: BillableItem[], count = 3) => priceBillables({ billables: { items, unpriced: [] }, provider: "gcp", region: "us-central1", machines: { kind: "node", count, onDemandCount: count } });
    const lb = gcp([{ kind: "load-balancer", flavour: "application", count: 7, capacityUnits: 1, basis: "default" }]);
    // $0.025 for rules 1–5 + 2 × $0.01
    expect(lb.lines.map((l) => [l.quantity, l.unitPriceUsd])).toEqual([[1, 0.025], [2, 0.01]]);
    expect(lb.hourlyUsd).toBeCloseTo(0.045, 12);
    expect(lb.notPriced).toEqual([expect.stringMatching(/^7 application load balancers: data processed \(billed per GiB on gcp/)]);
    // 3 VMs × $0.0014; 40 VMs: $0.044 per gateway
    expect(gcp([{ kind: "nat-gateway", count: 1, processedGiBPerMonth: 0, basis: "default" }]).hourlyUsd).toBeCloseTo(0.0042, 12);
    expect(gcp([{ kind: "nat-gateway", count: 1, processedGiBPerMonth: 0, basis: "default" }], 40).hourlyUsd).toBeCloseTo(0.044, 12);
    const logs = gcp([{ kind: "log-ingestion", gibPerMonth: 10, basis: "default" }]);
    expect(logs.hourlyUsd).toBeCloseTo(5 / 730, 12);
    expect(logs.assumptions.join("\n")).toMatch(/first 50 GiB per project per month are free; not deducted/);
  });

  it("Azure: rules on a Standard load balancer, a Standard public IP; managed disks unpriced with the reason", () => {
    const r = priceBillables({
      billables: { items: [
        { kind: "load-balancer", flavour: "network", count: 2, capacityUnits: 0, basis: "default" },
        { kind: "public-ipv4", count: 1 },
        { kind: "block-storage", sizeGiB: 30, count: 1, basis: "default", perNode: true },
      ], unpriced: [] },
      provider: "azure", region: "eastus", machines: nodes3,
    });
    expect(r.lines.map((l) => [l.item, l.hourlyUsd])).toEqual([
      ["Standard Load Balancer rules (first 5) (sdx default: 2 × network load balancers, 0 capacity units each)", 0.025],
      ["Standard public IP address", 0.005],
    ]);
    expect(r.notPriced).toEqual([expect.stringMatching(/^block storage 1 × 30 GiB per node \(Azure managed disks are billed by size tier/)]);
  });
});

describe("priceBillables: what cannot be priced stays visible, per target", () => {
  it("an item in a region without a rate is listed with the reason, not priced at us-east-1's rate", () => {
    const r = priceBillables({
      billables: { items: [
        { kind: "load-balancer", service: "web", flavour: "application", count: 1, capacityUnits: 1, basis: "default" },
        { kind: "block-storage", sizeGiB: 20, count: 1, basis: "declared" },
      ], unpriced: ["data transfer between availability zones: depends on traffic"] },
      provider: "aws", region: "eu-central-1",
    });
    // EBS gp3 in Frankfurt: 20 × $0.0952 = $1.904/month
    expect(r.lines.map((l) => [l.item, l.unitPriceUsd])).toEqual([["EBS gp3 storage (1 × 20 GiB, declared)", 0.0952]]);
    expect(r.hourlyUsd).toBeCloseTo(1.904 / 730, 12);
    expect(r.notPriced).toEqual([
      "data transfer between availability zones: depends on traffic",
      "1 application load balancer for web (no Application Load Balancer rate for eu-central-1 in the rate table, which has us-east-1, us-east-2, us-west-2, eu-west-1)",
      "1 application load balancer for web: capacity units (no ALB capacity units (LCU) rate for eu-central-1 in the rate table, which has us-east-1, us-east-2, us-west-2, eu-west-1)",
    ]);
  });

  it("a target without a cloud prices nothing and lists every item", () => {
    const r = priceBillables({ billables: { items: [{ kind: "public-ipv4", count: 2 }], unpriced: [] }, provider: "-", region: "-" });
    expect(r.lines).toEqual([]);
    expect(r.notPriced).toEqual(["2 public IPv4 addresses (the target has no pricing profile naming its cloud and region)"]);
  });

  it("a per-node item on an estimate without machines counts once and says so", () => {
    const r = aws([{ kind: "public-ipv4", count: 1, perNode: true }]);
    expect(r.hourlyUsd).toBeCloseTo(0.005, 12);
    expect(r.assumptions).toContain("items counted per node are counted once: this estimate packs no nodes or hosts");
  });
});

describe("withBillables", () => {
  const estimate: CostEstimate = {
    target: "swarm", backend: "swarm", provider: "aws", region: "us-east-1", capacity: "3× t3.large (on-demand)",
    hourlyUsd: 0.2496, monthlyUsd: 0.2496 * 730, onDemandHourlyUsd: 0.2496, allocatedHourlyUsd: 0.2,
    lines: [{ item: "t3.large node (on-demand)", quantity: 3, unit: "node", unitPriceUsd: 0.0832, hourlyUsd: 0.2496, provenance: { source: "embedded-catalog/x", asOf: "2026-04-02" } }],
    assumptions: [], notPriced: ["load balancers", "NAT gateways", "data transfer (egress)", "public IPv4 addresses", "logs and metrics", "persistent volumes and disks", "CPU credits above the baseline of burstable instance types"],
    priceAsOf: "2026-04-02", chosen: false,
  };
  const candidate: PricedCandidate = { kind: "priced", estimate, onDemandReplicas: 6, spotReplicas: 0, machines: nodes3 };

  it("adds the lines to every total and replaces the generic not-priced list with the target's own", () => {
    const priced = aws([{ kind: "public-ipv4", count: 1, perNode: true }], { machines: nodes3 });
    const e = withBillables(candidate, { ...priced, notPriced: ["data transfer between availability zones"] }).estimate;
    // 0.2496 + 3 × 0.005 = 0.2646/h → $193.158/month
    expect(e.hourlyUsd).toBeCloseTo(0.2646, 12);
    expect(e.monthlyUsd).toBeCloseTo(193.158, 9);
    expect(e.onDemandHourlyUsd).toBeCloseTo(0.2646, 12);
    expect(e.allocatedHourlyUsd).toBeCloseTo(0.215, 12);
    expect(e.lines).toHaveLength(2);
    expect(e.notPriced).toEqual(["CPU credits above the baseline of burstable instance types", "data transfer between availability zones"]);
    expect(e.priceAsOf).toBe("2025-06-01");
  });

  it("a line's JSON shape is the CostLine contract", () => {
    const line = aws([{ kind: "load-balancer", service: "web", flavour: "application", count: 1, capacityUnits: 1, basis: "default" }]).lines[0]!;
    expect(JSON.parse(JSON.stringify(line))).toEqual({
      service: "web",
      item: "Application Load Balancer (sdx default: 1 × application load balancer, 1 capacity unit each)",
      quantity: 1,
      unit: "load balancer",
      unitPriceUsd: 0.0225,
      hourlyUsd: 0.0225,
      provenance: { source: "https://aws.amazon.com/elasticloadbalancing/pricing/", asOf: "2025-06-01", sku: "Application Load Balancer us-east-1" },
    });
  });
});
