import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeSpotPriceHistoryCommand, EC2Client } from "@aws-sdk/client-ec2";
import { requireTestenv } from "@sdx/sdk/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAws, type FakeAws } from "../src/__fixtures__/aws-price-server.js";
import { makeApp, svc } from "../src/__fixtures__/make-app.js";
import { withBackendCostModels } from "../src/__fixtures__/backend-cost-models.js";
import { createCostEstimator } from "../src/create-cost-estimator.js";
import type { PriceCacheFile } from "../src/sources/price-cache.js";
import { refreshPrices } from "../src/sources/refresh-prices.js";

// EC2 DescribeSpotPriceHistory from the project's moto server (scripts/testenv/ecs.sh), the real
// EC2 query protocol end to end; moto has no Price List API, so GetProducts comes from the local
// endpoint that serves recorded-format pages. moto answers one row per zone offering the type,
// every price "0.00001", ProductDescription "Linux/UNIX (Amazon VPC)", one page.
const te = requireTestenv("ecs");
const NOW = new Date("2026-11-21T12:00:00Z");

describe.skipIf(!te.env)("sdx prices refresh: spot history per AZ from moto", () => {
  const env = te.env ?? {};
  const credentials = { accessKeyId: env.SDX_ECS_ACCESS_KEY_ID ?? "testing", secretAccessKey: env.SDX_ECS_SECRET_ACCESS_KEY ?? "testing" };
  let pricing: FakeAws;
  let dir: string;
  beforeAll(async () => {
    pricing = await startFakeAws();
    dir = mkdtempSync(join(tmpdir(), "sdx-refresh-spot-"));
  });
  afterAll(async () => {
    await pricing?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("keeps each zone's latest price, then min and median, and the estimator prices spot nodes from it", async () => {
    const r = await refreshPrices({
      regions: ["us-east-1", "eu-west-1"], instanceTypes: ["m5.large"], cacheDir: dir, credentials, now: () => NOW,
      endpoints: { ec2: env.SDX_ECS_ENDPOINT!, pricing: pricing.endpoint },
    });
    // What moto itself says, asked directly: the zones offering m5.large in us-east-1.
    const ec2 = new EC2Client({ region: "us-east-1", endpoint: env.SDX_ECS_ENDPOINT!, credentials });
    const raw = await ec2.send(new DescribeSpotPriceHistoryCommand({ InstanceTypes: ["m5.large"], ProductDescriptions: ["Linux/UNIX"] }));
    ec2.destroy();
    const zones = [...new Set((raw.SpotPriceHistory ?? []).map((x) => x.AvailabilityZone!))].sort();
    expect(zones.length).toBeGreaterThan(1);

    expect(r.files.map((f) => [f.region, f.ec2, f.spot])).toEqual([["us-east-1", 1, 1], ["eu-west-1", 0, 0]]);
    const east = JSON.parse(readFileSync(join(dir, "prices-us-east-1.json"), "utf8")) as PriceCacheFile;
    const m5 = east.ec2.find((e) => e.instanceType === "m5.large")!;
    expect(m5).toMatchObject({ onDemandUsd: 0.096, spotMinUsd: 0.00001, spotMedianUsd: 0.00001, spotAzCount: zones.length });
    expect(m5.spotZones!.map((z) => z.az)).toEqual(zones);
    expect(m5.spotZones!.every((z) => z.usd === 0.00001 && z.at === "2006-01-02T15:04:05.000Z")).toBe(true);

    // The estimator: one on-demand m5.large at $0.096 (Price List) + one spot at the zone median $0.00001 (moto's history).
    const app = makeApp({ w: svc(1, "2Gi", { replicas: 2, placement: { spot: "prefer", minOnDemand: 1 } }) }, {
      k: { kind: "kubernetes", pricing: { provider: "aws", region: "us-east-1", nodeTypes: ["m5.large"], spot: true } },
    });
    const est = await withBackendCostModels(createCostEstimator({ cacheDir: dir, now: () => NOW })).estimate(app, {});
    const nodes = est.estimates[0]!.lines.filter((l) => l.item.startsWith("m5.large"));
    expect(nodes.map((l) => [l.quantity, l.unitPriceUsd, l.provenance.source])).toEqual([
      [1, 0.096, "aws-pricing-api"],
      [1, 0.00001, "aws-spot-history"],
    ]);
  });

  it("reads eu-west-1's three zones from moto", async () => {
    const ec2 = new EC2Client({ region: "eu-west-1", endpoint: env.SDX_ECS_ENDPOINT!, credentials });
    try {
      const { summariseSpotPrices } = await import("../src/sources/summarise-spot-prices.js");
      const raw = await ec2.send(new DescribeSpotPriceHistoryCommand({ InstanceTypes: ["m5.large"], ProductDescriptions: ["Linux/UNIX"], StartTime: new Date(NOW.getTime() - 3 * 3_600_000), EndTime: NOW }));
      const s = summariseSpotPrices(raw.SpotPriceHistory ?? []).get("m5.large");
      expect(s?.zones.map((z) => z.az)).toEqual(["eu-west-1a", "eu-west-1b", "eu-west-1c"]);
      expect([s?.minUsd, s?.medianUsd, s?.azCount]).toEqual([0.00001, 0.00001, 3]);
    } finally {
      ec2.destroy();
    }
  });
});
