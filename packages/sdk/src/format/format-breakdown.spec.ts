import { describe, expect, it } from "vitest";
import type { CostEstimate, CostLine, EstimateReport } from "../pricing/pricing-contract.js";
import { formatBreakdown, formatBreakdowns, widthFromEnv } from "./format-breakdown.js";
import { formatEstimates } from "./format-plan.js";

const line = (item: string, quantity: number, unit: string, unitPriceUsd: number, source: string, service?: string, hourlyUsd = quantity * unitPriceUsd): CostLine => ({
  ...(service ? { service } : {}), item, quantity, unit, unitPriceUsd, hourlyUsd, provenance: { source, asOf: "2026-01-01" },
});

// Hand-computed, list price × quantity × 730 h:
//   web  Fargate vCPU      2 × $0.04048/h × 730 = $59.1008
//   web  public IPv4       1 × $0.005/h   × 730 = $3.65
//   api  Fargate memory    4 × $0.004445/h × 730 = $12.9794
//   —    2 ALBs            2 × $0.0225/h  × 730 = $32.85
//   —    EBS gp3 20 GiB   20 × $0.08/GiB-month = $1.60 (a monthly unit price: no /h)
// Services: web $62.7508, shared $34.45, api $12.9794; total $110.1802.
// Bars (24 eighth-blocks wide for web): shared 34.45/62.7508 × 192 = 105.4 → 105/8 = 13 █ and ▏;
// api 12.9794/62.7508 × 192 = 39.7 → 40/8 = 5 █.
const lines: CostLine[] = [
  line("EBS gp3 volume", 20, "GiB-month", 0.08, "aws-price-list/AmazonEC2", undefined, 1.6 / 730),
  line("Fargate memory (on-demand)", 4, "GB", 0.004445, "embedded-catalog/aws_fargate_eks_rates.csv#3", "api"),
  line("Public IPv4 address", 1, "address", 0.005, "aws-price-list/AmazonVPC", "web"),
  line("Application load balancer", 2, "load balancer", 0.0225, "aws-price-list/AWSELB"),
  line("Fargate vCPU (on-demand)", 2, "vCPU", 0.04048, "embedded-catalog/aws_fargate_eks_rates.csv#2", "web"),
];
const hourly = lines.reduce((n, l) => n + l.hourlyUsd, 0);
const estimate: CostEstimate = {
  target: "ecs", backend: "ecs", provider: "aws", region: "us-east-1", capacity: "fargate",
  hourlyUsd: hourly, monthlyUsd: hourly * 730, onDemandHourlyUsd: hourly, lines, assumptions: [],
  notPriced: ["NAT gateways", "data transfer (egress)"], priceAsOf: "2026-01-01", chosen: true,
};

describe("formatBreakdown", () => {
  it("prints services with shares and bars, then every line biggest first, then what is not priced", () => {
    expect(formatBreakdown(estimate)).toBe([
      "Cost breakdown of ecs: $110.18/month (fargate, aws us-east-1)",
      "  SERVICE   $/MONTH  SHARE",
      "  web        $62.75    57%  ████████████████████████",
      "  (shared)   $34.45    31%  █████████████▏",
      "  api        $12.98    12%  █████",
      "",
      "  SERVICE   ITEM                        QUANTITY × UNIT PRICE        $/MONTH  AS OF       SOURCE",
      "  web       Fargate vCPU (on-demand)    2 vCPU × $0.04048/h           $59.10  2026-01-01  embedded-catalog/aws_fargate_eks_rates.csv#2",
      "  (shared)  Application load balancer   2 load balancer × $0.0225/h   $32.85  2026-01-01  aws-price-list/AWSELB",
      "  api       Fargate memory (on-demand)  4 GB × $0.004445/h            $12.98  2026-01-01  embedded-catalog/aws_fargate_eks_rates.csv#3",
      "  web       Public IPv4 address         1 address × $0.005/h           $3.65  2026-01-01  aws-price-list/AmazonVPC",
      "  (shared)  EBS gp3 volume              20 GiB-month × $0.08           $1.60  2026-01-01  aws-price-list/AmazonEC2",
      "  Not priced on ecs: NAT gateways, data transfer (egress).",
    ].join("\n"));
  });

  it("keeps every line within the width: items and sources elided, date and source moved under each row", () => {
    const text = formatBreakdown(estimate, { width: 64 });
    for (const l of text.split("\n")) expect(l.length, l).toBeLessThanOrEqual(64);
    // Full table: 134 characters. Without AS OF and SOURCE: 76; the item gives up the 12 over (26 → 14).
    expect(text.split("\n").slice(6, 10)).toEqual([
      "  SERVICE   ITEM            QUANTITY × UNIT PRICE        $/MONTH",
      "  web       Fargate vCPU…   2 vCPU × $0.04048/h           $59.10",
      "      as of 2026-01-01: embedded-catalog/aws_fargate_eks_rates.…",
      "  (shared)  Application l…  2 load balancer × $0.0225/h   $32.85",
    ]);
    // The figures survive the squeeze; the not-priced list wraps instead of being cut.
    for (const usd of ["$62.75", "$34.45", "$12.98", "$59.10", "$32.85", "$3.65", "$1.60"]) expect(text).toContain(usd);
    expect(text).toContain("data transfer (egress).");
  });

  it.each([12, 30, 45])("never prints a line longer than %i characters", (width) => {
    for (const l of formatBreakdown(estimate, { width }).split("\n")) expect([...l].length, l).toBeLessThanOrEqual(width);
  });

  it("shortens the bars to barWidth", () => {
    const rows = formatBreakdown(estimate, { barWidth: 8 }).split("\n").slice(2, 5);
    // shared 34.45/62.7508 × 64 eighths = 35.1 → 35 = 4 █ and ▍; api 12.9794/62.7508 × 64 = 13.2 → 13 = 1 █ and ▋.
    expect(rows.map((r) => r.slice(r.indexOf("%") + 3))).toEqual(["████████", "████▍", "█▋"]);
  });

  it("says when the lines do not add up to the total, and when there are none", () => {
    expect(formatBreakdown({ ...estimate, monthlyUsd: 120 })).toContain("  The lines sum to $110.18/month; the total is $120.00/month.");
    expect(formatBreakdown({ ...estimate, lines: [], notPriced: [] })).toBe("Cost breakdown of ecs: $110.18/month (fargate, aws us-east-1)\n  No cost lines.");
  });
});

describe("formatBreakdowns", () => {
  const report: EstimateReport = { estimates: [estimate], chosen: "ecs", reason: "cheapest", rejected: [{ target: "swarm", reason: "no pricing profile" }], diagnostics: [] };

  it("explains a target that has no estimate", () => {
    const text = formatBreakdowns(report, ["swarm", "local", "ecs"]);
    expect(text.split("\n\n").slice(0, 2)).toEqual(["No cost breakdown for swarm: no pricing profile.", "No cost breakdown for local: it was not priced."]);
    expect(text).toContain("Cost breakdown of ecs: $110.18/month");
  });

  it("follows the cost table in formatEstimates only when asked", () => {
    const plain = formatEstimates(report);
    expect(plain).not.toContain("Cost breakdown");
    // Without the breakdown, the marked target's own list qualifies its number.
    expect(plain).toContain("Not priced on ecs: NAT gateways, data transfer (egress).");
    const text = formatEstimates(report, undefined, {}, { breakdown: true });
    expect(text).toContain("Chosen: ecs (cheapest)\n\nCost breakdown of ecs: $110.18/month");
    expect(text.match(/Not priced on ecs/g)).toHaveLength(1);
  });
});

describe("widthFromEnv", () => {
  it.each<[string | undefined, number | undefined]>([["80", 80], [" 120 ", 120], ["0", undefined], ["-5", undefined], ["wide", undefined], ["", undefined], [undefined, undefined]])("COLUMNS=%j → %j", (raw, width) => {
    expect(widthFromEnv({ COLUMNS: raw })).toBe(width);
  });
});
