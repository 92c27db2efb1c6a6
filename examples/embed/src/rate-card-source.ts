// A custom price source: the embedding company's negotiated rate card for its
// own machine types. @sdx/pricing asks it before its cache and catalog.
import type { PriceQuery, PriceQuote, PriceSource } from "@sdx/sdk";

const RATES: Record<string, { usd: number; vcpus: number; memoryGiB: number }> = {
  "acme.small": { usd: 0.021, vcpus: 2, memoryGiB: 4 },
  "acme.large": { usd: 0.079, vcpus: 8, memoryGiB: 32 },
};

export const rateCard: PriceSource = {
  id: "acme-rate-card",
  priority: 10,
  async lookup(q: PriceQuery): Promise<PriceQuote | undefined> {
    if (q.kind !== "vm") return undefined; // Fargate and control planes: leave them to the catalog
    const r = RATES[q.instanceType];
    if (!r) return undefined;
    return {
      unit: "instance-hour",
      onDemandUsd: r.usd,
      provenance: { source: "acme-rate-card", asOf: "2026-11-01", sku: q.instanceType },
      vm: { vcpus: r.vcpus, memoryGiB: r.memoryGiB, arch: "amd64" },
    };
  },
};
