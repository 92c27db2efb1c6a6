import type { PriceProvenance } from "./pricing-contract.js";

/** Cloud providers sdx can price. */
export type PriceProvider = "aws" | "gcp" | "azure";

/** What to price. Every figure is per hour of the unit the quote names. */
export type PriceQuery =
  /** A virtual machine, used as a Kubernetes or Swarm node. */
  | { readonly kind: "vm"; readonly provider: PriceProvider; readonly region: string; readonly instanceType: string }
  /** One Fargate billing dimension for Linux tasks of an architecture. */
  | {
      readonly kind: "fargate";
      readonly region: string;
      readonly arch: "amd64" | "arm64";
      readonly dimension: "vcpu" | "memory" | "ephemeral-storage";
    }
  /** A managed Kubernetes control plane (per cluster). */
  | { readonly kind: "control-plane"; readonly provider: PriceProvider; readonly controlPlane: "eks" | "gke" | "aks"; readonly region: string };

/** A price answer. Numbers are USD per `unit` (an hour of an instance, vCPU, GB or cluster). */
export interface PriceQuote {
  /** e.g. `instance-hour`, `vCPU-hour`, `GB-hour`, `cluster-hour`. */
  readonly unit: string;
  readonly onDemandUsd: number;
  /** Spot (or Fargate Spot) price; undefined when there is no spot offer. */
  readonly spotUsd?: number;
  readonly provenance: PriceProvenance;
  /** Where the spot figure came from, when not the same place as the on-demand one. @default provenance */
  readonly spotProvenance?: PriceProvenance;
  /** The machine's shape, for `vm` queries: needed to bin-pack onto it. */
  readonly vm?: { readonly vcpus: number; readonly memoryGiB: number; readonly arch: "amd64" | "arm64" };
}

/** Options for {@link PriceSource.lookup}. */
export interface PriceLookupOptions {
  readonly signal?: AbortSignal;
}

/**
 * A source of prices, e.g. a company's negotiated rates or a live API.
 * Register it with `priceSourceModule(source)`; @sdx/pricing asks registered
 * sources first (highest `priority` first) and falls back to its own cache and
 * embedded catalog when every source answers `undefined`.
 */
export interface PriceSource {
  /** Stable id, shown as the price's provenance source. */
  readonly id: string;
  /** Higher is asked first. @default 0 */
  readonly priority?: number;
  /** The price, or undefined when this source does not know it. Throwing marks the source as failed for this estimate. */
  lookup(query: PriceQuery, options?: PriceLookupOptions): Promise<PriceQuote | undefined>;
}
