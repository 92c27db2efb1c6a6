import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Arch } from "../catalog/price-catalog.js";

/** One EC2 type in a price cache file. */
export interface CachedEc2Price {
  readonly instanceType: string;
  readonly vcpus: number;
  readonly memoryGiB: number;
  readonly arch: Arch;
  readonly onDemandUsd: number;
  /** Price List SKU of the on-demand product. */
  readonly sku: string;
  /** Absent when DescribeSpotPriceHistory returned nothing for the type. */
  readonly spotMinUsd?: number;
  readonly spotMedianUsd?: number;
  readonly spotAzCount?: number;
  /** Each zone's current spot price (zone name, USD, when it took effect), from which min and median come. */
  readonly spotZones?: readonly { readonly az: string; readonly usd: number; readonly at: string }[];
}

/** One Fargate rate in a price cache file. */
export interface CachedFargatePrice {
  /** Undefined for ephemeral storage. */
  readonly arch?: Arch;
  readonly dimension: "vcpu" | "memory" | "ephemeral-storage";
  readonly onDemandUsd: number;
  readonly usagetype: string;
  readonly sku: string;
  /** The Fargate Spot rate, where the Price List publishes one (`…-SpotUsage-Fargate-…`). @default none: spot comes from the catalog */
  readonly spotUsd?: number;
  /** Usage type of the spot rate, e.g. `USE1-SpotUsage-Fargate-vCPU-Hours:perCPU`. */
  readonly spotUsagetype?: string;
}

/** `${cacheDir}/prices-<region>.json`, written by `refreshPrices` (`sdx prices refresh`). */
export interface PriceCacheFile {
  readonly format: "sdx-price-cache";
  readonly version: 1;
  readonly region: string;
  /** ISO time of the fetch. */
  readonly fetchedAt: string;
  /** ISO time after which the file is ignored. */
  readonly expiresAt: string;
  readonly ec2: readonly CachedEc2Price[];
  readonly fargate: readonly CachedFargatePrice[];
}

/** Path of a region's cache file. */
export function priceCachePath(cacheDir: string, region: string): string {
  return join(cacheDir, `prices-${region}.json`);
}

/** Outcome of reading a cache file. */
export type ReadPriceCacheResult =
  | { readonly kind: "fresh"; readonly file: PriceCacheFile }
  | { readonly kind: "expired"; readonly file: PriceCacheFile }
  | { readonly kind: "missing" }
  | { readonly kind: "invalid"; readonly reason: string };

/** Reads and checks a region's cache file against the clock. */
export async function readPriceCache(cacheDir: string, region: string, now: Date): Promise<ReadPriceCacheResult> {
  let text: string;
  try {
    text = await readFile(priceCachePath(cacheDir, region), "utf8");
  } catch {
    return { kind: "missing" };
  }
  let file: PriceCacheFile;
  try {
    file = JSON.parse(text) as PriceCacheFile;
  } catch {
    return { kind: "invalid", reason: "not JSON" };
  }
  if (file.format !== "sdx-price-cache" || file.version !== 1 || !Array.isArray(file.ec2) || !Array.isArray(file.fargate)) {
    return { kind: "invalid", reason: "not an sdx price cache (version 1)" };
  }
  const expires = Date.parse(file.expiresAt);
  return Number.isNaN(expires) || expires <= now.getTime() ? { kind: "expired", file } : { kind: "fresh", file };
}

/**
 * The user's cache directory for sdx: `$SDX_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/sdx` or `~/.cache/sdx` (Linux), `~/Library/Caches/sdx`
 * (macOS), `%LOCALAPPDATA%\sdx\cache` (Windows).
 */
export function defaultCacheDir(
  env: Readonly<Record<string, string | undefined>> = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  if (env.SDX_CACHE_DIR) return env.SDX_CACHE_DIR;
  if (platform === "win32") return join(env.LOCALAPPDATA ?? join(home, "AppData", "Local"), "sdx", "cache");
  if (platform === "darwin") return join(home, "Library", "Caches", "sdx");
  return join(env.XDG_CACHE_HOME ?? join(home, ".cache"), "sdx");
}
