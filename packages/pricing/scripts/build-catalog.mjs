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
    for (const f of res.files) console.log(`refreshed ${f.region}: ${f.ec2} EC2 types, ${f.spot} spot, Fargate ${f.fargate ? "yes" : "no"} → ${f.path}`);
  }
  const files = readdirSync(cacheDir).filter((f) => /^prices-[a-z0-9-]+\.json$/.test(f));
  if (files.length === 0) fail(`--live: no prices-<region>.json in ${cacheDir}; run \`sdx prices refresh\` or pass --refresh`);
  for (const f of files) {
    const cache = JSON.parse(readFileSync(join(cacheDir, f), "utf8"));
    if (cache.format !== "sdx-price-cache" || cache.version !== 1) fail(`${f}: not an sdx price cache (version 1)`);
    const asOf = cache.fetchedAt.slice(0, 10);
    const src = source({ id: `aws-pricing-api@${asOf}`, name: "AWS Price List Query API GetProducts (AmazonEC2, AmazonECS) + EC2 DescribeSpotPriceHistory", asOf, confidence: "high" });
    for (const e of cache.ec2) {
      built.vm.aws.put(e.instanceType, [e.vcpus, e.memoryGiB, e.arch], cache.region, e.onDemandUsd, e.spotMinUsd, e.spotMedianUsd, src);
    }
    for (const arch of ["amd64", "arm64"]) {
      const vcpu = cache.fargate.find((x) => x.arch === arch && x.dimension === "vcpu");
      const memory = cache.fargate.find((x) => x.arch === arch && x.dimension === "memory");
      if (!vcpu || !memory) continue;
      // The Price List carries no Fargate Spot rate: keep a catalog snapshot ratio if any, else the derived discount.
      const prev = built.fargate[cache.region]?.[arch];
      const ratio = prev ? prev.vcpu[1] / prev.vcpu[0] : 1 - FARGATE_SPOT_DERIVED_DISCOUNT;
      const spotSrc = prev ? prev.vcpu[3] : source({ id: "fargate-spot-derived" });
      (built.fargate[cache.region] ??= {})[arch] = {
        vcpu: [vcpu.onDemandUsd, round(vcpu.onDemandUsd * ratio), src, spotSrc],
        memory: [memory.onDemandUsd, round(memory.onDemandUsd * ratio), src, spotSrc],
      };
    }
    const storage = cache.fargate.find((x) => x.dimension === "ephemeral-storage");
    if (storage) built.fargateEphemeralStorage[cache.region] = [storage.onDemandUsd, src];
  }
}

// ---------------------------------------------------------------- main
const started = performance.now();
const built = buildFromCsv();
if (flag("live")) await overlayLive(built);

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
    builtFrom: flag("live") ? "pricing-data CSV + AWS Price List API" : "pricing-data CSV",
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
    `Fargate ${Object.keys(built.fargate).length} regions; ${sources.length} sources; ${(performance.now() - started).toFixed(0)} ms`,
);
