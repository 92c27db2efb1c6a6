import { describe, expect, it } from "vitest";
import { SERVICE_RATES, serviceRate } from "./service-rates.js";

describe("serviceRate", () => {
  it("gives each region its own published figure", () => {
    // aws.amazon.com/ebs/pricing: gp3 $0.08/GB-month in N. Virginia, $0.088 in Ireland, $0.0952 in Frankfurt.
    const at = (region: string) => serviceRate({ provider: "aws", id: "block-storage", region });
    expect(at("us-east-1")).toMatchObject({ kind: "rate", usd: 0.08 });
    expect(at("eu-west-1")).toMatchObject({ kind: "rate", usd: 0.088 });
    expect(at("eu-central-1")).toMatchObject({ kind: "rate", usd: 0.0952 });
    expect(at("us-east-1")).toMatchObject({
      provenance: { source: "https://aws.amazon.com/ebs/pricing/", asOf: "2025-06-01", sku: "EBS gp3 storage us-east-1" },
    });
  });

  it("never reuses another region's price: a region without a figure is missing, with the regions that have one", () => {
    expect(serviceRate({ provider: "aws", id: "lb-application", region: "ap-south-1" })).toEqual({
      kind: "missing",
      reason: "no Application Load Balancer rate for ap-south-1 in the rate table, which has us-east-1, us-east-2, us-west-2, eu-west-1",
    });
    expect(serviceRate({ provider: "aws", id: "lb-application", region: "eu-central-1" }).kind).toBe("missing");
  });

  it("applies a price the provider publishes for every region everywhere, and says so in the sku", () => {
    // aws.amazon.com/vpc/pricing: $0.005 per public IPv4 address-hour, all regions.
    expect(serviceRate({ provider: "aws", id: "public-ipv4", region: "ap-south-1" })).toMatchObject({ kind: "rate", usd: 0.005, provenance: { sku: "public IPv4 address (every region)" } });
  });

  it("names the reason when a provider's billing does not fit a per-GiB rate", () => {
    expect(serviceRate({ provider: "azure", id: "block-storage", region: "eastus" })).toEqual({ kind: "missing", reason: expect.stringMatching(/billed by size tier/) });
    expect(serviceRate({ provider: "gcp", id: "file-storage", region: "us-central1" })).toEqual({ kind: "missing", reason: expect.stringMatching(/Filestore/) });
    expect(serviceRate({ provider: "gcp", id: "lb-application", region: "us-central1" })).toEqual({ kind: "missing", reason: "no gcp rate for it in the rate table" });
  });

  it("finds a control plane by flavour", () => {
    expect(serviceRate({ provider: "aws", id: "control-plane", flavour: "eks", region: "eu-north-1" })).toMatchObject({ kind: "rate", usd: 0.1 });
    expect(serviceRate({ provider: "aws", id: "control-plane", flavour: "gke", region: "us-east-1" }).kind).toBe("missing");
  });

  it("every rate cites a public pricing page, a date, and a positive price", () => {
    for (const r of SERVICE_RATES) {
      expect(r.source, `${r.provider} ${r.id}`).toMatch(/^https:\/\/(aws\.amazon\.com|cloud\.google\.com|azure\.microsoft\.com)\//);
      expect(r.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      for (const usd of Object.values(r.usd)) expect(usd).toBeGreaterThan(0);
    }
    // One row per (provider, id, flavour): a lookup is never ambiguous.
    const keys = SERVICE_RATES.map((r) => `${r.provider}/${r.id}/${r.flavour ?? ""}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
