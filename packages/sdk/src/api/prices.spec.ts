import { describe, expect, it } from "vitest";
import { isSdxError } from "../errors/sdx-error.js";
import { prices, stalePricesDiagnostic, type PriceRowView, type PricingModule } from "./prices.js";

const NOW = new Date("2026-12-02T12:00:00Z");

const row = (asOf: string, source = "embedded-catalog/x", spot?: { asOf: string; source: string }): PriceRowView => ({
  item: "m6i.large", vcpus: 2, memoryGiB: 8, arch: "amd64", unit: "instance-hour", onDemandUsd: 0.096,
  provenance: { source, asOf }, ...(spot ? { spotUsd: 0.0431, spotProvenance: spot } : {}),
});

/** A stand-in for @sdx/pricing: returns the given rows, and knows two Fargate regions. */
function pricing(rows: readonly PriceRowView[]): PricingModule {
  return {
    lookupPrices: async () => ({ rows, diagnostics: [] }),
    refreshPrices: async () => { throw new Error("not used"); },
    loadEmbeddedCatalog: () => ({ fargateRegions: () => ["us-west-2", "us-east-1", "eu-central-1"] }),
  };
}

async function refusal(p: Promise<unknown>) {
  try {
    await p;
  } catch (e) {
    if (isSdxError(e)) return e;
    throw e;
  }
  throw new Error("expected a refusal");
}

describe("prices: an empty look-up is an error, not an empty table", () => {
  it("Fargate in a region without rates names the regions that have them and the refresh command", async () => {
    const e = await refusal(prices({ provider: "aws", region: "eu-central-1", instanceType: "Fargate", pricing: pricing([]), now: () => NOW }));
    expect([e.code, e.fault, e.message]).toEqual(["SDX_PRICING", "user", "no Fargate prices for eu-central-1"]);
    // The region asked for is not offered as an alternative to itself, and the list is sorted.
    expect(e.hint).toBe("The embedded catalog has Fargate rates for us-east-1, us-west-2; run `sdx prices refresh --region eu-central-1` with AWS credentials to fetch eu-central-1's.");
    expect(e.details).toEqual({ provider: "aws", region: "eu-central-1", item: "fargate", fargateRegions: ["us-east-1", "us-west-2"] });
  });

  it("any other empty result says what was asked and where", async () => {
    const aws = await refusal(prices({ provider: "AWS", region: "eu-west-3", instanceType: "m7a", pricing: pricing([]) }));
    expect(aws.message).toBe('no aws prices for "m7a" in eu-west-3');
    expect(aws.hint).toBe("Run `sdx prices refresh --region eu-west-3` with AWS credentials to fetch eu-west-3's prices, or list what the region has with `sdx prices aws eu-west-3`.");
    const gcp = await refusal(prices({ provider: "gcp", region: "us-central1", pricing: pricing([]) }));
    expect([gcp.fault, gcp.message]).toEqual(["user", "no gcp prices for any item in us-central1"]);
    expect(gcp.hint).toBe("List what the region has with `sdx prices gcp us-central1`, or update @sdx/pricing for a newer catalog.");
  });
});

describe("prices: stale embedded prices are a warning in the result", () => {
  it("adds SDX_PRICES_STALE after the look-up's own diagnostics, with the oldest date and its age", async () => {
    // 2026-04-02 → 2026-12-02 12:00 is 244.5 days: reported as 244.
    const r = await prices({ provider: "aws", region: "us-east-1", pricing: pricing([row("2026-04-02")]), now: () => NOW, env: {} });
    expect(r.diagnostics).toEqual([{
      code: "SDX_PRICES_STALE", severity: "warning", path: "",
      message: "prices for aws us-east-1 come from the embedded catalog, as old as 2026-04-02 (244 days; the limit is 90)",
      hint: "Run `sdx prices refresh --region us-east-1` with AWS credentials for current AWS prices, or update @sdx/pricing for a newer catalog.",
    }]);
  });

  it("takes the limit from SDX_PRICES_MAX_AGE_DAYS, and an explicit option over it", async () => {
    const rows = [row("2026-04-02")];
    expect((await prices({ provider: "aws", region: "us-east-1", pricing: pricing(rows), now: () => NOW, env: { SDX_PRICES_MAX_AGE_DAYS: "245" } })).diagnostics).toEqual([]);
    expect((await prices({ provider: "aws", region: "us-east-1", pricing: pricing(rows), now: () => NOW, env: { SDX_PRICES_MAX_AGE_DAYS: "244" } })).diagnostics).toHaveLength(1);
    // Not a number: the default of 90 applies.
    expect((await prices({ provider: "aws", region: "us-east-1", pricing: pricing(rows), now: () => NOW, env: { SDX_PRICES_MAX_AGE_DAYS: "soon" } })).diagnostics[0]!.message).toContain("the limit is 90");
    expect((await prices({ provider: "aws", region: "us-east-1", pricing: pricing(rows), now: () => NOW, env: { SDX_PRICES_MAX_AGE_DAYS: "1" }, maxCatalogAgeDays: 300 })).diagnostics).toEqual([]);
  });

  it("counts spot provenance, and ignores prices not from the embedded catalog", () => {
    const o = { provider: "aws", region: "us-east-1", now: NOW, maxAgeDays: 90 };
    // On-demand fetched live yesterday, spot from a 2026-01-01 snapshot (335.5 days): stale by its spot price.
    const mixed = row("2026-12-01", "aws-pricing-api", { source: "embedded-catalog/fargate-spot-derived", asOf: "2026-01-01" });
    expect(stalePricesDiagnostic([mixed], o)?.message).toBe("prices for aws us-east-1 come from the embedded catalog, as old as 2026-01-01 (335 days; the limit is 90)");
    expect(stalePricesDiagnostic([row("2025-01-01", "aws-pricing-api")], o)).toBeUndefined();
    // 2026-09-03 is 90.5 days old: over 90.
    expect(stalePricesDiagnostic([row("2026-09-04")], o)).toBeUndefined();
    expect(stalePricesDiagnostic([row("2026-09-03")], o)?.message).toContain("as old as 2026-09-03 (90 days;");
  });

  it("does not send GCP or Azure users to the AWS refresh", () => {
    const d = stalePricesDiagnostic([row("2026-05-20")], { provider: "gcp", region: "us-central1", now: NOW, maxAgeDays: 90 });
    expect(d?.hint).toBe("Update @sdx/pricing for a newer catalog (live prices are fetched for AWS only).");
  });
});
