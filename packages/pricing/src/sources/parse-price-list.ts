import type { Arch } from "../catalog/price-catalog.js";

/** An EC2 on-demand Linux price read from the AWS Price List. */
export interface Ec2OnDemandPrice {
  readonly instanceType: string;
  readonly vcpus: number;
  readonly memoryGiB: number;
  readonly arch: Arch;
  readonly region: string;
  readonly onDemandUsd: number;
  readonly sku: string;
  /** `publicationDate` or the term's `effectiveDate`. */
  readonly asOf?: string;
}

/** A Fargate rate read from the AWS Price List (AmazonECS). */
export interface FargateRate {
  readonly region: string;
  /** Undefined for ephemeral storage, which is billed the same for both. */
  readonly arch?: Arch;
  readonly dimension: "vcpu" | "memory" | "ephemeral-storage";
  /** `spot` for Fargate Spot usage types (`…-SpotUsage-Fargate-…`), where the Price List has them. */
  readonly market: "on-demand" | "spot";
  readonly onDemandUsd: number;
  readonly usagetype: string;
  readonly sku: string;
}

interface PriceDimension {
  readonly unit?: string;
  readonly pricePerUnit?: { readonly USD?: string };
}
/** One decoded Price List item: a product and its terms. */
export interface PriceListProduct {
  readonly product?: { readonly sku?: string; readonly productFamily?: string; readonly attributes?: Readonly<Record<string, string>> };
  readonly terms?: { readonly OnDemand?: Readonly<Record<string, { readonly effectiveDate?: string; readonly priceDimensions?: Readonly<Record<string, PriceDimension>> }>> };
  readonly publicationDate?: string;
}

/**
 * One `PriceList` entry of a GetProducts response. The API returns each as a
 * JSON *string*; some SDK versions wrap it in a String-like object. Undefined
 * when it does not parse.
 */
export function decodePriceListItem(item: unknown): PriceListProduct | undefined {
  if (item !== null && typeof item === "object" && !(item instanceof String)) return item as PriceListProduct;
  try {
    const v: unknown = JSON.parse(String(item));
    return v !== null && typeof v === "object" ? (v as PriceListProduct) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The items of an AWS bulk offer file (`offers/v1.0/aws/<service>/current/<region>/index.json`:
 * `products` by SKU, `terms.OnDemand` by SKU then term code), regrouped one per
 * product with its on-demand terms, as GetProducts returns them, so one parser
 * reads both. Reservation terms are left behind.
 */
export function offerFileItems(offer: unknown): PriceListProduct[] {
  const o = offer as { products?: Record<string, PriceListProduct["product"]>; terms?: { OnDemand?: Record<string, NonNullable<PriceListProduct["terms"]>["OnDemand"]> }; publicationDate?: string };
  const out: PriceListProduct[] = [];
  for (const [sku, product] of Object.entries(o?.products ?? {})) {
    const onDemand = o.terms?.OnDemand?.[sku];
    if (!product || !onDemand) continue;
    out.push({ product, terms: { OnDemand: onDemand }, ...(o.publicationDate ? { publicationDate: o.publicationDate } : {}) });
  }
  return out;
}

/** Non-zero USD prices of the on-demand terms. Reservation terms are never read. */
function onDemandPrices(p: PriceListProduct): { usd: number; unit: string; effectiveDate?: string }[] {
  const out: { usd: number; unit: string; effectiveDate?: string }[] = [];
  for (const term of Object.values(p.terms?.OnDemand ?? {})) {
    for (const dim of Object.values(term.priceDimensions ?? {})) {
      const usd = Number(dim.pricePerUnit?.USD);
      // Prices are strings; zero dimensions (free tiers, placeholders) are dropped.
      if (Number.isFinite(usd) && usd > 0) out.push({ usd, unit: dim.unit ?? "", ...(term.effectiveDate ? { effectiveDate: term.effectiveDate } : {}) });
    }
  }
  return out;
}

/** "8 GiB", "1,952 GiB", "0.5 GiB" → GiB. */
function parseGiB(s: string | undefined): number | undefined {
  const m = /^\s*([\d,.]+)\s*GiB\s*$/i.exec(s ?? "");
  const n = m ? Number(m[1]!.replace(/,/g, "")) : NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * `processorArchitecture` says "64-bit" for x86 and Graviton alike, so the
 * architecture comes from the processor name, else the family (a1, m6g, c7gn, t4g…).
 */
export function ec2Arch(instanceType: string, physicalProcessor?: string): Arch {
  if (physicalProcessor && /graviton/i.test(physicalProcessor)) return "arm64";
  return /^(a1|[a-z]+\d+g[a-z]*)\./.test(instanceType) ? "arm64" : "amd64";
}

/**
 * EC2 Linux, shared-tenancy, on-demand hourly prices from GetProducts
 * (ServiceCode AmazonEC2). Items that are not plain Linux/Shared/Used boxes are
 * skipped even when the filters let them through; when an instance type still
 * appears twice, the lowest non-zero price is kept.
 */
export function parseEc2Products(items: readonly unknown[]): Ec2OnDemandPrice[] {
  const best = new Map<string, Ec2OnDemandPrice>();
  for (const raw of items) {
    const p = decodePriceListItem(raw);
    const a = p?.product?.attributes;
    if (!p || !a?.instanceType) continue;
    if (p.product?.productFamily !== undefined && p.product.productFamily !== "Compute Instance") continue;
    if ((a.operatingSystem ?? "Linux") !== "Linux" || (a.tenancy ?? "Shared") !== "Shared") continue;
    if ((a.capacitystatus ?? "Used") !== "Used" || (a.preInstalledSw ?? "NA") !== "NA") continue;
    // Bulk offer files are unfiltered: licensed Linux variants and capacity blocks sit beside the plain box.
    if ((a.licenseModel ?? "No License required") !== "No License required" || (a.marketoption ?? "OnDemand") !== "OnDemand") continue;
    const price = onDemandPrices(p).filter((d) => d.unit === "Hrs" || d.unit === "")[0];
    const vcpus = Number(a.vcpu);
    const memoryGiB = parseGiB(a.memory);
    const region = a.regionCode ?? a.location ?? "";
    if (!price || !(vcpus > 0) || memoryGiB === undefined) continue;
    const entry: Ec2OnDemandPrice = {
      instanceType: a.instanceType,
      vcpus,
      memoryGiB,
      arch: ec2Arch(a.instanceType, a.physicalProcessor),
      region,
      onDemandUsd: price.usd,
      sku: p.product?.sku ?? "",
      ...(p.publicationDate ?? price.effectiveDate ? { asOf: p.publicationDate ?? price.effectiveDate } : {}),
    };
    const key = `${region}\t${a.instanceType}`;
    const prev = best.get(key);
    if (!prev || entry.onDemandUsd < prev.onDemandUsd) best.set(key, entry);
  }
  return [...best.values()].sort((x, y) => x.region.localeCompare(y.region) || x.instanceType.localeCompare(y.instanceType));
}

// Usage-type suffixes; the prefix is a region code such as `USE1-` and is never built by hand.
// Fargate Spot bills as `<REGION>-SpotUsage-Fargate-…` (the names AWS bills and Cost
// Explorer shows, e.g. USW2-SpotUsage-Fargate-vCPU-Hours:perCPU); storage has no spot variant.
const FARGATE_SUFFIXES: readonly { suffix: string; arch?: Arch; dimension: FargateRate["dimension"]; market: FargateRate["market"] }[] = [
  { suffix: "Fargate-ARM-vCPU-Hours:perCPU", arch: "arm64", dimension: "vcpu", market: "on-demand" },
  { suffix: "Fargate-ARM-GB-Hours", arch: "arm64", dimension: "memory", market: "on-demand" },
  { suffix: "Fargate-vCPU-Hours:perCPU", arch: "amd64", dimension: "vcpu", market: "on-demand" },
  { suffix: "Fargate-GB-Hours", arch: "amd64", dimension: "memory", market: "on-demand" },
  { suffix: "Fargate-EphemeralStorage-GB-Hours", dimension: "ephemeral-storage", market: "on-demand" },
  { suffix: "SpotUsage-Fargate-ARM-vCPU-Hours:perCPU", arch: "arm64", dimension: "vcpu", market: "spot" },
  { suffix: "SpotUsage-Fargate-ARM-GB-Hours", arch: "arm64", dimension: "memory", market: "spot" },
  { suffix: "SpotUsage-Fargate-vCPU-Hours:perCPU", arch: "amd64", dimension: "vcpu", market: "spot" },
  { suffix: "SpotUsage-Fargate-GB-Hours", arch: "amd64", dimension: "memory", market: "spot" },
];

/**
 * Fargate Linux rates, on-demand and (where published) Fargate Spot, from
 * GetProducts or the AmazonECS offer file, matched by usage-type suffix. The
 * part before the suffix must be empty or a single region-code token (`USE1-`,
 * `EU-`), so that other usage types that happen to end the same way (Windows,
 * EKS variants) are not taken for these.
 */
export function parseFargateProducts(items: readonly unknown[]): FargateRate[] {
  const out = new Map<string, FargateRate>();
  for (const raw of items) {
    const p = decodePriceListItem(raw);
    const a = p?.product?.attributes;
    const usagetype = a?.usagetype;
    if (!p || !usagetype) continue;
    const match = FARGATE_SUFFIXES.find((f) => usagetype.endsWith(f.suffix) && /^(?:[A-Z0-9]+-)?$/.test(usagetype.slice(0, -f.suffix.length)));
    if (!match) continue;
    const price = onDemandPrices(p)[0];
    if (!price) continue;
    const region = a.regionCode ?? a.location ?? "";
    const key = `${region}\t${match.arch ?? ""}\t${match.dimension}\t${match.market}`;
    if (out.has(key)) continue;
    out.set(key, {
      region,
      ...(match.arch ? { arch: match.arch } : {}),
      dimension: match.dimension,
      market: match.market,
      onDemandUsd: price.usd,
      usagetype,
      sku: p.product?.sku ?? "",
    });
  }
  return [...out.values()];
}
