import { toSdxError, type Diagnostic, type PriceQuery, type PriceQuote, type PriceSource } from "@sdx/sdk";
import type { PriceCatalog } from "../catalog/price-catalog.js";
import { lookupPrice } from "../catalog/lookup-price.js";

/** Options for {@link PriceResolver}. */
export interface PriceResolverOptions {
  /** Asked in order of `priority` (highest first), before the catalog. */
  readonly sources: readonly PriceSource[];
  /** The fallback for everything the sources don't answer. */
  readonly catalog: PriceCatalog;
  readonly signal?: AbortSignal;
}

/**
 * Answers price queries from the sources, then the catalog. The on-demand
 * figure comes from the first source that knows it; when that source has no
 * spot figure (the AWS Price List has none for Fargate Spot), the spot figure
 * comes from the next one that has, with its own provenance. A source that
 * throws is reported once and skipped. Answers are memoised per resolver.
 */
export class PriceResolver {
  private readonly sources: readonly PriceSource[];
  private readonly catalog: PriceCatalog;
  private readonly signal: AbortSignal | undefined;
  private readonly memo = new Map<string, Promise<PriceQuote | undefined>>();
  private readonly failed = new Map<string, Diagnostic>();

  constructor(options: PriceResolverOptions) {
    // Stable sort: equal priorities keep registration order.
    this.sources = [...options.sources].sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0));
    this.catalog = options.catalog;
    this.signal = options.signal;
  }

  /** The merged answer, or undefined when neither a source nor the catalog knows the price. */
  quote(query: PriceQuery): Promise<PriceQuote | undefined> {
    const key = JSON.stringify(query);
    let p = this.memo.get(key);
    if (!p) {
      p = this.resolve(query);
      this.memo.set(key, p);
    }
    return p;
  }

  /** One warning per source that failed. */
  diagnostics(): Diagnostic[] {
    return [...this.failed.values()];
  }

  private async resolve(query: PriceQuery): Promise<PriceQuote | undefined> {
    let found: PriceQuote | undefined;
    for (const source of this.sources) {
      if (this.failed.has(source.id)) continue;
      let q: PriceQuote | undefined;
      try {
        q = await source.lookup(query, this.signal ? { signal: this.signal } : {});
      } catch (e) {
        const err = toSdxError(e, "SDX_PRICING", "backend");
        this.failed.set(source.id, {
          code: "SDX_PRICE_SOURCE_FAILED",
          severity: "warning",
          path: "",
          message: `price source ${source.id} failed (${err.message}); its prices were skipped`,
          hint: err.hint ?? "Check the source's configuration; the embedded catalog is used meanwhile.",
        });
        continue;
      }
      if (!q) continue;
      found = found ? withSpotFrom(found, q) : q;
      if (found.spotUsd !== undefined && (query.kind !== "vm" || found.vm)) return found;
    }
    const fromCatalog = lookupPrice(this.catalog, query);
    if (!fromCatalog) return found;
    return found ? withSpotFrom(found, fromCatalog) : fromCatalog;
  }
}

/** Fills the spot figure (and a missing VM shape) of `q` from `other`. */
function withSpotFrom(q: PriceQuote, other: PriceQuote): PriceQuote {
  const spot = q.spotUsd === undefined && other.spotUsd !== undefined
    ? { spotUsd: other.spotUsd, spotProvenance: other.spotProvenance ?? other.provenance }
    : {};
  const vm = q.vm === undefined && other.vm !== undefined ? { vm: other.vm } : {};
  return { ...q, ...spot, ...vm };
}
