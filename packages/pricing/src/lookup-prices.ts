import { didYouMean, SdxError, type Diagnostic, type PriceProvenance, type PriceProvider, type PriceSource } from "@sdx/sdk";
import { loadEmbeddedCatalog } from "./catalog/load-embedded-catalog.js";
import type { Arch, PriceCatalog } from "./catalog/price-catalog.js";
import { CachedPriceSource } from "./sources/cached-price-source.js";
import { defaultCacheDir, readPriceCache } from "./sources/price-cache.js";
import { PriceResolver } from "./sources/price-resolver.js";

/** Options for {@link lookupPrices} (`sdx prices <provider> <region> [type]`). */
export interface LookupPricesOptions {
  /** `aws`, `gcp` or `azure`. */
  readonly provider: string;
  readonly region: string;
  /** An instance type, a family prefix (`m6i`, `n2-standard`), or `fargate` (aws). @default every type in the region */
  readonly instanceType?: string;
  /** @default the embedded catalog */
  readonly catalog?: PriceCatalog;
  /** Sources asked before the cache and catalog. @default [] */
  readonly sources?: readonly PriceSource[];
  /** The `sdx prices refresh` cache; `false` to ignore it. @default defaultCacheDir() */
  readonly cacheDir?: string | false;
  /** Only the embedded catalog. @default false */
  readonly offline?: boolean;
  /** @default () => new Date() */
  readonly now?: () => Date;
  readonly signal?: AbortSignal;
}

/** One priced item. All prices are USD per `unit`. */
export interface PriceRow {
  readonly kind: "vm" | "fargate" | "control-plane";
  readonly provider: PriceProvider;
  readonly region: string;
  /** Instance type, `Fargate vCPU`, `Fargate memory`, `Fargate ephemeral storage over 20 GB` or `<EKS|GKE|AKS> control plane`. */
  readonly item: string;
  readonly vcpus?: number;
  readonly memoryGiB?: number;
  readonly arch?: Arch;
  /** `instance-hour`, `vCPU-hour`, `GB-hour`, `cluster-hour`. */
  readonly unit: string;
  readonly onDemandUsd: number;
  /** Median zone spot price (what estimates use). */
  readonly spotUsd?: number;
  /** Cheapest zone's spot price, when the catalog has it. */
  readonly spotMinUsd?: number;
  readonly provenance: PriceProvenance;
  readonly spotProvenance?: PriceProvenance;
}

/** What {@link lookupPrices} found. */
export interface LookupPricesResult {
  readonly rows: readonly PriceRow[];
  readonly diagnostics: readonly Diagnostic[];
}

const PROVIDERS: readonly PriceProvider[] = ["aws", "gcp", "azure"];
const CONTROL_PLANE = { aws: ["eks", "EKS"], gcp: ["gke", "GKE"], azure: ["aks", "AKS"] } as const;

/**
 * Prices for `sdx prices`: every machine type of a region (plus Fargate and
 * the managed control plane), one type, or a family — from the sources, the
 * refreshed cache, then the embedded catalog.
 *
 * @throws SdxError `SDX_PRICING` (fault `user`) for an unknown provider, region
 * or instance type, with did-you-mean suggestions in `hint` and `details.suggestions`.
 */
export async function lookupPrices(options: LookupPricesOptions): Promise<LookupPricesResult> {
  const catalog = options.catalog ?? loadEmbeddedCatalog();
  const provider = checkProvider(options.provider);
  const { region } = options;
  const now = (options.now ?? (() => new Date()))();
  const cacheDir = options.offline ? false : options.cacheDir === undefined ? defaultCacheDir() : options.cacheDir;
  const cache = cacheDir ? new CachedPriceSource({ cacheDir, now: () => now }) : undefined;
  const resolver = new PriceResolver({
    sources: options.offline ? [] : [...(options.sources ?? []), ...(cache ? [cache] : [])],
    catalog,
    ...(options.signal ? { signal: options.signal } : {}),
  });

  // Types known for the region: the catalog's, plus any a fresh AWS cache adds.
  const types = new Set(catalog.vmOffers(provider, region).map((o) => o.instanceType));
  if (provider === "aws" && cacheDir) {
    const read = await readPriceCache(cacheDir, region, now);
    if (read.kind === "fresh") for (const e of read.file.ec2) types.add(e.instanceType);
  }
  const fargateRegion = provider === "aws" && catalog.fargateRegions().includes(region);
  if (types.size === 0 && !fargateRegion) {
    const known = provider === "aws" ? [...new Set([...catalog.regions("aws"), ...catalog.fargateRegions()])].sort() : [...catalog.regions(provider)];
    throw notFound(`unknown ${provider} region "${region}"`, didYouMean(region, known), `\`sdx prices ${provider} <region>\` takes a region code such as ${known.slice(0, 3).join(", ")}.`);
  }

  const q = options.instanceType;
  const wantFargate = provider === "aws" && (q === undefined || q.toLowerCase() === "fargate");
  let selected: string[];
  if (q === undefined) selected = [...types];
  else if (types.has(q)) selected = [q];
  else if (q.toLowerCase() === "fargate" && provider === "aws") selected = [];
  else {
    // A family prefix: "m6i" matches m6i.large, "n2-standard" matches n2-standard-4.
    selected = [...types].filter((t) => t.startsWith(q) && /^[.\-_]/.test(t.slice(q.length)));
    if (selected.length === 0) {
      if (catalog.vmShape(provider, q)) {
        const where = catalog.regions(provider).filter((r) => catalog.vm(provider, r, q));
        throw notFound(`${provider} ${q} has no price in ${region}`, where.slice(0, 5), `It is priced in ${where.slice(0, 8).join(", ")}${where.length > 8 ? ", …" : ""}.`);
      }
      const suggestions = didYouMean(q, types.size ? types : catalog.instanceTypes(provider));
      throw notFound(`unknown ${provider} instance type "${q}" in ${region}`, suggestions, `List the region's types with \`sdx prices ${provider} ${region}\`.`);
    }
  }

  const rows: PriceRow[] = [];
  for (const t of selected.sort(naturalOrder)) {
    const p = await resolver.quote({ kind: "vm", provider, region, instanceType: t });
    if (!p?.vm) continue;
    const offer = catalog.vm(provider, region, t);
    rows.push({
      kind: "vm", provider, region, item: t, vcpus: p.vm.vcpus, memoryGiB: p.vm.memoryGiB, arch: p.vm.arch, unit: p.unit,
      onDemandUsd: p.onDemandUsd,
      ...(p.spotUsd === undefined ? {} : { spotUsd: p.spotUsd, spotProvenance: p.spotProvenance ?? p.provenance }),
      ...(offer?.spotMinUsd !== undefined && (p.spotProvenance ?? p.provenance).source.startsWith("embedded-catalog/") ? { spotMinUsd: offer.spotMinUsd } : {}),
      provenance: p.provenance,
    });
  }
  if (wantFargate) {
    for (const arch of ["amd64", "arm64"] as const) {
      for (const [dimension, label] of [["vcpu", "Fargate vCPU"], ["memory", "Fargate memory"]] as const) {
        const p = await resolver.quote({ kind: "fargate", region, arch, dimension });
        if (!p) continue;
        rows.push({
          kind: "fargate", provider, region, item: label, arch, unit: p.unit, onDemandUsd: p.onDemandUsd,
          ...(p.spotUsd === undefined ? {} : { spotUsd: p.spotUsd, spotProvenance: p.spotProvenance ?? p.provenance }),
          provenance: p.provenance,
        });
      }
    }
    const s = await resolver.quote({ kind: "fargate", region, arch: "amd64", dimension: "ephemeral-storage" });
    if (s) rows.push({ kind: "fargate", provider, region, item: "Fargate ephemeral storage over 20 GB", unit: s.unit, onDemandUsd: s.onDemandUsd, provenance: s.provenance });
  }
  if (q === undefined) {
    const [cp, label] = CONTROL_PLANE[provider];
    const c = await resolver.quote({ kind: "control-plane", provider, controlPlane: cp, region });
    if (c) rows.push({ kind: "control-plane", provider, region, item: `${label} control plane`, unit: c.unit, onDemandUsd: c.onDemandUsd, provenance: c.provenance });
  }
  return { rows, diagnostics: resolver.diagnostics() };
}

function checkProvider(p: string): PriceProvider {
  const lower = p.toLowerCase();
  if ((PROVIDERS as readonly string[]).includes(lower)) return lower as PriceProvider;
  throw notFound(`unknown provider "${p}"`, didYouMean(p, PROVIDERS), "Use aws, gcp or azure.");
}

function notFound(message: string, suggestions: readonly string[], hint: string): SdxError {
  return new SdxError("SDX_PRICING", message, {
    fault: "user",
    hint: suggestions.length ? `Did you mean ${suggestions.join(", ")}? ${hint}` : hint,
    details: { suggestions: [...suggestions] },
  });
}

// m6i.large < m6i.xlarge < m6i.2xlarge, not plain string order.
const SIZE_ORDER = ["nano", "micro", "small", "medium", "large", "xlarge"];
function naturalOrder(a: string, b: string): number {
  const [fa, sa = ""] = a.split(".");
  const [fb, sb = ""] = b.split(".");
  if (fa !== fb || !sa || !sb) return a.localeCompare(b, "en", { numeric: true });
  const rank = (s: string): number => {
    const m = /^(\d*)(.*)$/.exec(s)!;
    const i = SIZE_ORDER.indexOf(m[2]!);
    return i < 0 ? 1e6 : i + (m[1] ? Number(m[1]) * 10 : 0);
  };
  return rank(sa) - rank(sb) || sa.localeCompare(sb);
}
