import type { PriceQuery, PriceQuote } from "@sdx/sdk";
import type { PriceCatalog } from "./price-catalog.js";

/**
 * Answers a price query from a catalog, the way a {@link PriceSource} would.
 * VM spot is the median of the latest per-zone prices: a node pool spreads
 * over zones, so the cheapest zone alone would flatter it.
 */
export function lookupPrice(catalog: PriceCatalog, query: PriceQuery): PriceQuote | undefined {
  switch (query.kind) {
    case "vm": {
      const o = catalog.vm(query.provider, query.region, query.instanceType);
      if (!o) return undefined;
      return {
        unit: "instance-hour",
        onDemandUsd: o.onDemandUsd,
        ...(o.spotUsd === undefined ? {} : { spotUsd: o.spotUsd }),
        provenance: o.provenance,
        vm: { vcpus: o.vcpus, memoryGiB: o.memoryGiB, arch: o.arch },
      };
    }
    case "fargate": {
      const r = catalog.fargate(query.region, query.arch);
      if (!r) return undefined;
      switch (query.dimension) {
        case "vcpu":
          return {
            unit: "vCPU-hour",
            onDemandUsd: r.vcpu.usd,
            provenance: r.vcpu.provenance,
            ...(r.spotVcpu ? { spotUsd: r.spotVcpu.usd, spotProvenance: r.spotVcpu.provenance } : {}),
          };
        case "memory":
          return {
            unit: "GB-hour",
            onDemandUsd: r.memory.usd,
            provenance: r.memory.provenance,
            ...(r.spotMemory ? { spotUsd: r.spotMemory.usd, spotProvenance: r.spotMemory.provenance } : {}),
          };
        case "ephemeral-storage":
          // Storage is billed the same on Fargate Spot.
          return r.ephemeralStorage
            ? { unit: "GB-hour", onDemandUsd: r.ephemeralStorage.usd, spotUsd: r.ephemeralStorage.usd, provenance: r.ephemeralStorage.provenance }
            : undefined;
        default:
          return assertNever(query.dimension);
      }
    }
    case "control-plane": {
      const c = catalog.controlPlane(query.controlPlane);
      return c ? { unit: "cluster-hour", onDemandUsd: c.usd, provenance: c.provenance } : undefined;
    }
    default:
      return assertNever(query);
  }
}

function assertNever(x: never): never {
  throw new Error(`unhandled price query ${JSON.stringify(x)}`);
}
