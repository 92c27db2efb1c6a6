// Tables for `sdx prices` and `sdx prices refresh`. Pure.
import type { PriceRowView, RefreshPricesView } from "../api/prices.js";
import { formatTable } from "./table.js";

// Unit prices keep the precision the price list has ($0.04048, not $0.0405).
const money = (n: number | undefined): string => (n === undefined ? "-" : `$${Number(n.toFixed(6)).toString()}`);

/** One row per priced item: shape, on-demand and spot prices, unit and provenance. */
export function formatPrices(rows: readonly PriceRowView[]): string {
  return formatTable(
    ["ITEM", "VCPU", "MEM GIB", "ARCH", "ON-DEMAND", "SPOT (MEDIAN)", "SPOT (MIN)", "PER", "SOURCE", "AS OF"],
    rows.map((x) => [x.item, x.vcpus === undefined ? "-" : String(x.vcpus), x.memoryGiB === undefined ? "-" : String(x.memoryGiB), x.arch ?? "-", money(x.onDemandUsd), money(x.spotUsd), money(x.spotMinUsd), x.unit, x.provenance.source, x.provenance.asOf]),
    { rightAlign: [1, 2, 4, 5, 6] },
  );
}

/** One row per refreshed region, then until when the cache is used. */
export function formatPricesRefresh(r: RefreshPricesView): string {
  const table = formatTable(["REGION", "EC2 TYPES", "SPOT", "FARGATE", "FARGATE SPOT", "CACHE FILE"], r.files.map((f) => [f.region, String(f.ec2), String(f.spot), f.fargate ? "yes" : "no", f.fargateSpot ? "price list" : "catalog", f.path]));
  return `${table}\nFetched ${r.fetchedAt}; used until ${r.expiresAt}, then the embedded catalog again.`;
}
