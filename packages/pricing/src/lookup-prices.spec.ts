import { isSdxError } from "@sdx/sdk";
import { describe, expect, it } from "vitest";
import { lookupPrices, type LookupPricesOptions } from "./lookup-prices.js";

const look = (o: Omit<LookupPricesOptions, "cacheDir">) => lookupPrices({ cacheDir: false, ...o });
async function failure(o: Omit<LookupPricesOptions, "cacheDir">) {
  try {
    await look(o);
  } catch (e) {
    if (isSdxError(e)) return e;
    throw e;
  }
  throw new Error("expected an SdxError");
}

describe("lookupPrices (sdx prices)", () => {
  it("one type: on-demand, spot median and min, shape, provenance", async () => {
    const { rows } = await look({ provider: "aws", region: "us-east-1", instanceType: "m6i.large" });
    expect(rows).toEqual([
      {
        kind: "vm", provider: "aws", region: "us-east-1", item: "m6i.large", vcpus: 2, memoryGiB: 8, arch: "amd64", unit: "instance-hour",
        onDemandUsd: 0.096, spotUsd: 0.0431, spotMinUsd: 0.0385,
        spotProvenance: { source: "embedded-catalog/anycloud-aws-2026-04-02", asOf: "2026-04-02", sku: "m6i.large" },
        provenance: { source: "embedded-catalog/anycloud-aws-2026-04-02", asOf: "2026-04-02", sku: "m6i.large" },
      },
    ]);
  });

  it("a whole region, sizes in natural order, with Fargate and the control plane", async () => {
    const { rows } = await look({ provider: "aws", region: "us-east-1" });
    const m6i = rows.filter((r) => r.item.startsWith("m6i.")).map((r) => r.item);
    expect(m6i).toEqual(["m6i.large", "m6i.xlarge", "m6i.2xlarge", "m6i.4xlarge"]);
    expect(rows.filter((r) => r.kind === "fargate").map((r) => [r.item, r.arch ?? "", r.onDemandUsd])).toEqual([
      ["Fargate vCPU", "amd64", 0.04048],
      ["Fargate memory", "amd64", 0.004445],
      ["Fargate vCPU", "arm64", 0.03238],
      ["Fargate memory", "arm64", 0.00356],
      ["Fargate ephemeral storage over 20 GB", "", 0.000111],
    ]);
    expect(rows.at(-1)).toMatchObject({ kind: "control-plane", item: "EKS control plane", onDemandUsd: 0.1, unit: "cluster-hour" });
  });

  it("a family prefix, and fargate alone", async () => {
    expect((await look({ provider: "gcp", region: "us-central1", instanceType: "e2-standard" })).rows.map((r) => r.item)).toEqual(
      expect.arrayContaining(["e2-standard-2", "e2-standard-4"]),
    );
    expect((await look({ provider: "aws", region: "us-east-1", instanceType: "fargate" })).rows.every((r) => r.kind === "fargate")).toBe(true);
  });

  it("unknown provider → did-you-mean", async () => {
    const e = await failure({ provider: "awz", region: "us-east-1" });
    expect([e.code, e.fault, e.message]).toEqual(["SDX_PRICING", "user", 'unknown provider "awz"']);
    expect(e.details?.suggestions).toEqual(["aws"]);
  });

  it("unknown region → did-you-mean", async () => {
    const e = await failure({ provider: "aws", region: "us-est-1" });
    expect(e.message).toBe('unknown aws region "us-est-1"');
    expect(e.details?.suggestions).toEqual(expect.arrayContaining(["us-east-1"]));
    expect(e.hint).toMatch(/^Did you mean us-east-1/);
  });

  it("unknown instance type → did-you-mean", async () => {
    const e = await failure({ provider: "azure", region: "eastus", instanceType: "Standard_D2s_v9" });
    expect(e.message).toBe('unknown azure instance type "Standard_D2s_v9" in eastus');
    expect(e.details?.suggestions).toEqual(expect.arrayContaining(["Standard_D2s_v5"]));
  });

  it("a type that exists elsewhere says where", async () => {
    const e = await failure({ provider: "aws", region: "eu-west-3", instanceType: "m7a.large" });
    expect(e.message).toBe("aws m7a.large has no price in eu-west-3");
    expect(e.hint).toMatch(/It is priced in .*us-east-1/);
  });
});
