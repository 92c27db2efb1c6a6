#!/usr/bin/env node
// Builds the embedded price catalog of @sdx/pricing.
//
//   node packages/pricing/scripts/build-catalog.mjs [--from <dir>] [--out <dir>]
//   node packages/pricing/scripts/build-catalog.mjs --live [--cache-dir <dir>] [--refresh --regions us-east-1,eu-west-1]
//
// --from    the public price tables (CSV + README). @default $SDX_PRICING_DATA, then ../shared/pricing-data (from the repo root)
// --out     where catalog-<asOf>.json goes. @default packages/pricing/catalog
// --live    overlay AWS prices fetched by `sdx prices refresh` (cache files prices-<region>.json)
// --cache-dir  where those cache files are. @default the user cache dir (as `sdx prices refresh`)
// --refresh    fetch them first with refreshPrices() from the built package (needs AWS credentials)
// --check      build in memory and compare with the committed file; exit 1 when it differs
// --published <dir>  overlay the providers' own price files found in <dir> (*.json, any mix of: AWS bulk
//              offer files and GetProducts pages for AmazonEC2/AmazonECS, GCP Cloud Billing SKU pages,
//              Azure Retail Prices pages); see "published formats" below
//
// The catalog is *derived*: it keeps the fields an estimate needs (shape, on-demand $/h,
// spot min/median $/h, provenance), normalises units (USD per hour, GiB, amd64/arm64),
// drops GPU/accelerator machines and everything else, and stores rows column-wise so
// it parses fast. Its format is described in packages/pricing/README.md.

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = resolve(here, "..");
const repoRoot = resolve(pkgDir, "../..");

// ---------------------------------------------------------------- arguments
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const opt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const fromDir = resolve(repoRoot, opt("from") ?? process.env.SDX_PRICING_DATA ?? "../shared/pricing-data");
const outDir = resolve(opt("out") ?? join(pkgDir, "catalog"));

// ------------------------------------------------------------- provenance
// Dates and upstreams as the data README states them. The README is checked for
// each commit id so that a changed data set cannot keep stale provenance.
const SOURCES = {
  skypilotAws: {
    id: "skypilot-aws-v7",
    name: "skypilot-org/skypilot-catalog catalogs/v7/aws/vms.csv @001367d2 (via pricing-data/aws_ec2_by_region.csv)",
    url: "https://github.com/skypilot-org/skypilot-catalog",
    // The upstream build date is not exposed ("≈2025"): the earliest plausible date is used so
    // that staleness warnings err on the side of warning.
    asOf: "2025-01-01",
    note: "upstream build date not exposed (about 2025); spot = min/median of per-AZ DescribeSpotPriceHistory snapshot",
    mustMention: "001367d22a0033fac286a8c71aeac7109e431bcb",
  },
  anycloudAws: {
    id: "anycloud-aws-2026-04-02",
    name: "anycloud-sh/catalog aws/vms.csv @69b86f0b (SkyPilot schema; via pricing-data/aws_ec2_subset_by_az.csv)",
    url: "https://github.com/anycloud-sh/catalog",
    asOf: "2026-04-02",
    note: "spot min/median computed here from the per-AZ snapshot",
    mustMention: "69b86f0bec0f152ed452516e6fac70ff53106a5a",
  },
  anycloudGcp: {
    id: "anycloud-gcp-2026-05-20",
    name: "anycloud-sh/catalog gcp/vms.csv @62ff0a98 (via pricing-data/gcp_vms_by_zone.csv)",
    url: "https://github.com/anycloud-sh/catalog",
    asOf: "2026-05-20",
    note: "per-zone rows folded per region: on-demand is per region, spot min/median across zones",
    mustMention: "62ff0a987e0c257a89235415d2877812fb1aaf29",
  },
  anycloudAzure: {
    id: "anycloud-azure-2026-05-20",
    name: "anycloud-sh/catalog azure/vms.csv @62ff0a98 (via pricing-data/azure_vms_by_region.csv)",
    url: "https://github.com/anycloud-sh/catalog",
    asOf: "2026-05-20",
    note: "pay-as-you-go Linux; spot is one figure per region; prices below a third of the type's median across regions dropped as anomalies",
    mustMention: "62ff0a987e0c257a89235415d2877812fb1aaf29",
  },
};
// The hand-compiled Fargate/EKS table says "collected 2026" and most of its sources are undated.
const FARGATE_TABLE_AS_OF = "2026-01-01";
// Fargate Spot is a floating rate; where no snapshot exists it is derived from on-demand with the
// low end of the 50–70 % discount range the table records, so that estimates err high.
const FARGATE_SPOT_DERIVED_DISCOUNT = 0.5;
// Not in the data set: public list prices read from the providers' pricing pages.
const CONTROL_PLANE_FACTS = [
  {
    controlPlane: "gke",
    usd: 0.1,
    source: {
      id: "gke-pricing-page",
      name: "cloud.google.com/kubernetes-engine/pricing: cluster management fee $0.10 per cluster-hour (since 2020-06-06); free-tier credit of one zonal/Autopilot cluster not applied",
      url: "https://cloud.google.com/kubernetes-engine/pricing",
      asOf: "2026-11-21",
      confidence: "high",
    },
  },
  {
    controlPlane: "aks",
    usd: 0.1,
    source: {
      id: "aks-pricing-page",
      name: "azure.microsoft.com/pricing/details/kubernetes-service: Standard tier $0.10 per cluster-hour (Free tier $0, no SLA)",
      url: "https://azure.microsoft.com/pricing/details/kubernetes-service/",
      asOf: "2026-11-21",
      confidence: "medium",
    },
  },
];

// Commercial regions where ECS on Fargate is sold (AWS Regional Services List and the Fargate
// pricing page's region selector, read 2025; GovCloud and China partitions left out). The build
// warns about those the data has no rates for; packages/pricing/README.md lists them with why.
export const FARGATE_REGIONS = [
  "af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2",
  "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7",
  "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
  "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "mx-central-1",
  "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
];

// ---------------------------------------------------------------- helpers
/** RFC 4180 CSV → array of objects keyed by the header. Extra unquoted fields are ignored. */
function readCsv(file) {
  const text = readFileSync(join(fromDir, file), "utf8");
  const rows = [];
  let field = "";
  let row = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") row.push(field), (field = "");
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field), (field = "");
      if (row.length > 1 || row[0] !== "") rows.push(row);
      row = [];
    } else field += c;
  }
  if (field !== "" || row.length) row.push(field), rows.push(row);
  const [header, ...body] = rows;
  return body.map((r, i) => Object.fromEntries([...header.map((h, j) => [h, r[j] ?? ""]), ["__line", i + 2]]));
}

const num = (s) => (s === "" || s === undefined ? undefined : Number(s));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
// Averages of 4–6 decimal prices produce float noise (0.03295000000001); 8 decimals is below any list price.
const round = (x) => (x === undefined ? undefined : Math.round(x * 1e8) / 1e8);
function fail(message) {
  console.error(`build-catalog: ${message}`);
  process.exit(1);
}

// ---------------------------------------------------------------- builder
class ProviderTable {
  constructor() {
    this.specs = new Map(); // type → [vcpus, memGiB, arch]
    this.cells = new Map(); // region → Map(type → [od, spotMin, spotMedian, srcIdx])
  }
  put(type, spec, region, od, spotMin, spotMedian, src) {
    const prev = this.specs.get(type);
    if (prev && (prev[0] !== spec[0] || prev[1] !== spec[1] || prev[2] !== spec[2])) {
      fail(`${type} has two shapes: ${prev} vs ${spec}`);
    }
    if (!(od > 0)) fail(`${type} ${region}: on-demand price ${od} is not positive`);
    if (spotMin !== undefined && !(spotMin > 0 && spotMin <= (spotMedian ?? spotMin))) fail(`${type} ${region}: bad spot ${spotMin}/${spotMedian}`);
    this.specs.set(type, spec);
    if (!this.cells.has(region)) this.cells.set(region, new Map());
    this.cells.get(region).set(type, [round(od), round(spotMin) ?? 0, round(spotMedian ?? spotMin) ?? 0, src]);
  }
  /**
   * Drops prices below a third of the same type's median across regions: regional prices differ
   * by tens of percent, not 10× (the Azure table has F*ams_v6 in newzealandnorth at a tenth of
   * every other region). Returns what was dropped.
   */
  dropOutliers() {
    const byType = new Map();
    for (const [region, cells] of this.cells) for (const [type, c] of cells) byType.set(type, [...(byType.get(type) ?? []), [region, c[0]]]);
    const dropped = [];
    for (const [type, list] of byType) {
      const m = median(list.map(([, od]) => od));
      for (const [region, od] of list) {
        if (od < m / 3) {
          this.cells.get(region).delete(type);
          dropped.push(`${type}@${region} $${od} (median $${m})`);
        }
      }
    }
    return dropped;
  }
  toJSON() {
    const types = [...this.specs.keys()].sort();
    const index = new Map(types.map((t, i) => [t, i]));
    const regions = {};
    for (const region of [...this.cells.keys()].sort()) {
      const flat = [];
      const cells = this.cells.get(region);
      for (const type of [...cells.keys()].sort((a, b) => index.get(a) - index.get(b))) flat.push(index.get(type), ...cells.get(type));
      regions[region] = flat;
    }
    return { types: types.map((t) => [t, ...this.specs.get(t)]), regions };
  }
}

const sources = [];
const sourceIndex = new Map();
function source(entry) {
  if (!sourceIndex.has(entry.id)) {
    const { mustMention: _m, ...rest } = entry;
    sourceIndex.set(entry.id, sources.length);
    sources.push(rest);
  }
  return sourceIndex.get(entry.id);
}

function buildFromCsv() {
  const readme = readFileSync(join(fromDir, "README.md"), "utf8");
  for (const s of Object.values(SOURCES)) {
    if (!readme.includes(s.mustMention)) fail(`the data README no longer mentions ${s.mustMention} (${s.id}); update SOURCES in this script`);
  }

  // AWS EC2: the full table first, then the newer per-AZ subset on top.
  const aws = new ProviderTable();
  for (const r of readCsv("aws_ec2_by_region.csv")) {
    const src = r.source.startsWith("derived:")
      ? source({ ...SOURCES.skypilotAws, id: `skypilot-aws-v7-derived:${r.instance_type}@${r.region}`, name: r.source, note: "on-demand derived from a same-family size; no spot" })
      : r.source.startsWith("anycloud")
        ? source(SOURCES.anycloudAws)
        : source(SOURCES.skypilotAws);
    aws.put(r.instance_type, [num(r.vcpus), num(r.memory_gib), r.arch === "arm64" ? "arm64" : "amd64"], r.region, num(r.ondemand_usd_per_hr), num(r.spot_min_usd_per_hr), num(r.spot_median_usd_per_hr), src);
  }
  const byAz = new Map();
  for (const r of readCsv("aws_ec2_subset_by_az.csv")) {
    const k = `${r.instance_type}\t${r.region}`;
    if (!byAz.has(k)) byAz.set(k, { r, spots: [] });
    const spot = num(r.spot_usd_per_hr);
    if (spot !== undefined) byAz.get(k).spots.push(spot);
  }
  for (const { r, spots } of byAz.values()) {
    aws.put(
      r.instance_type, [num(r.vcpus), num(r.memory_gib), r.arch === "arm64" ? "arm64" : "amd64"], r.region, num(r.ondemand_usd_per_hr),
      spots.length ? Math.min(...spots) : undefined, spots.length ? median(spots) : undefined, source(SOURCES.anycloudAws),
    );
  }

  // GCP: per zone → per region. GPU hosts (a2/a3/a4/g2) are priced without their GPUs upstream, so they are dropped.
  const gcp = new ProviderTable();
  const gcpCells = new Map();
  for (const r of readCsv("gcp_vms_by_zone.csv")) {
    if (r.AcceleratorName || !r.InstanceType || /^(a2|a3|a4|g2)-/.test(r.InstanceType)) continue;
    const k = `${r.InstanceType}\t${r.Region}`;
    if (!gcpCells.has(k)) gcpCells.set(k, { r, od: new Set(), spots: [] });
    const cell = gcpCells.get(k);
    cell.od.add(num(r.Price));
    if (num(r.SpotPrice) > 0) cell.spots.push(num(r.SpotPrice));
  }
  const gcpSrc = source(SOURCES.anycloudGcp);
  for (const { r, od, spots } of gcpCells.values()) {
    if (od.size !== 1) fail(`gcp ${r.InstanceType} ${r.Region} has several on-demand prices`);
    const arch = /^(t2a|c4a|n4a)-/.test(r.InstanceType) ? "arm64" : "amd64";
    gcp.put(r.InstanceType, [num(r.vCPUs), num(r.MemoryGiB), arch], r.Region, [...od][0], spots.length ? Math.min(...spots) : undefined, spots.length ? median(spots) : undefined, gcpSrc);
  }

  // Azure: per region already. Ampere (Arm) sizes carry a "p" among the feature letters: D2ps_v5, E4pds_v5.
  const azure = new ProviderTable();
  const azSrc = source(SOURCES.anycloudAzure);
  for (const r of readCsv("azure_vms_by_region.csv")) {
    if (r.AcceleratorName || !r.InstanceType) continue;
    const arch = /^Standard_[A-Z]+\d+[a-z]*p[a-z]*_v\d/.test(r.InstanceType) ? "arm64" : "amd64";
    const spot = num(r.SpotPrice) > 0 ? num(r.SpotPrice) : undefined;
    azure.put(r.InstanceType, [num(r.vCPUs), num(r.MemoryGiB), arch], r.Region, num(r.Price), spot, spot, azSrc);
  }

  // Fargate and control planes from the hand-compiled table, one provenance entry per row.
  const rates = readCsv("aws_fargate_eks_rates.csv");
  const rowSource = (r) =>
    source({ id: `aws_fargate_eks_rates.csv#${r.__line}`, name: r.source, asOf: FARGATE_TABLE_AS_OF, confidence: r.confidence });
  const fargate = {};
  const dims = { vcpu: "vcpu", memory: "memory" };
  const cell = (region, arch) => ((fargate[region] ??= {})[arch] ??= {});
  for (const r of rates) {
    const arch = r.os_arch === "linux/x86_64" ? "amd64" : r.os_arch === "linux/arm64" ? "arm64" : undefined;
    if (!arch || !dims[r.dimension] || r.region === "any") continue;
    if (r.service === "fargate") cell(r.region, arch)[r.dimension] = { od: num(r.usd_per_unit), odSrc: rowSource(r) };
  }
  for (const r of rates) {
    const arch = r.os_arch === "linux/x86_64" ? "amd64" : r.os_arch === "linux/arm64" ? "arm64" : undefined;
    if (r.service !== "fargate_spot" || !arch || !dims[r.dimension]) continue;
    const d = fargate[r.region]?.[arch]?.[r.dimension];
    if (!d) fail(`Fargate Spot row ${r.__line} has no on-demand rate to go with`);
    Object.assign(d, { spot: num(r.usd_per_unit), spotSrc: rowSource(r) });
  }
  const derivedSrc = source({
    id: "fargate-spot-derived",
    name: `Fargate Spot derived as ${(1 - FARGATE_SPOT_DERIVED_DISCOUNT) * 100}% of on-demand (low end of the 50-70% discount range in aws_fargate_eks_rates.csv); a snapshot ratio of the same region is used when one dimension was observed`,
    asOf: FARGATE_TABLE_AS_OF,
    confidence: "low",
  });
  const outFargate = {};
  for (const region of Object.keys(fargate).sort()) {
    for (const arch of Object.keys(fargate[region]).sort()) {
      const { vcpu, memory } = fargate[region][arch];
      if (!vcpu || !memory) {
        console.warn(`build-catalog: Fargate ${region} ${arch} lacks ${vcpu ? "memory" : "vCPU"}; skipped`);
        continue;
      }
      // A dimension without a snapshot takes the discount observed for another one in the same
      // region (the snapshots show one ratio per region across dimensions and architectures).
      const observed = Object.values(fargate[region]).flatMap((a) => [a.vcpu, a.memory]).find((d) => d?.spot !== undefined);
      const ratio = vcpu.spot !== undefined ? vcpu.spot / vcpu.od : memory.spot !== undefined ? memory.spot / memory.od : observed ? observed.spot / observed.od : 1 - FARGATE_SPOT_DERIVED_DISCOUNT;
      for (const d of [vcpu, memory]) if (d.spot === undefined) Object.assign(d, { spot: round(d.od * ratio), spotSrc: derivedSrc });
      (outFargate[region] ??= {})[arch] = {
        vcpu: [vcpu.od, vcpu.spot, vcpu.odSrc, vcpu.spotSrc],
        memory: [memory.od, memory.spot, memory.odSrc, memory.spotSrc],
      };
    }
  }
  const storage = {};
  for (const r of rates) if (r.service === "fargate" && r.dimension === "ephemeral_storage_over_20GB") storage[r.region] = [num(r.usd_per_unit), rowSource(r)];

  const controlPlane = {};
  for (const r of rates) {
    if (r.service === "eks" && r.dimension === "control_plane_standard_support") controlPlane.eks = [num(r.usd_per_unit), rowSource(r)];
  }
  for (const f of CONTROL_PLANE_FACTS) controlPlane[f.controlPlane] = [f.usd, source({ ...f.source, fact: true })];

  for (const [provider, table] of Object.entries({ aws, gcp, azure })) {
    const dropped = table.dropOutliers();
    if (dropped.length) console.warn(`build-catalog: ${provider}: dropped ${dropped.length} anomalous prices (< 1/3 of the type's median across regions): ${dropped.slice(0, 3).join("; ")}${dropped.length > 3 ? "; …" : ""}`);
  }
  return { vm: { aws, gcp, azure }, fargate: outFargate, fargateEphemeralStorage: storage, controlPlane };
}

// ---------------------------------------------------------------- published formats
// The providers' own price files, as published, for release-time builds:
//   AWS bulk offer files   offers/v1.0/aws/<AmazonEC2|AmazonECS>/current/<region>/index.json
//   AWS GetProducts pages  { FormatVersion, PriceList: [<JSON string>…], NextToken }
//   GCP Cloud Billing      services/6F81-5844-456A/skus pages { skus: […], nextPageToken }
//   Azure Retail Prices    prices.azure.com/api/retail/prices pages { Items: […], NextPageLink }
// The AWS items are read by the same parsers as `sdx prices refresh` (src/sources/parse-price-list.ts,
// through Node's type stripping; dist/ when the sources cannot be loaded, e.g. under node_modules).
const priceList = await import("../src/sources/parse-price-list.ts").catch((e) => import("../dist/sources/parse-price-list.js").catch(() => Promise.reject(e)));

/** Which published format a parsed JSON document is, or undefined. */
export function publishedFormat(doc) {
  if (doc && typeof doc === "object") {
    if (typeof doc.offerCode === "string" && doc.products && doc.terms) return "aws-offer";
    if (Array.isArray(doc.PriceList)) return "aws-get-products";
    if (Array.isArray(doc.skus)) return "gcp-skus";
    if (Array.isArray(doc.Items)) return "azure-retail";
  }
  return undefined;
}

/**
 * AWS prices from an offer file or GetProducts pages: EC2 Linux shared on-demand per
 * (type, region), Fargate on-demand and Fargate Spot per region, arch and dimension.
 * `asOf` is the newest publication or effective date seen.
 */
export function readAwsPriceList(docs) {
  const items = docs.flatMap((d) => (publishedFormat(d) === "aws-offer" ? priceList.offerFileItems(d) : d.PriceList.map((x) => priceList.decodePriceListItem(x)).filter(Boolean)));
  const dates = items.flatMap((p) => [p.publicationDate, ...Object.values(p.terms?.OnDemand ?? {}).map((t) => t.effectiveDate)]).filter(Boolean);
  return {
    ec2: priceList.parseEc2Products(items),
    fargate: priceList.parseFargateProducts(items),
    asOf: dates.sort().at(-1)?.slice(0, 10),
  };
}

const GCP_DESCRIPTION = /^((?:Spot )?Preemptible )?([A-Z][A-Z0-9]*) (?:AMD |Arm |Intel )?Instance (Core|Ram) running in /;
const SHARED_CORE = /^(e2-(micro|small|medium)|f1-micro|g1-small)$/;
const gcpUsd = (m) => Number(m.units ?? 0) + (m.nanos ?? 0) / 1e9;

/**
 * GCP machine prices from Cloud Billing Catalog SKUs (Compute Engine). GCE bills a
 * predefined machine type as vCPUs × its family's core rate + GiB × its RAM rate, so
 * the SKUs give per (family, region) rates, and `shapes` (type → [vcpus, memoryGiB])
 * says which machine types to price. Commitments, sole tenancy, custom/extended
 * memory and accelerators are not machine rates and are skipped. Rates are the
 * first tier's unit price (USD per hour, per GiB-hour for RAM).
 */
export function readGcpSkus(docs, shapes) {
  const rates = new Map(); // `${family}\t${region}` → { core, ram, spotCore, spotRam }
  const dates = [];
  for (const sku of docs.flatMap((d) => d.skus)) {
    const m = GCP_DESCRIPTION.exec(sku.description ?? "");
    const usage = sku.category?.usageType;
    if (!m || sku.category?.resourceFamily !== "Compute" || (usage !== "OnDemand" && usage !== "Preemptible")) continue;
    const info = sku.pricingInfo?.[0];
    const tier = info?.pricingExpression?.tieredRates?.find((t) => (t.startUsageAmount ?? 0) === 0);
    if (!tier) continue;
    const key = (usage === "Preemptible" ? ["spotCore", "spotRam"] : ["core", "ram"])[m[3] === "Core" ? 0 : 1];
    for (const region of sku.serviceRegions ?? []) {
      const k = `${m[2].toLowerCase()}\t${region}`;
      rates.set(k, { ...rates.get(k), [key]: gcpUsd(tier.unitPrice) });
    }
    if (info.effectiveTime) dates.push(info.effectiveTime);
  }
  const out = [];
  for (const [type, [vcpus, memoryGiB]] of [...shapes].sort(([a], [b]) => a.localeCompare(b))) {
    // Shared-core types bill a fraction of a core (e2-micro: 2 vCPUs at 0.25), not vCPUs × the core rate.
    if (SHARED_CORE.test(type)) continue;
    const family = type.split("-")[0];
    for (const [k, r] of rates) {
      const [f, region] = k.split("\t");
      if (f !== family || r.core === undefined || r.ram === undefined) continue;
      const spot = r.spotCore !== undefined && r.spotRam !== undefined ? round(vcpus * r.spotCore + memoryGiB * r.spotRam) : undefined;
      out.push({ type, region, onDemandUsd: round(vcpus * r.core + memoryGiB * r.ram), spotUsd: spot });
    }
  }
  return { prices: out, asOf: dates.sort().at(-1)?.slice(0, 10) };
}

/**
 * Azure machine prices from Retail Prices API pages: Linux pay-as-you-go
 * (`type: Consumption`, product name not ending in "Windows", primary meter region) and
 * Spot (sku name ending in " Spot"), per (armSkuName, armRegionName), USD per hour.
 * Low Priority, reservations, Dev/Test and Windows items are skipped.
 */
export function readAzureRetail(docs) {
  const cells = new Map();
  const dates = [];
  for (const it of docs.flatMap((d) => d.Items)) {
    if (it.serviceName !== "Virtual Machines" || it.type !== "Consumption" || it.currencyCode !== "USD" || it.unitOfMeasure !== "1 Hour") continue;
    if (/ Windows$/.test(it.productName ?? "") || / Low Priority$/.test(it.skuName ?? "") || it.isPrimaryMeterRegion === false) continue;
    if (!it.armSkuName || !it.armRegionName || !(it.retailPrice > 0)) continue;
    const k = `${it.armSkuName}\t${it.armRegionName}`;
    const cell = cells.get(k) ?? { type: it.armSkuName, region: it.armRegionName };
    if (/ Spot$/.test(it.skuName ?? "")) cell.spotUsd = it.retailPrice;
    else cell.onDemandUsd = it.retailPrice;
    cells.set(k, cell);
    if (it.effectiveStartDate) dates.push(it.effectiveStartDate);
  }
  const prices = [...cells.values()].filter((c) => c.onDemandUsd !== undefined).sort((a, b) => a.type.localeCompare(b.type) || a.region.localeCompare(b.region));
  return { prices, asOf: dates.sort().at(-1)?.slice(0, 10) };
}

/** Reads every *.json under `dir` (sorted, so builds are deterministic) and overlays what it recognises on `built`. */
function overlayPublished(built, dir) {
  const files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
  const byFormat = new Map();
  for (const f of files) {
    const doc = JSON.parse(readFileSync(join(dir, f), "utf8"));
    const format = publishedFormat(doc);
    if (!format) fail(`${join(dir, f)}: not an AWS offer file, GetProducts page, GCP SKU page or Azure Retail Prices page`);
    byFormat.set(format, [...(byFormat.get(format) ?? []), [f, doc]]);
  }
  const src = (format, names, asOf, note) =>
    source({ id: `published:${format}@${asOf}`, name: `${PUBLISHED_NAMES[format]}: ${names.join(", ")}`, asOf: asOf ?? fail(`${names.join(", ")}: no publication date`), confidence: "high", ...(note ? { note } : {}) });
  const report = [];
  const aws = [...(byFormat.get("aws-offer") ?? []), ...(byFormat.get("aws-get-products") ?? [])];
  if (aws.length) {
    const r = readAwsPriceList(aws.map(([, d]) => d));
    const names = aws.map(([f]) => f);
    const s = src("aws", names, r.asOf, "on-demand from the Price List; EC2 spot, where kept, is the earlier per-AZ snapshot");
    for (const e of r.ec2) {
      if (!e.region || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(e.region)) continue;
      const prev = built.vm.aws.cells.get(e.region)?.get(e.instanceType);
      built.vm.aws.put(e.instanceType, [e.vcpus, e.memoryGiB, e.arch], e.region, e.onDemandUsd, prev?.[1] || undefined, prev?.[2] || undefined, s);
    }
    overlayFargate(built, r.fargate, s);
    report.push(`aws ${r.ec2.length} EC2 prices, ${r.fargate.length} Fargate rates`);
  }
  const gcp = byFormat.get("gcp-skus") ?? [];
  if (gcp.length) {
    const shapes = new Map([...built.vm.gcp.specs].map(([t, [v, m]]) => [t, [v, m]]));
    const r = readGcpSkus(gcp.map(([, d]) => d), shapes);
    const s = src("gcp", gcp.map(([f]) => f), r.asOf);
    for (const p of r.prices) built.vm.gcp.put(p.type, built.vm.gcp.specs.get(p.type), p.region, p.onDemandUsd, p.spotUsd, p.spotUsd, s);
    report.push(`gcp ${r.prices.length} machine prices`);
  }
  const azure = byFormat.get("azure-retail") ?? [];
  if (azure.length) {
    const r = readAzureRetail(azure.map(([, d]) => d));
    const s = src("azure", azure.map(([f]) => f), r.asOf);
    let unknown = 0;
    for (const p of r.prices) {
      // The Retail Prices API carries no shape: only sizes the tables already know are priced.
      const spec = built.vm.azure.specs.get(p.type);
      if (!spec) unknown++;
      else built.vm.azure.put(p.type, spec, p.region, p.onDemandUsd, p.spotUsd, p.spotUsd, s);
    }
    report.push(`azure ${r.prices.length - unknown} machine prices${unknown ? ` (${unknown} of unknown size skipped)` : ""}`);
  }
  return report;
}

const PUBLISHED_NAMES = {
  aws: "AWS Price List (bulk offer files / GetProducts)",
  gcp: "GCP Cloud Billing Catalog API SKUs (Compute Engine)",
  azure: "Azure Retail Prices API (Virtual Machines)",
};

/** Fargate rates read from the Price List: on-demand with `src`; spot published → `src`, else the derived rule. */
function overlayFargate(built, rates, src) {
  const by = new Map(rates.map((r) => [`${r.region}\t${r.arch ?? ""}\t${r.dimension}\t${r.market}`, r]));
  const regions = [...new Set(rates.map((r) => r.region))].filter(Boolean).sort();
  for (const region of regions) {
    for (const arch of ["amd64", "arm64"]) {
      const get = (dimension, market) => by.get(`${region}\t${arch}\t${dimension}\t${market}`);
      const vcpu = get("vcpu", "on-demand");
      const memory = get("memory", "on-demand");
      if (!vcpu || !memory) continue;
      const sv = get("vcpu", "spot");
      const sm = get("memory", "spot");
      let spot;
      if (sv && sm) spot = { vcpu: sv.onDemandUsd, memory: sm.onDemandUsd, src };
      else {
        // No published spot: keep the ratio of what the table had for this region, else the derived discount.
        const prev = built.fargate[region]?.[arch];
        const ratio = prev ? prev.vcpu[1] / prev.vcpu[0] : 1 - FARGATE_SPOT_DERIVED_DISCOUNT;
        spot = { vcpu: round(vcpu.onDemandUsd * ratio), memory: round(memory.onDemandUsd * ratio), src: prev ? prev.vcpu[3] : source({ id: "fargate-spot-derived" }) };
      }
      (built.fargate[region] ??= {})[arch] = {
        vcpu: [vcpu.onDemandUsd, spot.vcpu, src, spot.src],
        memory: [memory.onDemandUsd, spot.memory, src, spot.src],
      };
    }
    const storage = by.get(`${region}\t\tephemeral-storage\ton-demand`);
    if (storage) built.fargateEphemeralStorage[region] = [storage.onDemandUsd, src];
  }
  // Region keys stay sorted so the output does not depend on the order files were read.
  for (const obj of [built.fargate, built.fargateEphemeralStorage]) {
    const sorted = Object.keys(obj).sort().map((k) => [k, obj[k]]);
    for (const [k] of sorted) delete obj[k];
    for (const [k, v] of sorted) obj[k] = v;
  }
}

// ---------------------------------------------------------------- live overlay
function defaultCacheDir() {
  if (process.env.SDX_CACHE_DIR) return process.env.SDX_CACHE_DIR;
  if (process.platform === "win32") return join(process.env.LOCALAPPDATA ?? join(homedir(), "AppData", "Local"), "sdx", "cache");
  if (process.platform === "darwin") return join(homedir(), "Library", "Caches", "sdx");
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "sdx");
}

async function overlayLive(built) {
  const cacheDir = resolve(opt("cache-dir") ?? defaultCacheDir());
  if (flag("refresh")) {
    const regions = (opt("regions") ?? "us-east-1").split(",");
    const { refreshPrices } = await import(join(pkgDir, "dist", "index.js"));
    const res = await refreshPrices({ regions, cacheDir });
    for (const f of res.files) console.log(`refreshed ${f.region}: ${f.ec2} EC2 types, ${f.spot} spot, Fargate ${f.fargate ? "yes" : "no"}, Fargate Spot ${f.fargateSpot ? "yes" : "no"} → ${f.path}`);
  }
  const files = readdirSync(cacheDir).filter((f) => /^prices-[a-z0-9-]+\.json$/.test(f)).sort();
  if (files.length === 0) fail(`--live: no prices-<region>.json in ${cacheDir}; run \`sdx prices refresh\` or pass --refresh`);
  for (const f of files) {
    const cache = JSON.parse(readFileSync(join(cacheDir, f), "utf8"));
    if (cache.format !== "sdx-price-cache" || cache.version !== 1) fail(`${f}: not an sdx price cache (version 1)`);
    const asOf = cache.fetchedAt.slice(0, 10);
    const src = source({ id: `aws-pricing-api@${asOf}`, name: "AWS Price List Query API GetProducts (AmazonEC2, AmazonECS) + EC2 DescribeSpotPriceHistory", asOf, confidence: "high" });
    for (const e of cache.ec2) {
      built.vm.aws.put(e.instanceType, [e.vcpus, e.memoryGiB, e.arch], cache.region, e.onDemandUsd, e.spotMinUsd, e.spotMedianUsd, src);
    }
    // Fargate Spot where the Price List published it (`spotUsd`), else the catalog's ratio or the derived discount.
    const rates = cache.fargate.flatMap((x) => [
      { region: cache.region, arch: x.arch, dimension: x.dimension, market: "on-demand", onDemandUsd: x.onDemandUsd },
      ...(x.spotUsd === undefined ? [] : [{ region: cache.region, arch: x.arch, dimension: x.dimension, market: "spot", onDemandUsd: x.spotUsd }]),
    ]);
    overlayFargate(built, rates, src);
  }
}

// ---------------------------------------------------------------- main
async function main() {
  const started = performance.now();
  const built = buildFromCsv();
  const published = opt("published") ? overlayPublished(built, resolve(opt("published"))) : [];
  if (flag("live")) await overlayLive(built);
  const missing = FARGATE_REGIONS.filter((r) => !built.fargate[r]);
  if (missing.length) console.warn(`build-catalog: no Fargate rates for ${missing.length} of the ${FARGATE_REGIONS.length} regions where Fargate is sold (${missing.join(", ")}); \`sdx prices refresh --region <r>\` fills them where AWS credentials exist`);

  // Named after the newest machine-price snapshot in it (not the control-plane facts, which are
  // re-read rarely), so rebuilding from the same data gives the same file.
  const asOf = sources.filter((s) => !s.fact).map((s) => s.asOf).sort().at(-1);
  const name = `catalog-${asOf}`;
  const vm = { aws: built.vm.aws.toJSON(), gcp: built.vm.gcp.toJSON(), azure: built.vm.azure.toJSON() };
  // One line per region keeps diffs between catalog versions readable.
  const serialise = (value) => JSON.stringify(value).replace(/\],"(?=[A-Za-z0-9_-]+":\[)/g, '],\n"').concat("\n");
  const files = {
    // The index: small, always read. Machine tables are sibling files, read per provider on first use.
    [`${name}.json`]: serialise({
      format: "sdx-price-catalog",
      version: 1,
      asOf,
      builtFrom: ["pricing-data CSV", ...(published.length ? ["published price files"] : []), ...(flag("live") ? ["AWS Price List API"] : [])].join(" + "),
      sources,
      vmFiles: Object.fromEntries(Object.keys(vm).map((p) => [p, `${name}.${p}.json`])),
      fargate: built.fargate,
      fargateEphemeralStorage: built.fargateEphemeralStorage,
      controlPlane: built.controlPlane,
    }),
    ...Object.fromEntries(Object.entries(vm).map(([p, table]) => [`${name}.${p}.json`, serialise(table)])),
  };

  if (flag("check")) {
    for (const [file, text] of Object.entries(files)) {
      let committed = "";
      try {
        committed = readFileSync(join(outDir, file), "utf8");
      } catch {}
      if (committed !== text) fail(`${join(outDir, file)} is out of date; run node packages/pricing/scripts/build-catalog.mjs`);
    }
    console.log(`${name}.json is up to date`);
    process.exit(0);
  }
  mkdirSync(outDir, { recursive: true });
  for (const old of readdirSync(outDir)) if (/^catalog-.*\.json$/.test(old) && !(old in files)) rmSync(join(outDir, old));
  for (const [file, text] of Object.entries(files)) writeFileSync(join(outDir, file), text);

  const count = (p) => Object.values(vm[p].regions).reduce((n, a) => n + a.length / 5, 0);
  const kib = (f) => `${f.replace(name, "")} ${(files[f].length / 1024).toFixed(0)} KiB`;
  console.log(
    `wrote ${join(outDir, name)}.json + .{aws,gcp,azure}.json (${Object.keys(files).map(kib).join(", ")}); ` +
      `aws ${count("aws")} / gcp ${count("gcp")} / azure ${count("azure")} (type, region) prices; ` +
      `Fargate ${Object.keys(built.fargate).length} regions; ${sources.length} sources; ${(performance.now() - started).toFixed(0)} ms` +
      (published.length ? `; published: ${published.join("; ")}` : ""),
  );
}

// Run as a script, not when imported (build-catalog.spec.ts imports the readers).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
