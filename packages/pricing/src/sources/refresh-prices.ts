import { mkdir, rename, writeFile } from "node:fs/promises";
// Types only: the AWS SDK clients are imported when refreshPrices runs, so that importing
// @sdx/pricing (every `sdx plan`) does not load them (~400 ms).
import type { DescribeSpotPriceHistoryCommandInput, EC2Client } from "@aws-sdk/client-ec2";
import type { Filter, GetProductsCommandInput, PricingClient } from "@aws-sdk/client-pricing";
import { SdxError, throwIfAborted, type SdxErrorCode } from "@sdx/sdk";
import { parseEc2Products, parseFargateProducts, type FargateRate } from "./parse-price-list.js";
import { defaultCacheDir, priceCachePath, type CachedEc2Price, type CachedFargatePrice, type PriceCacheFile } from "./price-cache.js";
import { summariseSpotPrices, type SpotPriceRow } from "./summarise-spot-prices.js";

/** AWS credentials, as the AWS SDK takes them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** Progress of {@link refreshPrices}. */
export type RefreshPricesEvent =
  | { readonly kind: "page"; readonly region: string; readonly api: "GetProducts:AmazonEC2" | "GetProducts:AmazonECS" | "DescribeSpotPriceHistory"; readonly items: number }
  | { readonly kind: "written"; readonly region: string; readonly path: string };

/** Options for {@link refreshPrices}. */
export interface RefreshPricesOptions {
  /** AWS regions to fetch, e.g. `["us-east-1"]`. */
  readonly regions: readonly string[];
  /** @default defaultCacheDir() */
  readonly cacheDir?: string;
  /** Endpoint for both APIs, for local emulators and tests. @default the AWS endpoints (Pricing API in us-east-1) */
  readonly endpoint?: string;
  /** Per-API endpoints, over `endpoint` (e.g. EC2 from moto, the Price List from a fixture server). @default `endpoint` for both */
  readonly endpoints?: { readonly pricing?: string; readonly ec2?: string };
  /**
   * How far back DescribeSpotPriceHistory looks. AWS returns each zone's changes
   * in the window plus the price in effect at its start, so any window yields
   * the current price; a few hours keep the pages short. @default 3
   */
  readonly spotWindowHours?: number;
  /** @default the AWS SDK's default credential chain */
  readonly credentials?: AwsCredentials;
  /** Instance types to fetch. @default every Linux shared-tenancy type of the region */
  readonly instanceTypes?: readonly string[];
  /** Hours a cache file stays fresh. @default 24 */
  readonly ttlHours?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
  readonly onEvent?: (event: RefreshPricesEvent) => void;
  readonly signal?: AbortSignal;
}

/** What {@link refreshPrices} wrote. */
export interface RefreshPricesResult {
  readonly files: readonly {
    readonly region: string;
    readonly path: string;
    /** EC2 types with an on-demand price. */
    readonly ec2: number;
    /** EC2 types with a spot price. */
    readonly spot: number;
    /** Fargate vCPU and memory rates were found. */
    readonly fargate: boolean;
    /** Fargate Spot vCPU and memory rates were found in the Price List (else spot comes from the catalog). */
    readonly fargateSpot: boolean;
  }[];
  readonly fetchedAt: string;
  readonly expiresAt: string;
}

/** The Price List Query API is served from us-east-1 (and ap-south-1). */
const PRICING_API_REGION = "us-east-1";

/**
 * The live AWS price source: GetProducts (AmazonEC2 Linux on-demand, AmazonECS
 * Fargate and Fargate Spot where published) and DescribeSpotPriceHistory
 * (Linux/UNIX over the last `spotWindowHours`; latest price per zone, kept
 * per zone, → min and median), written to `${cacheDir}/prices-<region>.json` with `fetchedAt` and
 * `expiresAt`. The estimator prefers these files while fresh.
 *
 * @throws SdxError `SDX_BACKEND_AUTH`, `SDX_BACKEND_FORBIDDEN`, `SDX_BACKEND_THROTTLED`,
 * `SDX_BACKEND_UNREACHABLE` or `SDX_BACKEND_ERROR`, mapped from the AWS error's name and status.
 */
export async function refreshPrices(options: RefreshPricesOptions): Promise<RefreshPricesResult> {
  throwIfAborted(options.signal);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const now = (options.now ?? (() => new Date()))();
  const fetchedAt = now.toISOString();
  const expiresAt = new Date(now.getTime() + (options.ttlHours ?? 24) * 3_600_000).toISOString();
  const credentials = options.credentials ? { credentials: options.credentials } : {};
  const endpoint = (api: "pricing" | "ec2"): { endpoint?: string } => {
    const e = options.endpoints?.[api] ?? options.endpoint;
    return e ? { endpoint: e } : {};
  };
  const [ec2Sdk, pricingSdk] = await Promise.all([import("@aws-sdk/client-ec2"), import("@aws-sdk/client-pricing")]);
  const sdk: Sdk = { GetProductsCommand: pricingSdk.GetProductsCommand, DescribeSpotPriceHistoryCommand: ec2Sdk.DescribeSpotPriceHistoryCommand };
  const pricing = new pricingSdk.PricingClient({ region: PRICING_API_REGION, ...endpoint("pricing"), ...credentials });
  const files: RefreshPricesResult["files"][number][] = [];
  try {
    for (const region of options.regions) {
      throwIfAborted(options.signal);
      const ec2 = new ec2Sdk.EC2Client({ region, ...endpoint("ec2"), ...credentials });
      try {
        const [ec2Items, ecsItems, spotRows] = await Promise.all([
          getProducts(sdk, pricing, "AmazonEC2", ec2Filters(region), options, region),
          getProducts(sdk, pricing, "AmazonECS", [term("regionCode", region)], options, region),
          spotHistory(sdk, ec2, now, options, region),
        ]);
        const spot = summariseSpotPrices(spotRows);
        const wanted = options.instanceTypes ? new Set(options.instanceTypes) : undefined;
        const ec2Prices: CachedEc2Price[] = parseEc2Products(ec2Items)
          .filter((p) => (p.region === region || p.region === "") && (!wanted || wanted.has(p.instanceType)))
          .map((p) => {
            const s = spot.get(p.instanceType);
            return {
              instanceType: p.instanceType, vcpus: p.vcpus, memoryGiB: p.memoryGiB, arch: p.arch, onDemandUsd: p.onDemandUsd, sku: p.sku,
              ...(s ? { spotMinUsd: s.minUsd, spotMedianUsd: s.medianUsd, spotAzCount: s.azCount, spotZones: s.zones } : {}),
            };
          });
        const fargate = fargateCacheEntries(parseFargateProducts(ecsItems).filter((f) => f.region === region || f.region === ""));
        const file: PriceCacheFile = { format: "sdx-price-cache", version: 1, region, fetchedAt, expiresAt, ec2: ec2Prices, fargate };
        const path = await writeAtomically(cacheDir, priceCachePath(cacheDir, region), JSON.stringify(file));
        options.onEvent?.({ kind: "written", region, path });
        files.push({
          region, path, ec2: ec2Prices.length, spot: ec2Prices.filter((p) => p.spotMedianUsd !== undefined).length,
          fargate: fargate.some((f) => f.dimension === "vcpu") && fargate.some((f) => f.dimension === "memory"),
          fargateSpot: fargate.some((f) => f.dimension === "vcpu" && f.spotUsd !== undefined) && fargate.some((f) => f.dimension === "memory" && f.spotUsd !== undefined),
        });
      } finally {
        ec2.destroy();
      }
    }
  } catch (e) {
    throw mapAwsError(e);
  } finally {
    pricing.destroy();
  }
  return { files, fetchedAt, expiresAt };
}

/** One cache entry per (arch, dimension): the on-demand rate, with the Fargate Spot rate of the same arch and dimension beside it when published. */
export function fargateCacheEntries(rates: readonly FargateRate[]): CachedFargatePrice[] {
  const spot = new Map(rates.filter((r) => r.market === "spot").map((r) => [`${r.arch ?? ""}\t${r.dimension}`, r]));
  return rates
    .filter((r) => r.market === "on-demand")
    .map((r) => {
      const s = spot.get(`${r.arch ?? ""}\t${r.dimension}`);
      return {
        ...(r.arch ? { arch: r.arch } : {}), dimension: r.dimension, onDemandUsd: r.onDemandUsd, usagetype: r.usagetype, sku: r.sku,
        ...(s ? { spotUsd: s.onDemandUsd, spotUsagetype: s.usagetype } : {}),
      };
    });
}

interface Sdk {
  readonly GetProductsCommand: typeof import("@aws-sdk/client-pricing").GetProductsCommand;
  readonly DescribeSpotPriceHistoryCommand: typeof import("@aws-sdk/client-ec2").DescribeSpotPriceHistoryCommand;
}

const term = (Field: string, Value: string): Filter => ({ Type: "TERM_MATCH", Field, Value });

function ec2Filters(region: string): Filter[] {
  return [
    term("regionCode", region),
    term("operatingSystem", "Linux"),
    term("tenancy", "Shared"),
    term("capacitystatus", "Used"),
    term("preInstalledSw", "NA"),
    term("licenseModel", "No License required"),
  ];
}

async function getProducts(sdk: Sdk, client: PricingClient, serviceCode: string, filters: Filter[], options: RefreshPricesOptions, region: string): Promise<unknown[]> {
  const items: unknown[] = [];
  const types = serviceCode === "AmazonEC2" && options.instanceTypes ? options.instanceTypes : [undefined];
  for (const type of types) {
    let token: string | undefined;
    do {
      const input: GetProductsCommandInput = {
        ServiceCode: serviceCode,
        Filters: type ? [...filters, term("instanceType", type)] : filters,
        FormatVersion: "aws_v1",
        MaxResults: 100,
        ...(token ? { NextToken: token } : {}),
      };
      const out = await client.send(new sdk.GetProductsCommand(input), { ...(options.signal ? { abortSignal: options.signal } : {}) });
      const page = Array.isArray(out.PriceList) ? (out.PriceList as unknown[]) : [];
      items.push(...page);
      options.onEvent?.({ kind: "page", region, api: `GetProducts:${serviceCode}` as "GetProducts:AmazonEC2", items: page.length });
      token = out.NextToken || undefined;
    } while (token);
  }
  return items;
}

async function spotHistory(sdk: Sdk, client: EC2Client, now: Date, options: RefreshPricesOptions, region: string): Promise<SpotPriceRow[]> {
  const rows: SpotPriceRow[] = [];
  let token: string | undefined;
  do {
    const input: DescribeSpotPriceHistoryCommandInput = {
      ProductDescriptions: ["Linux/UNIX"],
      StartTime: new Date(now.getTime() - (options.spotWindowHours ?? 3) * 3_600_000),
      EndTime: now,
      MaxResults: 1000,
      ...(options.instanceTypes ? { InstanceTypes: [...options.instanceTypes] as DescribeSpotPriceHistoryCommandInput["InstanceTypes"] } : {}),
      ...(token ? { NextToken: token } : {}),
    };
    const out = await client.send(new sdk.DescribeSpotPriceHistoryCommand(input), { ...(options.signal ? { abortSignal: options.signal } : {}) });
    const page = out.SpotPriceHistory ?? [];
    rows.push(...page);
    options.onEvent?.({ kind: "page", region, api: "DescribeSpotPriceHistory", items: page.length });
    token = out.NextToken || undefined;
  } while (token);
  return rows;
}

async function writeAtomically(dir: string, path: string, text: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
  return path;
}

/** Maps AWS SDK errors by name and HTTP status, never by message text. */
function mapAwsError(e: unknown): SdxError {
  if (e instanceof SdxError) return e;
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number }; $fault?: string; code?: string };
  const name = err?.name ?? "";
  const status = err?.$metadata?.httpStatusCode;
  const make = (code: SdxErrorCode, fault: "user" | "backend", message: string, hint: string): SdxError =>
    new SdxError(code, message, { fault, hint, cause: e, details: { awsError: name, ...(status ? { status } : {}) } });
  if (name === "AbortError") return new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user", cause: e });
  if (name === "CredentialsProviderError" || name === "UnrecognizedClientException" || name === "InvalidClientTokenId" || name === "AuthFailure" || status === 401) {
    return make("SDX_BACKEND_AUTH", "user", "AWS rejected or could not find credentials for the price APIs", "Configure AWS credentials (AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY); prices stay on the embedded catalog meanwhile.");
  }
  if (name === "AccessDeniedException" || name === "UnauthorizedOperation" || status === 403) {
    return make("SDX_BACKEND_FORBIDDEN", "user", "the AWS identity may not read prices", "Allow pricing:GetProducts and ec2:DescribeSpotPriceHistory.");
  }
  if (name === "ThrottlingException" || name === "RequestLimitExceeded" || status === 429) {
    return make("SDX_BACKEND_THROTTLED", "backend", "AWS throttled the price requests", "Retry in a minute, or refresh fewer regions at once.");
  }
  if (status === undefined && (err?.code === "ECONNREFUSED" || err?.code === "ENOTFOUND" || name === "TimeoutError" || err?.code === "ETIMEDOUT")) {
    return make("SDX_BACKEND_UNREACHABLE", "backend", "the AWS price APIs are unreachable", "Check the network (or the endpoint); the embedded catalog is used meanwhile.");
  }
  return make("SDX_BACKEND_ERROR", "backend", `the AWS price APIs failed (${name || "unknown error"})`, "Retry later; the embedded catalog is used meanwhile.");
}
