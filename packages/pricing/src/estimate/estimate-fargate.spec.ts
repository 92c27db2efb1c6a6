import { isSdxError } from "@sdx/sdk";
import { describe, expect, it } from "vitest";
import { makeApp, svc } from "../__fixtures__/make-app.js";
import { loadEmbeddedCatalog } from "../catalog/load-embedded-catalog.js";
import { FARGATE_SIZE } from "../__fixtures__/backend-cost-models.js";
import { estimateFargate, type EstimateFargateInput } from "./estimate-fargate.js";

const catalog = loadEmbeddedCatalog();
const rates = (region: string): EstimateFargateInput["rates"] => ({ amd64: catalog.fargate(region, "amd64")!, arm64: catalog.fargate(region, "arm64")! });
const run = (services: Record<string, unknown>, extra: Partial<EstimateFargateInput> = {}) =>
  estimateFargate({ app: makeApp(services), target: "ecs", region: "us-east-1", rates: rates("us-east-1"), spotAvailable: true, size: FARGATE_SIZE, ...extra });

// Catalog figures used below (aws_fargate_eks_rates.csv): us-east-1 x86 $0.04048/vCPU-h and $0.004445/GB-h;
// ARM $0.03238 and $0.00356; Fargate Spot derived at 50% of those (no us-east-1 snapshot);
// ephemeral storage above 20 GB $0.000111/GB-h.
describe("estimateFargate: hand-checked", () => {
  const cases: { name: string; services: Record<string, unknown>; hourly: number; onDemand?: number; extra?: Partial<EstimateFargateInput> }[] = [
    {
      // The example: 2 × (0.04048 + 2 × 0.004445) = 0.09874.
      name: "2 replicas of 1 vCPU / 2 GB, x86 us-east-1",
      services: { api: svc(1, "2Gi", { replicas: 2 }) },
      hourly: 2 * (0.04048 + 2 * 0.004445),
    },
    {
      // 300m / 600Mi is billed as 0.5 vCPU / 1 GB: 0.5 × 0.04048 + 1 × 0.004445 = 0.024685.
      name: "quantised to the next valid size",
      services: { api: svc("300m", "600Mi") },
      hourly: 0.5 * 0.04048 + 1 * 0.004445,
    },
    {
      // 1 vCPU needs at least 2 GB: 1 vCPU / 512Mi is billed as 1 vCPU / 2 GB.
      name: "memory raised to the CPU tier's minimum",
      services: { api: svc(1, "512Mi") },
      hourly: 0.04048 + 2 * 0.004445,
    },
    {
      // ARM: 0.03238 + 2 × 0.00356 = 0.0395.
      name: "arm64 at Graviton rates",
      services: { api: svc(1, "2Gi", { placement: { arch: "arm64" } }) },
      hourly: 0.03238 + 2 * 0.00356,
    },
    {
      // 3 × 0.5 vCPU / 1 GB, spot preferred, 1 on-demand: 1 × 0.024685 + 2 × (0.5 × 0.02024 + 1 × 0.0022225) = 0.04937.
      name: "spot mix: minOnDemand at on-demand rates, the rest on Fargate Spot",
      services: { worker: svc(0.5, "1Gi", { replicas: 3, placement: { spot: "prefer", minOnDemand: 1 } }) },
      hourly: 0.024685 + 2 * (0.5 * 0.02024 + 0.0022225),
      onDemand: 3 * 0.024685,
    },
    {
      name: "spot not offered by the target: all on-demand",
      services: { worker: svc(0.5, "1Gi", { replicas: 3, placement: { spot: "prefer" } }) },
      hourly: 3 * 0.024685,
      extra: { spotAvailable: false },
    },
    {
      name: "policy forbids spot: all on-demand",
      services: { worker: svc(0.5, "1Gi", { replicas: 3, placement: { spot: "prefer" } }) },
      hourly: 3 * 0.024685,
      extra: { policy: { allowSpot: false } },
    },
    {
      // ⌈0.5 × 3⌉ = 2 on-demand, 1 spot.
      name: "policy minimum on-demand share raises the on-demand count",
      services: { worker: svc(0.5, "1Gi", { replicas: 3, placement: { spot: "prefer" } }) },
      hourly: 2 * 0.024685 + (0.5 * 0.02024 + 0.0022225),
      extra: { policy: { minOnDemandShare: 0.5 } },
    },
    {
      // 30 GiB ephemeral volume: 10 GB above the free 20 → 10 × 0.000111 = 0.00111 per replica.
      name: "ephemeral storage above the free 20 GB",
      services: { api: svc("250m", "512Mi", { volumes: [{ name: "scratch", path: "/scratch", size: "30Gi" }] }) },
      hourly: 0.25 * 0.04048 + 0.5 * 0.004445 + 10 * 0.000111,
    },
    {
      // eu-west-1 Fargate Spot snapshot: $0.01334053/vCPU-h (tomgregory.com); memory at the same
      // ratio, 0.004445 × 0.01334053 / 0.04048 = $0.00146489/GB-h (8 decimals in the catalog).
      name: "eu-west-1 Fargate Spot snapshot",
      services: { worker: svc(1, "2Gi", { placement: { spot: "only" } }) },
      hourly: 0.01334053 + 2 * 0.00146489,
      extra: { region: "eu-west-1", rates: rates("eu-west-1") },
    },
  ];
  it.each(cases)("$name", ({ services, hourly, onDemand, extra }) => {
    const { estimate } = run(services, extra);
    expect(estimate.hourlyUsd).toBeCloseTo(hourly, 10);
    expect(estimate.monthlyUsd).toBeCloseTo(hourly * 730, 8);
    if (onDemand !== undefined) expect(estimate.onDemandHourlyUsd).toBeCloseTo(onDemand, 10);
    expect(estimate.lines.reduce((n, l) => n + l.hourlyUsd, 0)).toBeCloseTo(estimate.hourlyUsd, 12);
  });
});

describe("estimateFargate: report", () => {
  it("itemises per service and capacity, with provenance on every line", () => {
    const { estimate, onDemandReplicas, spotReplicas } = run({ worker: svc(0.5, "1Gi", { replicas: 3, placement: { spot: "prefer", minOnDemand: 1 } }) });
    expect(estimate.capacity).toBe("fargate+spot");
    expect([onDemandReplicas, spotReplicas]).toEqual([1, 2]);
    expect(estimate.lines.map((l) => [l.service, l.item, l.quantity, l.unit])).toEqual([
      ["worker", "Fargate vCPU (on-demand)", 0.5, "vCPU"],
      ["worker", "Fargate memory (on-demand)", 1, "GB"],
      ["worker", "Fargate vCPU (spot)", 1, "vCPU"],
      ["worker", "Fargate memory (spot)", 2, "GB"],
    ]);
    expect(estimate.lines[0]!.provenance).toMatchObject({ source: expect.stringMatching(/^embedded-catalog\//), sku: "Fargate-vCPU-Hours:perCPU" });
    expect(estimate.notPriced).toEqual(expect.arrayContaining(["load balancers", "NAT gateways", "data transfer (egress)", "public IPv4 addresses", "logs and metrics"]));
    expect(estimate.assumptions.join("\n")).toMatch(/Fargate Spot rates float/);
    expect(estimate.priceAsOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(estimate.chosen).toBe(false);
  });

  it("states requested vs billed size", () => {
    const { estimate } = run({ api: svc("300m", "600Mi") });
    expect(estimate.assumptions).toContain("api: requests 0.3 vCPU / 600 MiB, billed as the Fargate size 0.5 vCPU / 1 GB");
  });

  it("prices autoscaled services at min replicas and names the max", () => {
    // min 2: 2 × 0.04937 = 0.09874/h; max 6: 6 × 0.04937 × 730 = $216.24/month.
    const { estimate } = run({ web: svc(1, "2Gi", { autoscale: { min: 2, max: 6 } }) });
    expect(estimate.hourlyUsd).toBeCloseTo(0.09874, 10);
    expect(estimate.assumptions[0]).toBe("autoscaled services priced at their minimum replicas (web 2–6); at the maximum: $216.24/month");
  });

  it("all-spot capacity is labelled fargate-spot", () => {
    expect(run({ w: svc(1, "2Gi", { placement: { spot: "only" } }) }).estimate.capacity).toBe("fargate-spot");
    expect(run({ w: svc(1, "2Gi", { placement: { arch: "arm64" } }) }).estimate.capacity).toBe("fargate (arm64)");
  });

  it("refuses a spot-only service on a target without spot", () => {
    expect(() => run({ w: svc(1, "2Gi", { placement: { spot: "only" } }) }, { spotAvailable: false })).toThrow(/spot-only .* has no spot capacity/);
  });

  it("refuses a service larger than any Fargate task", () => {
    try {
      run({ big: svc(32, "64Gi") });
      expect.unreachable();
    } catch (e) {
      expect(isSdxError(e) && [e.code, e.fault]).toEqual(["SDX_VALIDATION", "user"]);
    }
  });

  it("needs the rates of every architecture used", () => {
    expect(() => run({ a: svc(1, "2Gi", { placement: { arch: "arm64" } }) }, { region: "us-west-2", rates: { amd64: catalog.fargate("us-west-2", "amd64")! } })).toThrow(
      /no Fargate arm64 rates for us-west-2/,
    );
  });
});
