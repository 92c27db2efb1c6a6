/** One row of DescribeSpotPriceHistory (as the SDK returns it: the price is a string). */
export interface SpotPriceRow {
  readonly AvailabilityZone?: string;
  readonly InstanceType?: string;
  readonly ProductDescription?: string;
  readonly SpotPrice?: string;
  readonly Timestamp?: Date | string;
}

/** The current spot price of one zone: its latest DescribeSpotPriceHistory row. */
export interface SpotZonePrice {
  /** Zone name as the account sees it (`us-east-1a`). */
  readonly az: string;
  readonly usd: number;
  /** When the price took effect, ISO. */
  readonly at: string;
}

/** Current spot prices of one instance type across a region's zones. */
export interface SpotSummary {
  readonly instanceType: string;
  readonly minUsd: number;
  /** Median across zones (mean of the two middle values for an even count). */
  readonly medianUsd: number;
  readonly azCount: number;
  /** Latest price-change time among the zones, ISO. */
  readonly asOf: string;
  /** Each zone's current price, by zone name. */
  readonly zones: readonly SpotZonePrice[];
}

/**
 * DescribeSpotPriceHistory has one row per price *change* per zone, so the
 * current price of a zone is its latest row. Takes those, then the min and
 * median across zones, per instance type. Rows with no price are skipped.
 */
export function summariseSpotPrices(rows: readonly SpotPriceRow[]): Map<string, SpotSummary> {
  const latest = new Map<string, { type: string; az: string; usd: number; at: number }>();
  for (const r of rows) {
    const usd = Number(r.SpotPrice);
    const at = r.Timestamp === undefined ? 0 : new Date(r.Timestamp).getTime();
    if (!r.InstanceType || !r.AvailabilityZone || !(usd > 0) || Number.isNaN(at)) continue;
    const key = `${r.InstanceType}\t${r.AvailabilityZone}`;
    const prev = latest.get(key);
    if (!prev || at > prev.at) latest.set(key, { type: r.InstanceType, az: r.AvailabilityZone, usd, at });
  }
  const byType = new Map<string, { usd: number[]; at: number; zones: SpotZonePrice[] }>();
  for (const v of latest.values()) {
    const t = byType.get(v.type) ?? { usd: [], at: 0, zones: [] };
    t.usd.push(v.usd);
    t.zones.push({ az: v.az, usd: v.usd, at: new Date(v.at).toISOString() });
    t.at = Math.max(t.at, v.at);
    byType.set(v.type, t);
  }
  const out = new Map<string, SpotSummary>();
  for (const [instanceType, t] of [...byType].sort(([a], [b]) => a.localeCompare(b))) {
    const s = t.usd.sort((a, b) => a - b);
    const m = s.length >> 1;
    out.set(instanceType, {
      instanceType,
      minUsd: s[0]!,
      medianUsd: s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2,
      azCount: s.length,
      asOf: new Date(t.at).toISOString(),
      zones: t.zones.sort((a, b) => a.az.localeCompare(b.az)),
    });
  }
  return out;
}
