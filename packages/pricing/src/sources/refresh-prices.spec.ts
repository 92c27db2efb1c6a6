import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isSdxError } from "@sdx/sdk";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startFakeAws, M5_LARGE_ITEM, type FakeAws } from "../__fixtures__/aws-price-server.js";
import { makeApp, svc } from "../__fixtures__/make-app.js";
import { withBackendCostModels } from "../__fixtures__/backend-cost-models.js";
import { createCostEstimator } from "../create-cost-estimator.js";
import { decodePriceListItem, ec2Arch, parseEc2Products, parseFargateProducts } from "./parse-price-list.js";
import { defaultCacheDir, type PriceCacheFile } from "./price-cache.js";
import { refreshPrices } from "./refresh-prices.js";
import { summariseSpotPrices } from "./summarise-spot-prices.js";

const credentials = { accessKeyId: "AKIDTESTONLY", secretAccessKey: "not-a-secret" };
const NOW = new Date("2026-11-21T12:00:00Z");

describe("Price List parsers", () => {
  it("decodes PriceList entries, which are JSON strings", () => {
    expect(decodePriceListItem(JSON.stringify(M5_LARGE_ITEM))?.product?.sku).toBe("6C86BEPQVG73ZGGR");
    expect(decodePriceListItem(new String(JSON.stringify(M5_LARGE_ITEM)))?.product?.sku).toBe("6C86BEPQVG73ZGGR");
    expect(decodePriceListItem("{not json")).toBeUndefined();
  });

  it("reads the api-shapes.md m5.large item: on-demand only, prices and memory from strings", () => {
    expect(parseEc2Products([JSON.stringify(M5_LARGE_ITEM)])).toEqual([
      { instanceType: "m5.large", vcpus: 2, memoryGiB: 8, arch: "amd64", region: "us-east-1", onDemandUsd: 0.096, sku: "6C86BEPQVG73ZGGR", asOf: "2021-02-05T20:45:00Z" },
    ]);
  });

  it("derives the architecture from the processor or family, not processorArchitecture", () => {
    expect(ec2Arch("m7g.large", "AWS Graviton3 Processor")).toBe("arm64");
    expect(ec2Arch("c7gn.xlarge")).toBe("arm64");
    expect(ec2Arch("a1.medium")).toBe("arm64");
    expect(ec2Arch("t4g.micro")).toBe("arm64");
    expect(ec2Arch("m6i.large", "Intel Xeon 8375C (Ice Lake)")).toBe("amd64");
    expect(ec2Arch("g5.xlarge")).toBe("amd64");
  });

  it("matches Fargate usage types by suffix behind a region prefix only", () => {
    const item = (usagetype: string, usd: string) => JSON.stringify({
      product: { sku: usagetype, attributes: { usagetype, regionCode: "eu-west-1" } },
      terms: { OnDemand: { t: { priceDimensions: { d: { unit: "hours", pricePerUnit: { USD: usd } } } } } },
    });
    expect(parseFargateProducts([
      item("EU-Fargate-vCPU-Hours:perCPU", "0.0404800000"),
      item("EU-Fargate-ARM-GB-Hours", "0.0035600000"),
      item("Fargate-GB-Hours", "0.0044450000"),
      item("EU-SpotUsage-Fargate-vCPU-Hours:perCPU", "0.01334053"),
      item("EU-Fargate-Windows-vCPU-Hours:perCPU", "0.09148"),
      item("EU-Windows-SpotUsage-Fargate-vCPU-Hours:perCPU", "0.03"),
      item("EU-Fargate-EphemeralStorage-GB-Hours", "0"),
    ]).map((r) => [r.usagetype, r.arch, r.dimension, r.market, r.onDemandUsd])).toEqual([
      ["EU-Fargate-vCPU-Hours:perCPU", "amd64", "vcpu", "on-demand", 0.04048],
      ["EU-Fargate-ARM-GB-Hours", "arm64", "memory", "on-demand", 0.00356],
      ["Fargate-GB-Hours", "amd64", "memory", "on-demand", 0.004445],
      ["EU-SpotUsage-Fargate-vCPU-Hours:perCPU", "amd64", "vcpu", "spot", 0.01334053],
    ]);
  });

  it("takes the latest spot row per zone, then min and median across zones", () => {
    const s = summariseSpotPrices([
      { AvailabilityZone: "us-east-1f", InstanceType: "m5.large", ProductDescription: "Linux/UNIX", SpotPrice: "0.043700", Timestamp: "2021-02-09T01:40:10+00:00" },
      { AvailabilityZone: "us-east-1f", InstanceType: "m5.large", ProductDescription: "Linux/UNIX", SpotPrice: "0.060000", Timestamp: "2021-02-08T01:40:10+00:00" },
      { AvailabilityZone: "us-east-1a", InstanceType: "m5.large", ProductDescription: "Linux/UNIX", SpotPrice: "0.041000", Timestamp: new Date("2021-02-09T00:00:00Z") },
      { AvailabilityZone: "us-east-1b", InstanceType: "m5.large", ProductDescription: "Linux/UNIX", SpotPrice: "0.048000", Timestamp: "2021-02-09T00:00:00Z" },
      { AvailabilityZone: "us-east-1c", InstanceType: "m5.large", ProductDescription: "Linux/UNIX", SpotPrice: "0.039000", Timestamp: "2021-02-09T00:00:00Z" },
    ]);
    // Latest per AZ: f 0.0437, a 0.041, b 0.048, c 0.039 → min 0.039, median (0.041 + 0.0437) / 2.
    expect(s.get("m5.large")).toEqual({
      instanceType: "m5.large", minUsd: 0.039, medianUsd: (0.041 + 0.0437) / 2, azCount: 4, asOf: "2021-02-09T01:40:10.000Z",
      zones: [
        { az: "us-east-1a", usd: 0.041, at: "2021-02-09T00:00:00.000Z" },
        { az: "us-east-1b", usd: 0.048, at: "2021-02-09T00:00:00.000Z" },
        { az: "us-east-1c", usd: 0.039, at: "2021-02-09T00:00:00.000Z" },
        { az: "us-east-1f", usd: 0.0437, at: "2021-02-09T01:40:10.000Z" },
      ],
    });
  });
});

describe("refreshPrices against a local endpoint", () => {
  let aws: FakeAws;
  let dir: string;
  beforeAll(async () => {
    aws = await startFakeAws();
  });
  afterAll(() => aws.close());
  afterEach(() => {
    aws.requests.length = 0;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("pages through GetProducts and DescribeSpotPriceHistory and writes a dated cache file", async () => {
    dir = mkdtempSync(join(tmpdir(), "sdx-refresh-"));
    const events: string[] = [];
    const r = await refreshPrices({ regions: ["us-east-1"], cacheDir: dir, endpoint: aws.endpoint, credentials, now: () => NOW, onEvent: (e) => events.push(e.kind) });
    expect(r).toEqual({
      files: [{ region: "us-east-1", path: join(dir, "prices-us-east-1.json"), ec2: 3, spot: 2, fargate: true, fargateSpot: false }],
      fetchedAt: "2026-11-21T12:00:00.000Z",
      expiresAt: "2026-11-22T12:00:00.000Z",
    });
    expect(events.at(-1)).toBe("written");

    const file = JSON.parse(readFileSync(join(dir, "prices-us-east-1.json"), "utf8")) as PriceCacheFile;
    expect(file.ec2).toEqual([
      { instanceType: "c6i.large", vcpus: 2, memoryGiB: 4, arch: "amd64", onDemandUsd: 0.085, sku: "ZERODIMSKU" },
      // Spot: latest per AZ a 0.0437, b 0.041, f 0.0455 → min 0.041, median 0.0437.
      {
        instanceType: "m5.large", vcpus: 2, memoryGiB: 8, arch: "amd64", onDemandUsd: 0.096, sku: "6C86BEPQVG73ZGGR", spotMinUsd: 0.041, spotMedianUsd: 0.0437, spotAzCount: 3,
        spotZones: [
          { az: "us-east-1a", usd: 0.0437, at: "2021-02-09T01:40:10.000Z" },
          { az: "us-east-1b", usd: 0.041, at: "2021-02-09T03:00:00.000Z" },
          { az: "us-east-1f", usd: 0.0455, at: "2021-02-09T01:40:10.000Z" },
        ],
      },
      {
        instanceType: "m7g.large", vcpus: 2, memoryGiB: 8, arch: "arm64", onDemandUsd: 0.0816, sku: "GRAVITON3SKU", spotMinUsd: 0.0398, spotMedianUsd: 0.0398, spotAzCount: 1,
        spotZones: [{ az: "us-east-1a", usd: 0.0398, at: "2021-02-09T02:00:00.000Z" }],
      },
    ]);
    expect(file.fargate).toEqual([
      { arch: "amd64", dimension: "vcpu", onDemandUsd: 0.04048, usagetype: "USE1-Fargate-vCPU-Hours:perCPU", sku: "F1", spotUsd: 0.012144, spotUsagetype: "USE1-SpotUsage-Fargate-vCPU-Hours:perCPU" },
      { arch: "amd64", dimension: "memory", onDemandUsd: 0.004445, usagetype: "USE1-Fargate-GB-Hours", sku: "F2" },
      { arch: "arm64", dimension: "vcpu", onDemandUsd: 0.03238, usagetype: "USE1-Fargate-ARM-vCPU-Hours:perCPU", sku: "F3" },
      { arch: "arm64", dimension: "memory", onDemandUsd: 0.00356, usagetype: "USE1-Fargate-ARM-GB-Hours", sku: "F4" },
      { dimension: "ephemeral-storage", onDemandUsd: 0.000111, usagetype: "USE1-Fargate-EphemeralStorage-GB-Hours", sku: "F5" },
    ]);

    // What went over the wire: the Pricing API signed for us-east-1, EC2 for the region; filters; pagination.
    const ec2Calls = aws.requests.filter((q) => q.api === "GetProducts:AmazonEC2");
    expect(ec2Calls.map((q) => q.body.NextToken)).toEqual([undefined, "1"]);
    expect(ec2Calls[0]!.body).toMatchObject({
      ServiceCode: "AmazonEC2", FormatVersion: "aws_v1",
      Filters: expect.arrayContaining([
        { Type: "TERM_MATCH", Field: "regionCode", Value: "us-east-1" },
        { Type: "TERM_MATCH", Field: "operatingSystem", Value: "Linux" },
        { Type: "TERM_MATCH", Field: "tenancy", Value: "Shared" },
        { Type: "TERM_MATCH", Field: "capacitystatus", Value: "Used" },
        { Type: "TERM_MATCH", Field: "preInstalledSw", Value: "NA" },
      ]),
    });
    expect(ec2Calls[0]!.authorization).toMatch(/\/us-east-1\/pricing\/aws4_request/);
    const spotCalls = aws.requests.filter((q) => q.api === "DescribeSpotPriceHistory");
    expect(spotCalls.map((q) => q.body.NextToken)).toEqual([undefined, "1"]);
    // Linux/UNIX over the last 3 hours (the default window) up to now.
    expect(spotCalls[0]!.body).toMatchObject({ "ProductDescription.1": "Linux/UNIX", StartTime: "2026-11-21T09:00:00Z", EndTime: "2026-11-21T12:00:00Z" });
    expect(spotCalls[0]!.authorization).toMatch(/\/us-east-1\/ec2\/aws4_request/);
  });

  it("feeds the estimator: the cache wins over the embedded catalog while fresh", async () => {
    dir = mkdtempSync(join(tmpdir(), "sdx-refresh-"));
    await refreshPrices({ regions: ["us-east-1"], cacheDir: dir, endpoint: aws.endpoint, credentials, now: () => NOW });
    const app = makeApp({ w: svc(1, "2Gi", { replicas: 3, placement: { spot: "prefer", minOnDemand: 1 } }) }, {
      k: { kind: "kubernetes", pricing: { provider: "aws", region: "us-east-1", nodeTypes: ["m5.large"], spot: true } },
    });
    const r = await withBackendCostModels(createCostEstimator({ cacheDir: dir, now: () => NOW })).estimate(app, {});
    // 1 on-demand m5.large at $0.096 + 2 spot at the median $0.0437, both from the live source.
    expect(r.estimates[0]!.hourlyUsd).toBeCloseTo(0.096 + 2 * 0.0437, 12);
    expect(r.estimates[0]!.lines.map((l) => l.provenance)).toEqual([
      { source: "aws-pricing-api", asOf: "2026-11-21", sku: "6C86BEPQVG73ZGGR" },
      { source: "aws-spot-history", asOf: "2026-11-21", sku: "m5.large" },
    ]);
    expect(r.diagnostics).toEqual([]);
  });

  it("takes Fargate Spot from the Price List where published, and each line names its source", async () => {
    dir = mkdtempSync(join(tmpdir(), "sdx-refresh-"));
    const r = await refreshPrices({ regions: ["sa-east-1"], cacheDir: dir, endpoint: aws.endpoint, credentials, now: () => NOW });
    expect(r.files[0]).toMatchObject({ region: "sa-east-1", ec2: 0, spot: 0, fargate: true, fargateSpot: true });
    const app = makeApp({ w: svc(1, "2Gi", { replicas: 2, placement: { spot: "prefer", minOnDemand: 1 } }) }, {
      e: { kind: "ecs", region: "sa-east-1", cluster: "c" },
    });
    const est = await withBackendCostModels(createCostEstimator({ cacheDir: dir, now: () => NOW })).estimate(app, {});
    const lines = est.estimates[0]!.lines.filter((l) => l.item.startsWith("Fargate"));
    // 1 on-demand task 1 vCPU / 2 GB at 0.0696 + 2 × 0.0076, 1 Fargate Spot task at 0.02337032 + 2 × 0.00255193 (recorded SAE1 rates).
    expect(lines.map((l) => [l.item, l.unitPriceUsd, l.provenance.source, l.provenance.sku])).toEqual([
      ["Fargate vCPU (on-demand)", 0.0696, "aws-pricing-api", "SAE1-Fargate-vCPU-Hours:perCPU"],
      ["Fargate memory (on-demand)", 0.0076, "aws-pricing-api", "SAE1-Fargate-GB-Hours"],
      ["Fargate vCPU (spot)", 0.02337032, "aws-pricing-api", "SAE1-SpotUsage-Fargate-vCPU-Hours:perCPU"],
      ["Fargate memory (spot)", 0.00255193, "aws-pricing-api", "SAE1-SpotUsage-Fargate-GB-Hours"],
    ]);
    expect(est.estimates[0]!.hourlyUsd).toBeCloseTo(0.0696 + 2 * 0.0076 + 0.02337032 + 2 * 0.00255193, 10);
  });

  it("maps AWS errors by type and status", async () => {
    dir = mkdtempSync(join(tmpdir(), "sdx-refresh-"));
    aws.failNext = { type: "AccessDeniedException", status: 400 };
    try {
      await refreshPrices({ regions: ["us-east-1"], cacheDir: dir, endpoint: aws.endpoint, credentials, now: () => NOW });
      expect.unreachable();
    } catch (e) {
      expect(isSdxError(e) && [e.code, e.fault]).toEqual(["SDX_BACKEND_FORBIDDEN", "user"]);
      expect(isSdxError(e) && e.hint).toMatch(/pricing:GetProducts/);
    }
  });

  it("stops when aborted", async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(refreshPrices({ regions: ["us-east-1"], cacheDir: "/nonexistent", endpoint: aws.endpoint, credentials, signal: ac.signal })).rejects.toMatchObject({ code: "SDX_ABORTED" });
  });
});

describe("defaultCacheDir", () => {
  it("follows each platform's convention", () => {
    expect(defaultCacheDir({}, "linux", "/home/u")).toBe("/home/u/.cache/sdx");
    expect(defaultCacheDir({ XDG_CACHE_HOME: "/x" }, "linux", "/home/u")).toBe("/x/sdx");
    expect(defaultCacheDir({}, "darwin", "/Users/u")).toBe("/Users/u/Library/Caches/sdx");
    expect(defaultCacheDir({ SDX_CACHE_DIR: "/c" }, "linux", "/home/u")).toBe("/c");
  });
});
