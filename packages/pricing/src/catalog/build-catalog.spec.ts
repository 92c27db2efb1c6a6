import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

const pkg = join(import.meta.dirname, "../..");
const data = process.env.SDX_PRICING_DATA ?? join(pkg, "../../../shared/pricing-data");
const formats = join(pkg, "src/__fixtures__/formats");
const fixture = (name: string): unknown => JSON.parse(readFileSync(join(formats, name), "utf8"));
const hasData = existsSync(join(data, "README.md"));

// The script is plain JavaScript run by node at release time; its readers are exported for these tests.
interface Script {
  publishedFormat(doc: unknown): string | undefined;
  readAwsPriceList(docs: unknown[]): { ec2: { instanceType: string; region: string; onDemandUsd: number; arch: string; vcpus: number; memoryGiB: number }[]; fargate: { region: string; arch?: string; dimension: string; market: string; onDemandUsd: number; usagetype: string }[]; asOf?: string };
  readGcpSkus(docs: unknown[], shapes: Map<string, [number, number]>): { prices: { type: string; region: string; onDemandUsd: number; spotUsd?: number }[]; asOf?: string };
  readAzureRetail(docs: unknown[]): { prices: { type: string; region: string; onDemandUsd: number; spotUsd?: number }[]; asOf?: string };
  FARGATE_REGIONS: readonly string[];
}
const script = (): Promise<Script> => import(pathToFileURL(join(pkg, "scripts/build-catalog.mjs")).href) as Promise<Script>;

describe("scripts/build-catalog.mjs", () => {
  it.skipIf(!hasData)("the committed catalog is what the script derives from the price tables", () => {
    const out = execFileSync(process.execPath, [join(pkg, "scripts/build-catalog.mjs"), "--check", "--from", data], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    expect(out).toMatch(/catalog-\d{4}-\d{2}-\d{2}\.json is up to date/);
  }, 30_000);

  it("recognises each published format by its shape", async () => {
    const s = await script();
    expect([
      "aws-offer-amazonec2-us-east-1.json", "aws-offer-amazonecs-ap-southeast-2.json", "aws-get-products-amazonec2-eu-west-1.json",
      "aws-get-products-amazonecs-sa-east-1.json", "gcp-billing-skus-compute-engine.json", "azure-retail-prices-eastus.json",
    ].map((f) => s.publishedFormat(fixture(f)))).toEqual(["aws-offer", "aws-offer", "aws-get-products", "aws-get-products", "gcp-skus", "azure-retail"]);
    expect(s.publishedFormat({ rows: [] })).toBeUndefined();
  });

  it("reads an AWS bulk offer file: Linux shared on-demand only, Reserved terms and licensed/dedicated/capacity-block decoys skipped", async () => {
    const r = (await script()).readAwsPriceList([fixture("aws-offer-amazonec2-us-east-1.json")]);
    expect(r.ec2.map((e) => [e.instanceType, e.region, e.onDemandUsd, e.arch, e.vcpus, e.memoryGiB])).toEqual([
      ["m5.large", "us-east-1", 0.096, "amd64", 2, 8],
      ["m7g.large", "us-east-1", 0.0816, "arm64", 2, 8],
      ["t3.medium", "us-east-1", 0.0416, "amd64", 2, 4],
    ]);
    expect(r.asOf).toBe("2026-05-15");
  });

  it("reads GetProducts pages (PriceList entries are JSON strings), EC2 and Fargate with Fargate Spot", async () => {
    const r = (await script()).readAwsPriceList([fixture("aws-get-products-amazonec2-eu-west-1.json"), fixture("aws-get-products-amazonecs-sa-east-1.json")]);
    expect(r.ec2.map((e) => [e.instanceType, e.region, e.onDemandUsd, e.arch])).toEqual([
      ["m5.large", "eu-west-1", 0.107, "amd64"],
      ["m6g.large", "eu-west-1", 0.086, "arm64"],
    ]);
    // SAE1-… usage types; the Windows vCPU rate is not taken for Linux.
    expect(r.fargate.map((f) => [f.usagetype, f.arch, f.dimension, f.market, f.onDemandUsd])).toEqual([
      ["SAE1-Fargate-vCPU-Hours:perCPU", "amd64", "vcpu", "on-demand", 0.0696],
      ["SAE1-Fargate-GB-Hours", "amd64", "memory", "on-demand", 0.0076],
      ["SAE1-Fargate-ARM-vCPU-Hours:perCPU", "arm64", "vcpu", "on-demand", 0.0557],
      ["SAE1-Fargate-ARM-GB-Hours", "arm64", "memory", "on-demand", 0.00612],
      ["SAE1-SpotUsage-Fargate-vCPU-Hours:perCPU", "amd64", "vcpu", "spot", 0.02337032],
      ["SAE1-SpotUsage-Fargate-GB-Hours", "amd64", "memory", "spot", 0.00255193],
      ["SAE1-SpotUsage-Fargate-ARM-vCPU-Hours:perCPU", "arm64", "vcpu", "spot", 0.01870297],
      ["SAE1-SpotUsage-Fargate-ARM-GB-Hours", "arm64", "memory", "spot", 0.00205498],
    ]);
  });

  it("prices GCP machine types from per-family core and RAM SKUs (vCPUs × core + GiB × RAM)", async () => {
    const shapes = new Map<string, [number, number]>([["n2-standard-4", [4, 16]], ["e2-standard-2", [2, 8]], ["e2-micro", [2, 1]], ["c3-standard-4", [4, 16]]]);
    const r = (await script()).readGcpSkus([fixture("gcp-billing-skus-compute-engine.json")], shapes);
    expect(r.prices).toEqual([
      // 2 × 0.021811 + 8 × 0.002923; no Spot SKUs for E2 in the fixture.
      { type: "e2-standard-2", region: "us-central1", onDemandUsd: 0.067006, spotUsd: undefined },
      // 4 × 0.031611 + 16 × 0.004237 = 0.194236; spot 4 × 0.010233 + 16 × 0.001371 = 0.062868.
      { type: "n2-standard-4", region: "us-central1", onDemandUsd: 0.194236, spotUsd: 0.062868 },
    ]);
    expect(r.asOf).toBe("2026-05-18");
  });

  it("reads Azure Retail Prices items: Linux pay-as-you-go and Spot per armSkuName and armRegionName", async () => {
    const r = (await script()).readAzureRetail([fixture("azure-retail-prices-eastus.json")]);
    expect(r.prices).toEqual([
      { type: "Standard_D2ps_v5", region: "eastus", onDemandUsd: 0.077 },
      { type: "Standard_D2s_v5", region: "eastus", onDemandUsd: 0.096, spotUsd: 0.020362 },
      { type: "Standard_D4s_v5", region: "eastus", onDemandUsd: 0.192, spotUsd: 0.040723 },
    ]);
  });

  it.skipIf(!hasData)("overlays a folder of published files on the tables, deterministically, with a provenance entry per provider", () => {
    const dirs = [mkdtempSync(join(tmpdir(), "sdx-catalog-")), mkdtempSync(join(tmpdir(), "sdx-catalog-"))];
    try {
      for (const out of dirs) {
        execFileSync(process.execPath, [join(pkg, "scripts/build-catalog.mjs"), "--from", data, "--published", formats, "--out", out], { stdio: "pipe" });
      }
      const read = (dir: string, f: string): string => readFileSync(join(dir, f), "utf8");
      const index = JSON.parse(read(dirs[0]!, "catalog-2026-05-20.json")) as {
        builtFrom: string; sources: { id: string; asOf: string }[];
        fargate: Record<string, Record<string, { vcpu: number[]; memory: number[] }>>;
      };
      for (const f of ["catalog-2026-05-20.json", "catalog-2026-05-20.aws.json", "catalog-2026-05-20.gcp.json", "catalog-2026-05-20.azure.json"]) {
        expect(read(dirs[1]!, f)).toBe(read(dirs[0]!, f));
      }
      expect(index.builtFrom).toBe("pricing-data CSV + published price files");
      const awsSrc = index.sources.findIndex((s) => s.id === "published:aws@2026-05-15");
      expect(awsSrc).toBeGreaterThanOrEqual(0);
      // Fargate Spot as published, with the Price List as its source, not derived.
      expect(index.fargate["sa-east-1"]!.amd64).toEqual({ vcpu: [0.0696, 0.02337032, awsSrc, awsSrc], memory: [0.0076, 0.00255193, awsSrc, awsSrc] });
      const gcp = JSON.parse(read(dirs[0]!, "catalog-2026-05-20.gcp.json")) as { types: [string][]; regions: Record<string, number[]> };
      const n2 = gcp.types.findIndex((t) => t[0] === "n2-standard-4");
      const flat = gcp.regions["us-central1"]!;
      const at = flat.findIndex((v, i) => i % 5 === 0 && v === n2);
      expect(flat.slice(at + 1, at + 4)).toEqual([0.194236, 0.062868, 0.062868]);
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  }, 60_000);

  it("knows the regions where Fargate is sold, and the embedded catalog covers only some of them", async () => {
    const { FARGATE_REGIONS } = await script();
    const index = JSON.parse(readFileSync(join(pkg, "catalog/catalog-2026-05-20.json"), "utf8")) as { fargate: Record<string, unknown> };
    expect(Object.keys(index.fargate).every((r) => FARGATE_REGIONS.includes(r))).toBe(true);
    expect(FARGATE_REGIONS).toContain("eu-central-1");
    expect(index.fargate["eu-central-1"]).toBeUndefined();
  });
});
