import { describe, expect, it } from "vitest";
import { formatPrices, formatPricesRefresh } from "./format-prices.js";

describe("formatPrices", () => {
  it("keeps the price list's precision and marks what is missing with -", () => {
    const text = formatPrices([
      { item: "m6i.large", vcpus: 2, memoryGiB: 8, arch: "amd64", unit: "instance-hour", onDemandUsd: 0.096, spotUsd: 0.0431, spotMinUsd: 0.0385, provenance: { source: "embedded-catalog/a", asOf: "2026-04-02" } },
      { item: "Fargate memory", arch: "amd64", unit: "GB-hour", onDemandUsd: 0.004445, provenance: { source: "embedded-catalog/b", asOf: "2026-01-01" } },
    ]);
    expect(text.split("\n")).toEqual([
      "ITEM            VCPU  MEM GIB  ARCH   ON-DEMAND  SPOT (MEDIAN)  SPOT (MIN)  PER            SOURCE              AS OF",
      "m6i.large          2        8  amd64     $0.096        $0.0431     $0.0385  instance-hour  embedded-catalog/a  2026-04-02",
      "Fargate memory     -        -  amd64  $0.004445              -           -  GB-hour        embedded-catalog/b  2026-01-01",
    ]);
  });

  it("summarises a refresh with where the cache is and until when it is used", () => {
    expect(formatPricesRefresh({ files: [{ region: "us-east-1", path: "/c/prices-us-east-1.json", ec2: 700, spot: 650, fargate: true, fargateSpot: false }], fetchedAt: "2026-12-01T00:00:00Z", expiresAt: "2026-12-08T00:00:00Z" })).toBe(
      "REGION     EC2 TYPES  SPOT  FARGATE  FARGATE SPOT  CACHE FILE\nus-east-1  700        650   yes      catalog       /c/prices-us-east-1.json\nFetched 2026-12-01T00:00:00Z; used until 2026-12-08T00:00:00Z, then the embedded catalog again.",
    );
  });
});
