import {
  didYouMean,
  isSdxError,
  SdxError,
  throwIfAborted,
  type Target,
  type App,
  type Billables,
  type BilledTaskSize,
  type ChoosePolicy,
  type CostEstimator,
  type CostModel,
  type DeclaredHost,
  type Diagnostic,
  type EstimateOptions,
  type EstimateReport,
  type NodeReserve,
  type PriceProvider,
  type PriceQuote,
  type PriceSource,
  type PricingProfile,
} from "@sdx/sdk";
import { choose } from "./choose/choose.js";
import { loadEmbeddedCatalog } from "./catalog/load-embedded-catalog.js";
import type { Arch, CatalogRate, FargateRates, PriceCatalog } from "./catalog/price-catalog.js";
import { costLine, HOURS_PER_MONTH, usd, type Candidate, type PricedCandidate, type UnpricedCandidate } from "./estimate/candidate.js";
import { planReplicas } from "./estimate/replica-plan.js";
import { estimateFargate } from "./estimate/estimate-fargate.js";
import { estimateNodes, type NodeType } from "./estimate/estimate-nodes.js";
import { estimateHosts, type PricedHost } from "./estimate/estimate-hosts.js";
import { priceBillables, withBillables } from "./estimate/price-billables.js";
import { CachedPriceSource } from "./sources/cached-price-source.js";
import { defaultCacheDir } from "./sources/price-cache.js";
import { PriceResolver } from "./sources/price-resolver.js";

/** Options for {@link createCostEstimator}. */
export interface CreateCostEstimatorOptions {
  /** @default the embedded catalog, loaded on the first estimate */
  readonly catalog?: PriceCatalog;
  /** Price sources asked before the cache and the catalog, highest `priority` first (the container's `TOKENS.PriceSource` bindings). @default [] */
  readonly sources?: readonly PriceSource[];
  /** Where `sdx prices refresh` caches live AWS prices; `false` to ignore the cache. @default defaultCacheDir() */
  readonly cacheDir?: string | false;
  /** Embedded prices older than this many days raise an `SDX_PRICES_STALE` warning. @default 90 */
  readonly maxCatalogAgeDays?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

const DAY_MS = 86_400_000;
const CONTROL_PLANE_NAMES = { eks: "EKS", gke: "GKE", aks: "AKS" } as const;

/**
 * The @sdx/pricing cost estimator: prices every target of an app by the cost
 * model its backend declares (`EstimateOptions.costModels`): `nodes` packed
 * onto the node types of the target's `pricing` profile after the declared
 * reserve, `tasks` at the declared billed size on Fargate rates, `flat` at the
 * declared monthly price, `hosts` as the declared hosts (each billed, the
 * replicas packed onto them); then picks the cheapest that meets the policy.
 * Targets it cannot price (no model, `unpriced`, missing prices) are rejected
 * with the reason and what to add.
 *
 * @throws SdxError `SDX_PRICING` (fault `user`) when a source is not a PriceSource or two share an id.
 */
export function createCostEstimator(options: CreateCostEstimatorOptions = {}): CostEstimator {
  const sources = checkSources(options.sources ?? []);
  const now = options.now ?? (() => new Date());
  const maxAgeDays = options.maxCatalogAgeDays ?? 90;
  const cacheDir = options.cacheDir === undefined ? defaultCacheDir() : options.cacheDir;

  return {
    async estimate(app: App, estimateOptions: EstimateOptions): Promise<EstimateReport> {
      const catalog = options.catalog ?? loadEmbeddedCatalog();
      const policy = estimateOptions.policy ?? {};
      const offline = estimateOptions.offline ?? false;
      const signal = estimateOptions.signal;
      const clock = now();
      const cache = !offline && cacheDir ? new CachedPriceSource({ cacheDir, now: () => clock }) : undefined;
      const resolver = new PriceResolver({
        sources: offline ? [] : [...sources, ...(cache ? [cache] : [])],
        catalog,
        ...(signal ? { signal } : {}),
      });
      const diagnostics: Diagnostic[] = [];
      const ctx: TargetContext = { app, catalog, resolver, policy, diagnostics, clock };

      const candidates: Candidate[] = [];
      for (const target of estimateOptions.targets ?? app.targets) {
        throwIfAborted(signal);
        const model = estimateOptions.costModels?.get(target.name);
        const candidate = await priceTarget(ctx, target, model);
        const billables = estimateOptions.billables?.get(target.name);
        candidates.push(billables && model ? addBillables(candidate, model, billables) : candidate);
      }
      const result = choose(app, candidates, policy);

      diagnostics.push(...resolver.diagnostics());
      for (const u of cache ? await cache.unusable() : []) {
        diagnostics.push({
          code: "SDX_PRICES_CACHE_UNUSABLE",
          severity: "info",
          path: "",
          message: u.kind === "expired"
            ? `cached AWS prices for ${u.region} expired at ${u.file?.expiresAt ?? "?"}; the embedded catalog is used instead`
            : `the AWS price cache for ${u.region} cannot be read (${u.reason ?? "invalid"}); the embedded catalog is used instead`,
          hint: `Run \`sdx prices refresh --region ${u.region}\`.`,
        });
      }
      const stale = staleness(result.considered, clock, maxAgeDays);
      if (stale) diagnostics.push(stale);

      return {
        estimates: result.considered,
        ...(result.chosen ? { chosen: result.chosen.target } : {}),
        ...(result.reason ? { reason: result.reason } : {}),
        rejected: result.rejected,
        diagnostics,
      };
    },
  };
}

interface TargetContext {
  readonly app: App;
  readonly catalog: PriceCatalog;
  readonly resolver: PriceResolver;
  readonly policy: ChoosePolicy;
  readonly diagnostics: Diagnostic[];
  readonly clock: Date;
}

async function priceTarget(ctx: TargetContext, target: Target, model: CostModel | undefined): Promise<Candidate> {
  try {
    // The backend's declared model decides how a target is priced; its kind never does.
    if (!model) return unpriced(target.name, `target ${target.name} (${target.kind}) cannot be priced: no cost model was given for it (the sdk passes each backend's costModel() to estimate())`);
    switch (model.kind) {
      case "tasks":
        return await priceTasks(ctx, target, model);
      case "nodes":
        return await priceNodeTarget(ctx, target, model.reserve);
      case "flat":
        return priceFlat(ctx, target, model);
      case "hosts":
        return await priceHosts(ctx, target, model);
      case "unpriced":
        return unpriced(target.name, `target ${target.name} (${target.kind}) cannot be priced: ${model.reason}`);
      default:
        return assertNever(model);
    }
  } catch (e) {
    if (isSdxError(e) && e.fault === "user") return unpriced(target.name, e.hint ? `${e.message}. ${e.hint}` : e.message);
    throw e;
  }
}

/**
 * The target's billable items beside compute, priced into its estimate (so
 * the chooser compares complete totals). A flat rate is all-inclusive: its
 * items are not added, and an assumption says so.
 */
function addBillables(candidate: Candidate, model: CostModel, billables: Billables): Candidate {
  if (candidate.kind !== "priced") return candidate;
  const e = candidate.estimate;
  if (model.kind === "flat") {
    if (billables.items.length === 0) return candidate;
    const kinds = [...new Set(billables.items.map((i) => i.kind))].join(", ");
    return { ...candidate, estimate: { ...e, assumptions: [...e.assumptions, `the flat rate is taken as all-inclusive: the billable items its backend declares (${kinds}) are not added`] } };
  }
  const priced = priceBillables({
    billables,
    provider: e.provider,
    region: e.region,
    ...(candidate.machines ? { machines: candidate.machines } : {}),
    // pricing.dedicatedCluster already put the fee in; a declared control plane is the same cluster.
    controlPlaneCharged: e.lines.some((l) => l.unit === "cluster"),
  });
  return withBillables(candidate, priced);
}

async function priceNodeTarget(ctx: TargetContext, target: Target, reserve: NodeReserve): Promise<Candidate> {
  const pricing = target.pricing;
  if (!pricing) {
    return unpriced(target.name, `target ${target.name} (${target.kind}) has no pricing profile: add pricing: { provider: aws, region: us-east-1, nodeTypes: [m6i.large] } (its cloud, region and node types) to price it`);
  }
  if (pricing.nodeTypes.length === 0) {
    return unpriced(target.name, `target ${target.name} has no pricing.nodeTypes: list the node instance types it runs, e.g. nodeTypes: [${exampleType(pricing.provider)}]`);
  }
  return priceNodes(ctx, target, pricing, reserve);
}

async function priceTasks(ctx: TargetContext, target: Target, model: Extract<CostModel, { kind: "tasks" }>): Promise<Candidate> {
  // The catalog and the price sources know one per-task rate family: AWS Fargate.
  if (model.rates !== "fargate" || model.provider !== "aws") {
    return unpriced(target.name, `target ${target.name} (${target.kind}) is billed per task at ${model.provider} "${model.rates}" rates, which no price source or catalog has (they have aws "fargate")`);
  }
  return priceFargate(ctx, target, model.region, model.spot, model.size);
}

/** One line: the backend's declared monthly price. Nothing to look up, so nothing goes stale. */
function priceFlat(ctx: TargetContext, target: Target, model: Extract<CostModel, { kind: "flat" }>): PricedCandidate {
  const replicas = planReplicas(ctx.app, target.name, { spotAvailable: false });
  const hourlyUsd = model.monthlyUsd / HOURS_PER_MONTH;
  const provenance = { source: `declared by the ${target.kind} backend`, asOf: ctx.clock.toISOString().slice(0, 10) };
  return {
    kind: "priced",
    onDemandReplicas: replicas.reduce((n, p) => n + p.onDemand, 0),
    spotReplicas: 0,
    estimate: {
      target: target.name,
      backend: target.kind,
      provider: target.pricing?.provider ?? "-",
      region: model.region ?? target.pricing?.region ?? "-",
      capacity: "flat rate",
      hourlyUsd,
      monthlyUsd: model.monthlyUsd,
      onDemandHourlyUsd: hourlyUsd,
      lines: [costLine(model.description, 1, "target", hourlyUsd, provenance)],
      assumptions: [`a flat ${usd(model.monthlyUsd)}/month for the whole target (${model.description}), whatever the app's size`],
      notPriced: [],
      priceAsOf: provenance.asOf,
      chosen: false,
    },
  };
}

/**
 * Each declared host priced by its instance type (the target's `pricing`
 * provider and region) or its flat price, then the app packed onto them. A
 * host without a price is left out of the total with the reason (and the
 * candidate is not chosen); when no host has one the target is unpriced.
 */
async function priceHosts(ctx: TargetContext, target: Target, model: Extract<CostModel, { kind: "hosts" }>): Promise<Candidate> {
  const pricing = target.pricing;
  const asOf = ctx.clock.toISOString().slice(0, 10);
  const hosts: PricedHost[] = [];
  let regionReported = false;
  for (const [i, h] of model.hosts.entries()) {
    const path = `targets.${target.name}.hosts[${i}]`;
    const declared = h.cpuMillis !== undefined && h.memoryMiB !== undefined ? { cpuMillis: h.cpuMillis, memoryMiB: h.memoryMiB } : undefined;
    const flat = h.monthlyUsd === undefined ? undefined : { kind: "flat" as const, monthlyUsd: h.monthlyUsd, provenance: { source: "declared flat price", asOf } };
    const base = { name: h.name, labels: h.labels, spot: h.spot, ...(h.instanceType ? { instanceType: h.instanceType } : {}) };
    if (!h.instanceType) {
      const price = flat ?? { kind: "unpriced" as const, reason: "it declares neither an instanceType nor a monthlyUsd price" };
      if (!flat) ctx.diagnostics.push({ code: "SDX_PRICING", severity: "warning", path, message: `host ${h.name} of target ${target.name} has no price: it declares neither an instanceType nor a monthlyUsd`, hint: "Give it an instanceType (priced from the catalog) or a flat monthlyUsd.", target: target.name });
      hosts.push({ ...base, price, ...sized(h, declared) });
      continue;
    }
    const type = h.instanceType;
    if (!pricing) {
      // As for nodes: without a profile there is no cloud and region to look the type up in.
      const reason = `target ${target.name} has no pricing profile: add pricing: { provider: aws, region: us-east-1 } (the cloud and region of its hosts) to price ${type}`;
      if (!flat && !regionReported) {
        regionReported = true;
        ctx.diagnostics.push({ code: "SDX_PRICING", severity: "warning", path: `targets.${target.name}.pricing`, message: `the instance types of target ${target.name}'s hosts cannot be priced: it has no pricing profile`, hint: "Add pricing: { provider, region } with the cloud and region the hosts run in.", target: target.name });
      }
      hosts.push({ ...base, price: flat ?? { kind: "unpriced", reason }, ...sized(h, declared ?? anyShape(ctx.catalog, type)) });
      continue;
    }
    const { provider, region } = pricing;
    const q = await ctx.resolver.quote({ kind: "vm", provider, region, instanceType: type });
    const shape = q?.vm ? toSize(q.vm) : shapeOf(ctx.catalog, provider, type);
    if (q) {
      hosts.push({
        ...base,
        price: {
          kind: "catalog", onDemandUsd: q.onDemandUsd, provenance: q.provenance,
          ...(q.spotUsd === undefined ? {} : { spotUsd: q.spotUsd, spotProvenance: q.spotProvenance ?? q.provenance }),
        },
        ...sized(h, shape ?? declared),
      });
      continue;
    }
    let reason: string;
    const regions = ctx.catalog.regions(provider);
    if (!regions.includes(region)) {
      const suggestions = didYouMean(region, regions);
      reason = `unknown ${provider} region "${region}"${suggestions.length ? `; did you mean ${suggestions.join(", ")}?` : ""}`;
      if (!regionReported) {
        regionReported = true;
        ctx.diagnostics.push({ code: "SDX_PRICING", severity: "warning", path: `targets.${target.name}.pricing.region`, message: reason, ...(suggestions.length ? { suggestions } : {}), hint: `Use a region code such as ${regions.slice(0, 3).join(", ")}.`, target: target.name });
      }
    } else {
      const elsewhere = shapeOf(ctx.catalog, provider, type) !== undefined;
      const suggestions = elsewhere ? [] : didYouMean(type, ctx.catalog.instanceTypes(provider));
      reason = elsewhere
        ? `${provider} ${type} has no price in ${region} (not offered there, or not in the embedded catalog)`
        : `unknown ${provider} instance type "${type}"${suggestions.length ? `; did you mean ${suggestions.join(", ")}?` : ""}`;
      if (!flat) {
        ctx.diagnostics.push({
          code: "SDX_PRICING", severity: "warning", path: `${path}.instanceType`, message: `host ${h.name}: ${reason}`,
          ...(suggestions.length ? { suggestions } : {}),
          hint: elsewhere ? `Pick a type offered in ${region} (\`sdx prices ${provider} ${region}\` lists them), or give the host a flat monthlyUsd.` : `Check the name with \`sdx prices ${provider} ${region}\`, or give the host a flat monthlyUsd.`,
          target: target.name,
        });
      }
    }
    hosts.push({ ...base, price: flat ?? { kind: "unpriced", reason }, ...sized(h, shape ?? declared) });
  }

  if (!hosts.some((h) => h.price.kind !== "unpriced")) {
    return unpriced(target.name, `no host of target ${target.name} can be priced: ${hosts.map((h) => `${h.name}: ${h.price.kind === "unpriced" ? h.price.reason : ""}`).join("; ")}`);
  }
  const { candidate, diagnostics } = estimateHosts({
    app: ctx.app,
    target: target.name,
    backend: target.kind,
    provider: pricing?.provider ?? "-",
    region: pricing?.region ?? "-",
    hosts,
    reserve: model.reserve,
    policy: ctx.policy,
  });
  ctx.diagnostics.push(...diagnostics);
  return candidate;
}

/** The host's size for packing, or why it is unknown. */
function sized(h: DeclaredHost, size: { cpuMillis: number; memoryMiB: number } | undefined): Pick<PricedHost, "size" | "sizeUnknown"> {
  if (size) return { size };
  const missing = [h.cpuMillis === undefined ? "cpus" : "", h.memoryMiB === undefined ? "memory" : ""].filter(Boolean).join(" and ");
  return { sizeUnknown: h.instanceType ? `the catalog does not know ${h.instanceType}, and no ${missing} declared` : `no instanceType, and no ${missing} declared` };
}

const toSize = (vm: { vcpus: number; memoryGiB: number }): { cpuMillis: number; memoryMiB: number } => ({ cpuMillis: Math.round(vm.vcpus * 1000), memoryMiB: Math.round(vm.memoryGiB * 1024) });

function shapeOf(catalog: PriceCatalog, provider: PriceProvider, type: string): { cpuMillis: number; memoryMiB: number } | undefined {
  const s = catalog.vmShape(provider, type);
  return s ? toSize(s) : undefined;
}

/** A type's size from whichever provider has it, for packing when the target names no provider. */
function anyShape(catalog: PriceCatalog, type: string): { cpuMillis: number; memoryMiB: number } | undefined {
  for (const p of catalog.providers()) {
    const s = shapeOf(catalog, p, type);
    if (s) return s;
  }
  return undefined;
}

async function priceFargate(ctx: TargetContext, target: Target, region: string, spotAvailable: boolean, size: (cpuMillis: number, memoryMiB: number) => BilledTaskSize): Promise<Candidate> {
  const arches = [...new Set(ctx.app.services.map((s) => s.placement.arch))];
  const rates: Partial<Record<Arch, FargateRates>> = {};
  for (const arch of arches) {
    const [vcpu, memory, storage] = await Promise.all([
      ctx.resolver.quote({ kind: "fargate", region, arch, dimension: "vcpu" }),
      ctx.resolver.quote({ kind: "fargate", region, arch, dimension: "memory" }),
      ctx.resolver.quote({ kind: "fargate", region, arch, dimension: "ephemeral-storage" }),
    ]);
    if (!vcpu || !memory) {
      const known = awsRegions(ctx.catalog);
      if (!known.includes(region)) return unknownRegion(ctx, target, "aws", region, known, `targets.${target.name}.region`);
      const have = ctx.catalog.fargateRegions().filter((r) => ctx.catalog.fargate(r, arch));
      return unpriced(
        target.name,
        `no Fargate ${arch} prices for ${region} (the embedded catalog has ${have.join(", ")}): run \`sdx prices refresh --region ${region}\` to fetch them`,
      );
    }
    rates[arch] = {
      region, arch,
      vcpu: rate(vcpu), memory: rate(memory),
      ...(vcpu.spotUsd !== undefined && memory.spotUsd !== undefined ? { spotVcpu: spotRate(vcpu), spotMemory: spotRate(memory) } : {}),
      ...(storage ? { ephemeralStorage: rate(storage) } : {}),
    };
  }
  return estimateFargate({ app: ctx.app, target: target.name, backend: target.kind, region, rates, spotAvailable, size, policy: ctx.policy });
}

async function priceNodes(ctx: TargetContext, target: Target, pricing: PricingProfile, reserve: NodeReserve): Promise<Candidate> {
  const { provider, region } = pricing;
  const nodeTypes: NodeType[] = [];
  const missing: string[] = [];
  for (const instanceType of pricing.nodeTypes) {
    const q = await ctx.resolver.quote({ kind: "vm", provider, region, instanceType });
    if (q?.vm) nodeTypes.push(nodeType(instanceType, q));
    else missing.push(instanceType);
  }
  if (missing.length > 0) {
    const regions = ctx.catalog.regions(provider);
    if (!regions.includes(region) && nodeTypes.length === 0) {
      return unknownRegion(ctx, target, provider, region, regions, `targets.${target.name}.pricing.region`);
    }
    const reasons: string[] = [];
    for (const t of missing) {
      const i = pricing.nodeTypes.indexOf(t);
      const elsewhere = ctx.catalog.vmShape(provider, t) !== undefined;
      const suggestions = elsewhere ? [] : didYouMean(t, ctx.catalog.instanceTypes(provider));
      const message = elsewhere
        ? `${provider} ${t} has no price in ${region} (not offered there, or not in the embedded catalog)`
        : `unknown ${provider} instance type "${t}"${suggestions.length ? `; did you mean ${suggestions.join(", ")}?` : ""}`;
      reasons.push(message);
      ctx.diagnostics.push({
        code: "SDX_PRICING",
        severity: "warning",
        path: `targets.${target.name}.pricing.nodeTypes[${i}]`,
        message,
        ...(suggestions.length ? { suggestions } : {}),
        hint: elsewhere ? `Pick a type offered in ${region} (\`sdx prices ${provider} ${region}\` lists them).` : `Check the name with \`sdx prices ${provider} ${region}\`.`,
        target: target.name,
      });
    }
    return unpriced(target.name, reasons.join("; "));
  }

  let controlPlane: { item: string; usdPerHour: number; provenance: PriceQuote["provenance"] } | undefined;
  if (pricing.dedicatedCluster && pricing.controlPlane !== "none") {
    const q = await ctx.resolver.quote({ kind: "control-plane", provider, controlPlane: pricing.controlPlane, region });
    if (!q) return unpriced(target.name, `no price for the ${CONTROL_PLANE_NAMES[pricing.controlPlane]} control plane`);
    controlPlane = { item: `${CONTROL_PLANE_NAMES[pricing.controlPlane]} control plane`, usdPerHour: q.onDemandUsd, provenance: q.provenance };
  }
  const catalogTypes: NodeType[] = ctx.catalog.vmOffers(provider, region).map((o) => ({
    instanceType: o.instanceType, vcpus: o.vcpus, memoryGiB: o.memoryGiB, arch: o.arch, onDemandUsd: o.onDemandUsd, provenance: o.provenance,
  }));
  return estimateNodes({
    app: ctx.app,
    target: target.name,
    backend: target.kind,
    provider,
    region,
    nodeTypes,
    reserve,
    spotAvailable: pricing.spot,
    ...(controlPlane ? { controlPlane } : {}),
    policy: ctx.policy,
    catalogTypes,
  });
}

function unknownRegion(ctx: TargetContext, target: Target, provider: PriceProvider, region: string, known: readonly string[], path: string): UnpricedCandidate {
  const suggestions = didYouMean(region, known);
  const message = `unknown ${provider} region "${region}"${suggestions.length ? `; did you mean ${suggestions.join(", ")}?` : ""}`;
  ctx.diagnostics.push({
    code: "SDX_PRICING",
    severity: "warning",
    path,
    message,
    ...(suggestions.length ? { suggestions } : {}),
    hint: `Use a region code such as ${known.slice(0, 3).join(", ")}.`,
    target: target.name,
  });
  return unpriced(target.name, message);
}

function nodeType(instanceType: string, q: PriceQuote): NodeType {
  return {
    instanceType,
    vcpus: q.vm!.vcpus,
    memoryGiB: q.vm!.memoryGiB,
    arch: q.vm!.arch,
    onDemandUsd: q.onDemandUsd,
    provenance: q.provenance,
    ...(q.spotUsd === undefined ? {} : { spotUsd: q.spotUsd, spotProvenance: q.spotProvenance ?? q.provenance }),
  };
}

const rate = (q: PriceQuote): CatalogRate => ({ usd: q.onDemandUsd, provenance: q.provenance });
const spotRate = (q: PriceQuote): CatalogRate => ({ usd: q.spotUsd!, provenance: q.spotProvenance ?? q.provenance });
const unpriced = (target: string, reason: string): UnpricedCandidate => ({ kind: "unpriced", target, reason });

function awsRegions(catalog: PriceCatalog): string[] {
  return [...new Set([...catalog.regions("aws"), ...catalog.fargateRegions()])].sort();
}

function exampleType(provider: PriceProvider): string {
  return provider === "gcp" ? "e2-standard-2" : provider === "azure" ? "Standard_D2s_v5" : "m6i.large";
}

function staleness(estimates: readonly { target: string; lines: readonly { provenance: { source: string; asOf: string } }[] }[], now: Date, maxAgeDays: number): Diagnostic | undefined {
  let oldest: string | undefined;
  const targets = new Set<string>();
  for (const e of estimates) {
    for (const l of e.lines) {
      if (!l.provenance.source.startsWith("embedded-catalog/")) continue;
      const ageDays = (now.getTime() - Date.parse(l.provenance.asOf)) / DAY_MS;
      if (!(ageDays > maxAgeDays)) continue;
      targets.add(e.target);
      if (oldest === undefined || l.provenance.asOf < oldest) oldest = l.provenance.asOf;
    }
  }
  if (oldest === undefined) return undefined;
  const days = Math.floor((now.getTime() - Date.parse(oldest)) / DAY_MS);
  return {
    code: "SDX_PRICES_STALE",
    severity: "warning",
    path: "",
    message: `prices for ${[...targets].join(", ")} come from the embedded catalog, as old as ${oldest} (${days} days; the limit is ${maxAgeDays})`,
    hint: "Run `sdx prices refresh --region <region>` with AWS credentials for current AWS prices, or update @sdx/pricing for a newer catalog.",
  };
}

function assertNever(x: never): never {
  throw new SdxError("SDX_INTERNAL", `unhandled cost model ${JSON.stringify(x)}`);
}

function checkSources(sources: readonly unknown[]): PriceSource[] {
  const seen = new Set<string>();
  return sources.map((s, i) => {
    const src = s as Partial<PriceSource> | undefined;
    if (!src || typeof src.id !== "string" || typeof src.lookup !== "function") {
      throw new SdxError("SDX_PRICING", `price source #${i} is not a PriceSource (it needs an id and a lookup function)`, {
        fault: "user",
        hint: "Register objects that implement PriceSource from @sdx/sdk with priceSourceModule().",
      });
    }
    if (seen.has(src.id)) {
      throw new SdxError("SDX_PRICING", `two price sources share the id "${src.id}"`, { fault: "user", hint: "Give each price source a unique id." });
    }
    seen.add(src.id);
    return src as PriceSource;
  });
}
