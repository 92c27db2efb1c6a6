import { SdxError, type PriceProvenance, type PriceProvider } from "@sdx/sdk";

/** CPU architecture as the app model names it. */
export type Arch = "amd64" | "arm64";

/** One upstream a catalog figure was derived from. */
export interface CatalogSource {
  readonly id: string;
  /** Human-readable origin: repository and path, web page or API. */
  readonly name: string;
  readonly url?: string;
  /** ISO date of the upstream snapshot (or when the fact was read). */
  readonly asOf: string;
  /** `high`, `medium` or `low`, where the upstream table rates it. */
  readonly confidence?: string;
  readonly note?: string;
  /** A stable fact (e.g. a control-plane fee) rather than a price snapshot; not used to date the catalog. */
  readonly fact?: boolean;
}

/** Per provider: machine shapes, and per region a flat list of `[typeIndex, onDemand, spotMin, spotMedian, sourceIndex]` (0 = no spot). */
export interface CatalogVmTable {
  /** `[instanceType, vcpus, memoryGiB, arch]`, sorted by name. */
  readonly types: readonly (readonly [string, number, number, Arch])[];
  readonly regions: Readonly<Record<string, readonly number[]>>;
}

/** `[onDemandUsd, spotUsd, onDemandSourceIndex, spotSourceIndex]` per unit-hour. */
export type CatalogFargateDimension = readonly [number, number, number, number];

/**
 * The embedded catalog file (`catalog/catalog-<asOf>.json`), written by
 * `scripts/build-catalog.mjs`. Column-wise so that it parses quickly.
 */
export interface PriceCatalogFile {
  readonly format: "sdx-price-catalog";
  readonly version: 1;
  /** Date of the newest price snapshot in it. */
  readonly asOf: string;
  readonly builtFrom: string;
  readonly sources: readonly CatalogSource[];
  /** Machine tables, inline. */
  readonly vm?: Readonly<Partial<Record<PriceProvider, CatalogVmTable>>>;
  /** Machine tables in sibling files (provider → file name), read on first use so that an AWS-only plan never parses Azure. */
  readonly vmFiles?: Readonly<Partial<Record<PriceProvider, string>>>;
  /** region → arch → vCPU-hour and GB-hour rates (Linux). */
  readonly fargate: Readonly<Record<string, Partial<Record<Arch, { readonly vcpu: CatalogFargateDimension; readonly memory: CatalogFargateDimension }>>>>;
  /** region → `[usdPerGbHour, sourceIndex]` for ephemeral storage above the free 20 GB. */
  readonly fargateEphemeralStorage: Readonly<Record<string, readonly [number, number]>>;
  /** control plane → `[usdPerClusterHour, sourceIndex]`. */
  readonly controlPlane: Readonly<Partial<Record<"eks" | "gke" | "aks", readonly [number, number]>>>;
}

/** A machine type priced in one region. */
export interface VmOffer {
  readonly provider: PriceProvider;
  readonly region: string;
  readonly instanceType: string;
  readonly vcpus: number;
  readonly memoryGiB: number;
  readonly arch: Arch;
  readonly onDemandUsd: number;
  /** Median of the latest per-zone spot prices; undefined when there is no spot offer. */
  readonly spotUsd?: number;
  /** Cheapest zone's spot price. */
  readonly spotMinUsd?: number;
  readonly provenance: PriceProvenance;
}

/** A rate per unit-hour with its provenance. */
export interface CatalogRate {
  readonly usd: number;
  readonly provenance: PriceProvenance;
}

/** Fargate Linux rates for one region and architecture. */
export interface FargateRates {
  readonly region: string;
  readonly arch: Arch;
  readonly vcpu: CatalogRate;
  readonly memory: CatalogRate;
  /** Fargate Spot; undefined where not offered. */
  readonly spotVcpu?: CatalogRate;
  readonly spotMemory?: CatalogRate;
  /** Ephemeral storage above 20 GB per task, per GB-hour; undefined when unknown for the region. */
  readonly ephemeralStorage?: CatalogRate;
}

const PROVIDERS: readonly PriceProvider[] = ["aws", "gcp", "azure"];
const STRIDE = 5;

/**
 * Read access to a price catalog. Indexes are built lazily per provider and
 * region, so loading stays cheap and a lookup touches only what it needs.
 */
export class PriceCatalog {
  readonly file: PriceCatalogFile;
  private readonly typeIndex = new Map<PriceProvider, Map<string, number>>();
  private readonly regionIndex = new Map<string, Map<number, number>>();
  private readonly tables = new Map<PriceProvider, CatalogVmTable | undefined>();
  private readonly readVmFile: ((name: string) => string) | undefined;

  /** `readVmFile` reads a sibling file named in `vmFiles`. */
  constructor(file: PriceCatalogFile, readVmFile?: (name: string) => string) {
    if (file.format !== "sdx-price-catalog" || file.version !== 1) {
      throw new SdxError("SDX_PRICING", `not an sdx price catalog (format ${String(file.format)}, version ${String(file.version)})`, {
        fault: "internal",
        hint: "Rebuild it with packages/pricing/scripts/build-catalog.mjs.",
      });
    }
    this.file = file;
    this.readVmFile = readVmFile;
  }

  /** A provider's machine table, parsed on first use. */
  table(provider: PriceProvider): CatalogVmTable | undefined {
    if (this.tables.has(provider)) return this.tables.get(provider);
    let t = this.file.vm?.[provider];
    const name = this.file.vmFiles?.[provider];
    if (!t && name) {
      if (!this.readVmFile) throw new SdxError("SDX_PRICING", `the catalog's ${provider} table is in ${name}, which cannot be read here`, { fault: "internal" });
      t = JSON.parse(this.readVmFile(name)) as CatalogVmTable;
    }
    this.tables.set(provider, t);
    return t;
  }

  /** Date of the newest price snapshot. */
  get asOf(): string {
    return this.file.asOf;
  }

  /** Providers with machine prices. */
  providers(): readonly PriceProvider[] {
    return PROVIDERS.filter((p) => this.file.vm?.[p] !== undefined || this.file.vmFiles?.[p] !== undefined);
  }

  /** Regions with machine prices for a provider, sorted. */
  regions(provider: PriceProvider): readonly string[] {
    return Object.keys(this.table(provider)?.regions ?? {});
  }

  /** Every machine type of a provider, sorted. */
  instanceTypes(provider: PriceProvider): readonly string[] {
    return (this.table(provider)?.types ?? []).map((t) => t[0]);
  }

  /** Regions with Fargate rates. */
  fargateRegions(): readonly string[] {
    return Object.keys(this.file.fargate);
  }

  /** Provenance of a figure taken from source `index`. */
  provenance(index: number, sku?: string): PriceProvenance {
    const s = this.file.sources[index];
    return { source: `embedded-catalog/${s?.id ?? "unknown"}`, asOf: s?.asOf ?? this.file.asOf, ...(sku === undefined ? {} : { sku }) };
  }

  /** The upstream behind source `index`. */
  source(index: number): CatalogSource | undefined {
    return this.file.sources[index];
  }

  /** One machine type in one region, or undefined when the catalog has no price for it. */
  vm(provider: PriceProvider, region: string, instanceType: string): VmOffer | undefined {
    const typeIdx = this.types(provider).get(instanceType);
    if (typeIdx === undefined) return undefined;
    const at = this.cells(provider, region).get(typeIdx);
    return at === undefined ? undefined : this.offerAt(provider, region, at);
  }

  /** Every machine type priced in a region, in name order. */
  vmOffers(provider: PriceProvider, region: string): VmOffer[] {
    const flat = this.table(provider)?.regions[region];
    if (!flat) return [];
    const out: VmOffer[] = [];
    for (let at = 0; at < flat.length; at += STRIDE) out.push(this.offerAt(provider, region, at));
    return out;
  }

  /** The shape of a machine type, wherever it is priced. */
  vmShape(provider: PriceProvider, instanceType: string): { vcpus: number; memoryGiB: number; arch: Arch } | undefined {
    const i = this.types(provider).get(instanceType);
    const t = i === undefined ? undefined : this.table(provider)?.types[i];
    return t ? { vcpus: t[1], memoryGiB: t[2], arch: t[3] } : undefined;
  }

  /** Fargate rates for a region and architecture, or undefined when not in the catalog. */
  fargate(region: string, arch: Arch): FargateRates | undefined {
    const r = this.file.fargate[region]?.[arch];
    if (!r) return undefined;
    const suffix = arch === "arm64" ? "Fargate-ARM-" : "Fargate-";
    const rate = (usd: number, src: number, sku: string): CatalogRate => ({ usd, provenance: this.provenance(src, sku) });
    const storage = this.file.fargateEphemeralStorage[region];
    return {
      region,
      arch,
      vcpu: rate(r.vcpu[0], r.vcpu[2], `${suffix}vCPU-Hours:perCPU`),
      memory: rate(r.memory[0], r.memory[2], `${suffix}GB-Hours`),
      ...(r.vcpu[1] > 0 && r.memory[1] > 0
        ? { spotVcpu: rate(r.vcpu[1], r.vcpu[3], `${suffix}vCPU-Hours:perCPU (spot)`), spotMemory: rate(r.memory[1], r.memory[3], `${suffix}GB-Hours (spot)`) }
        : {}),
      ...(storage ? { ephemeralStorage: rate(storage[0], storage[1], "Fargate-EphemeralStorage-GB-Hours") } : {}),
    };
  }

  /** A managed control plane's fee per cluster-hour. */
  controlPlane(name: "eks" | "gke" | "aks"): CatalogRate | undefined {
    const c = this.file.controlPlane[name];
    return c ? { usd: c[0], provenance: this.provenance(c[1], `${name} control plane`) } : undefined;
  }

  /** Iterates every (type, region) price of a provider without allocating offers: for whole-catalog scans. */
  forEachVmPrice(
    provider: PriceProvider,
    visit: (typeIndex: number, region: string, onDemandUsd: number, spotUsd: number | undefined) => void,
  ): void {
    const table = this.table(provider);
    if (!table) return;
    for (const region in table.regions) {
      const flat = table.regions[region]!;
      for (let at = 0; at < flat.length; at += STRIDE) {
        const spot = flat[at + 3]!;
        visit(flat[at]!, region, flat[at + 1]!, spot > 0 ? spot : undefined);
      }
    }
  }

  /** `[instanceType, vcpus, memoryGiB, arch]` by type index, for {@link forEachVmPrice}. */
  typeAt(provider: PriceProvider, typeIndex: number): readonly [string, number, number, Arch] | undefined {
    return this.table(provider)?.types[typeIndex];
  }

  private types(provider: PriceProvider): Map<string, number> {
    let m = this.typeIndex.get(provider);
    if (!m) {
      m = new Map((this.table(provider)?.types ?? []).map((t, i) => [t[0], i]));
      this.typeIndex.set(provider, m);
    }
    return m;
  }

  private cells(provider: PriceProvider, region: string): Map<number, number> {
    const key = `${provider}\t${region}`;
    let m = this.regionIndex.get(key);
    if (!m) {
      m = new Map();
      const flat = this.table(provider)?.regions[region] ?? [];
      for (let at = 0; at < flat.length; at += STRIDE) m.set(flat[at]!, at);
      this.regionIndex.set(key, m);
    }
    return m;
  }

  private offerAt(provider: PriceProvider, region: string, at: number): VmOffer {
    const table = this.table(provider)!;
    const flat = table.regions[region]!;
    const [instanceType, vcpus, memoryGiB, arch] = table.types[flat[at]!]!;
    const spotMin = flat[at + 2]!;
    const spotMedian = flat[at + 3]!;
    return {
      provider, region, instanceType, vcpus, memoryGiB, arch,
      onDemandUsd: flat[at + 1]!,
      ...(spotMedian > 0 ? { spotUsd: spotMedian, spotMinUsd: spotMin } : {}),
      provenance: this.provenance(flat[at + 4]!, instanceType),
    };
  }
}
