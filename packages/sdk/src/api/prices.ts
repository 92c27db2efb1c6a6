// `sdx prices <provider> <region> [type]`: the price look-up of @sdx/pricing,
// plus what a person needs beside the rows: a refusal instead of an empty
// table, and the stale-price warning `plan` gives. @sdx/pricing is loaded at
// run time; the sdk does not depend on it.
import { SdxError } from "../errors/sdx-error.js";
import type { SdxEvent } from "../events/sdx-event.js";
import type { PriceProvenance } from "../pricing/pricing-contract.js";
import type { Diagnostic } from "../validation/diagnostic.js";

/** One priced item, as @sdx/pricing's `lookupPrices` returns it. Prices are USD per `unit`. */
export interface PriceRowView {
  /** Instance type, `Fargate vCPU`, `Fargate memory`, … */
  readonly item: string;
  readonly vcpus?: number;
  readonly memoryGiB?: number;
  readonly arch?: string;
  /** `instance-hour`, `vCPU-hour`, `GB-hour`, `cluster-hour`. */
  readonly unit: string;
  readonly onDemandUsd: number;
  /** Median zone spot price. */
  readonly spotUsd?: number;
  /** Cheapest zone's spot price. */
  readonly spotMinUsd?: number;
  readonly provenance: PriceProvenance;
  /** @default provenance */
  readonly spotProvenance?: PriceProvenance;
}

/** What `sdx prices refresh` wrote. */
export interface RefreshPricesView {
  readonly files: readonly { readonly region: string; readonly path: string; readonly ec2: number; readonly spot: number; readonly fargate: boolean; readonly fargateSpot: boolean }[];
  readonly fetchedAt: string;
  readonly expiresAt: string;
}

/** The part of @sdx/pricing the `prices` commands use. */
export interface PricingModule {
  lookupPrices(q: { provider: string; region: string; instanceType?: string; signal?: AbortSignal }): Promise<{ rows: readonly PriceRowView[]; diagnostics: readonly Diagnostic[] }>;
  refreshPrices(o: { regions: readonly string[]; endpoint?: string; spotWindowHours?: number; signal?: AbortSignal; onEvent?: (e: SdxEvent) => void }): Promise<RefreshPricesView>;
  loadEmbeddedCatalog(): { fargateRegions(): readonly string[] };
}

/** Loads @sdx/pricing, or says how to install it (`SDX_PRICING`, fault user). */
export async function loadPricingModule(): Promise<PricingModule> {
  // A variable specifier: TypeScript must not resolve @sdx/pricing, which depends on this package.
  const spec = "@sdx/pricing";
  try {
    return (await import(spec)) as PricingModule;
  } catch (e) {
    throw new SdxError("SDX_PRICING", "@sdx/pricing is not installed", { fault: "user", cause: e, hint: "npm install @sdx/pricing" });
  }
}

/** Age past which embedded prices are reported stale: the estimator's own default. */
export const DEFAULT_MAX_PRICE_AGE_DAYS = 90;

/** Options for {@link prices}. */
export interface PricesOptions {
  /** `aws`, `gcp` or `azure`. */
  readonly provider: string;
  readonly region: string;
  /** An instance type, a family prefix (`m6i`), or `fargate` (aws). @default every item of the region */
  readonly instanceType?: string;
  /** Embedded prices older than this raise `SDX_PRICES_STALE`. @default `SDX_PRICES_MAX_AGE_DAYS` from `env`, else 90 */
  readonly maxCatalogAgeDays?: number;
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** @default loadPricingModule() */
  readonly pricing?: PricingModule;
  readonly signal?: AbortSignal;
}

/** Result of {@link prices}. */
export interface PricesResult {
  /** Never empty: an empty look-up is an error. */
  readonly rows: readonly PriceRowView[];
  /** The look-up's own diagnostics, then `SDX_PRICES_STALE` when embedded prices are old. */
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Prices of a region, a type, a family or Fargate, with the same stale-price
 * warning as `plan`.
 *
 * @throws SdxError `SDX_PRICING` (fault `user`) for an unknown provider,
 * region or type (from @sdx/pricing), and when the look-up finds nothing:
 * an empty table would read as "free" or "all fine".
 */
export async function prices(options: PricesOptions): Promise<PricesResult> {
  const pricing = options.pricing ?? (await loadPricingModule());
  const r = await pricing.lookupPrices({
    provider: options.provider, region: options.region,
    ...(options.instanceType ? { instanceType: options.instanceType } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (r.rows.length === 0) throw nothingFound(options, pricing);
  const maxAgeDays = options.maxCatalogAgeDays ?? maxAgeFromEnv(options.env ?? process.env);
  const stale = stalePricesDiagnostic(r.rows, { provider: options.provider.toLowerCase(), region: options.region, now: (options.now ?? (() => new Date()))(), maxAgeDays });
  return { rows: r.rows, diagnostics: stale ? [...r.diagnostics, stale] : r.diagnostics };
}

function maxAgeFromEnv(env: Readonly<Record<string, string | undefined>>): number {
  const n = Number(env.SDX_PRICES_MAX_AGE_DAYS);
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_MAX_PRICE_AGE_DAYS;
}

function nothingFound(o: PricesOptions, pricing: PricingModule): SdxError {
  const provider = o.provider.toLowerCase();
  const refresh = `sdx prices refresh --region ${o.region}`;
  if (provider === "aws" && o.instanceType?.toLowerCase() === "fargate") {
    const regions = [...pricing.loadEmbeddedCatalog().fargateRegions()].filter((r) => r !== o.region).sort();
    return new SdxError("SDX_PRICING", `no Fargate prices for ${o.region}`, {
      fault: "user",
      hint: `${regions.length ? `The embedded catalog has Fargate rates for ${regions.join(", ")}` : "The embedded catalog has no Fargate rates"}; run \`${refresh}\` with AWS credentials to fetch ${o.region}'s.`,
      details: { provider, region: o.region, item: "fargate", fargateRegions: regions },
    });
  }
  const what = o.instanceType ? `"${o.instanceType}"` : "any item";
  return new SdxError("SDX_PRICING", `no ${provider} prices for ${what} in ${o.region}`, {
    fault: "user",
    hint: provider === "aws"
      ? `Run \`${refresh}\` with AWS credentials to fetch ${o.region}'s prices${o.instanceType ? `, or list what the region has with \`sdx prices aws ${o.region}\`` : ""}.`
      : `List what the region has with \`sdx prices ${provider} ${o.region}\`, or update @sdx/pricing for a newer catalog.`,
    details: { provider, region: o.region, ...(o.instanceType ? { item: o.instanceType } : {}) },
  });
}

const DAY_MS = 86_400_000;

/**
 * `SDX_PRICES_STALE` (a warning) when a row's price, or its spot price, comes
 * from the embedded catalog and is older than `maxAgeDays`; the same rule and
 * words as the estimator's warning in `plan`. Pure.
 */
export function stalePricesDiagnostic(
  rows: readonly Pick<PriceRowView, "provenance" | "spotProvenance">[],
  o: { readonly provider: string; readonly region: string; readonly now: Date; readonly maxAgeDays: number },
): Diagnostic | undefined {
  let oldest: string | undefined;
  for (const row of rows) {
    for (const p of [row.provenance, row.spotProvenance]) {
      if (!p || !p.source.startsWith("embedded-catalog/")) continue;
      if (!((o.now.getTime() - Date.parse(p.asOf)) / DAY_MS > o.maxAgeDays)) continue;
      if (oldest === undefined || p.asOf < oldest) oldest = p.asOf;
    }
  }
  if (oldest === undefined) return undefined;
  const days = Math.floor((o.now.getTime() - Date.parse(oldest)) / DAY_MS);
  return {
    code: "SDX_PRICES_STALE",
    severity: "warning",
    path: "",
    message: `prices for ${o.provider} ${o.region} come from the embedded catalog, as old as ${oldest} (${days} days; the limit is ${o.maxAgeDays})`,
    hint: o.provider === "aws"
      ? `Run \`sdx prices refresh --region ${o.region}\` with AWS credentials for current AWS prices, or update @sdx/pricing for a newer catalog.`
      : "Update @sdx/pricing for a newer catalog (live prices are fetched for AWS only).",
  };
}
