import type { PriceLookupOptions, PriceQuery, PriceQuote, PriceSource } from "@sdx/sdk";
import { readPriceCache, type PriceCacheFile, type ReadPriceCacheResult } from "./price-cache.js";

/** Options for {@link CachedPriceSource}. */
export interface CachedPriceSourceOptions {
  readonly cacheDir: string;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * AWS prices fetched earlier by `refreshPrices` (`sdx prices refresh`), read
 * from the user's cache directory. Answers only while a region's file is
 * fresh; expired and unreadable files are remembered so the estimator can say
 * why it fell back to the embedded catalog.
 */
export class CachedPriceSource implements PriceSource {
  readonly id = "aws-price-cache";
  /** Below third-party sources, above the embedded catalog. */
  readonly priority = -100;
  private readonly files = new Map<string, Promise<ReadPriceCacheResult>>();
  private readonly cacheDir: string;
  private readonly now: () => Date;

  constructor(options: CachedPriceSourceOptions) {
    this.cacheDir = options.cacheDir;
    this.now = options.now ?? (() => new Date());
  }

  async lookup(query: PriceQuery, _options?: PriceLookupOptions): Promise<PriceQuote | undefined> {
    if (query.kind === "control-plane" || (query.kind === "vm" && query.provider !== "aws")) return undefined;
    const read = await this.read(query.region);
    if (read.kind !== "fresh") return undefined;
    const file = read.file;
    const asOf = file.fetchedAt.slice(0, 10);
    if (query.kind === "vm") {
      const e = file.ec2.find((x) => x.instanceType === query.instanceType);
      if (!e) return undefined;
      return {
        unit: "instance-hour",
        onDemandUsd: e.onDemandUsd,
        provenance: { source: "aws-pricing-api", asOf, sku: e.sku || e.instanceType },
        ...(e.spotMedianUsd === undefined ? {} : { spotUsd: e.spotMedianUsd, spotProvenance: { source: "aws-spot-history", asOf, sku: e.instanceType } }),
        vm: { vcpus: e.vcpus, memoryGiB: e.memoryGiB, arch: e.arch },
      };
    }
    const f = file.fargate.find((x) => x.dimension === query.dimension && (x.dimension === "ephemeral-storage" || x.arch === query.arch));
    if (!f) return undefined;
    // Storage bills the same on Fargate Spot. Where the Price List published no Fargate Spot
    // rate, the resolver takes spot from the next source (the catalog), with that source's provenance.
    const spot = query.dimension === "ephemeral-storage"
      ? { spotUsd: f.onDemandUsd }
      : f.spotUsd !== undefined
        ? { spotUsd: f.spotUsd, spotProvenance: { source: "aws-pricing-api", asOf, sku: f.spotUsagetype ?? `${f.usagetype} (spot)` } }
        : {};
    return {
      unit: query.dimension === "vcpu" ? "vCPU-hour" : "GB-hour",
      onDemandUsd: f.onDemandUsd,
      ...spot,
      provenance: { source: "aws-pricing-api", asOf, sku: f.usagetype },
    };
  }

  /** Regions whose cache file exists but has expired or cannot be read, as seen so far. */
  async unusable(): Promise<{ region: string; kind: "expired" | "invalid"; file?: PriceCacheFile; reason?: string }[]> {
    const out: { region: string; kind: "expired" | "invalid"; file?: PriceCacheFile; reason?: string }[] = [];
    for (const [region, p] of this.files) {
      const r = await p;
      if (r.kind === "expired") out.push({ region, kind: "expired", file: r.file });
      else if (r.kind === "invalid") out.push({ region, kind: "invalid", reason: r.reason });
    }
    return out;
  }

  private read(region: string): Promise<ReadPriceCacheResult> {
    let p = this.files.get(region);
    if (!p) {
      p = readPriceCache(this.cacheDir, region, this.now());
      this.files.set(region, p);
    }
    return p;
  }
}
