import type { PriceProvenance, PriceProvider } from "@sdx/sdk";

/**
 * What a service rate prices: one billing dimension of the things a target
 * needs beside compute (`BillableItem` of `@sdx/sdk`).
 */
export type ServiceRateId =
  /** An Application Load Balancer (AWS), per load-balancer-hour. */
  | "lb-application"
  /** An ALB's load balancer capacity units (LCU), per LCU-hour. */
  | "lb-application-capacity"
  /** A Network Load Balancer (AWS), per load-balancer-hour. */
  | "lb-network"
  /** An NLB's capacity units (NLCU), per NLCU-hour. */
  | "lb-network-capacity"
  /** The first five forwarding rules (GCP) or load-balancing rules (Azure Standard LB), one price per hour for all five. */
  | "lb-rules-first-5"
  /** Each rule beyond the first five, per rule-hour. */
  | "lb-rule-extra"
  /** A public IPv4 address in use, per address-hour. */
  | "public-ipv4"
  /** Block storage (EBS gp3, pd-balanced), per GiB-month provisioned. */
  | "block-storage"
  /** Shared file storage (EFS Standard), per GiB-month stored. */
  | "file-storage"
  /** A NAT gateway, per gateway-hour (AWS, Azure; GCP Cloud NAT above 32 VMs). */
  | "nat-gateway"
  /** Cloud NAT (GCP), per VM-hour of the VMs using the gateway, up to 32 VMs (above that, `nat-gateway` per gateway-hour). */
  | "nat-gateway-per-vm"
  /** Data processed by a NAT gateway, per GiB. */
  | "nat-processed"
  /** Log ingestion (CloudWatch Logs, Cloud Logging, Log Analytics), per GiB. */
  | "log-ingestion"
  /** Data transfer out to the internet, first paid tier, per GiB. */
  | "egress"
  /** A managed control plane (EKS, GKE, AKS Standard tier), per cluster-hour. */
  | "control-plane";

/** One published list price of a service beside compute, with where it comes from. */
export interface ServiceRate {
  readonly provider: PriceProvider;
  readonly id: ServiceRateId;
  /** For `control-plane`: which one. @default none */
  readonly flavour?: "eks" | "gke" | "aks";
  /** The product as the provider names it, e.g. "Application Load Balancer"; the cost line's item. */
  readonly product: string;
  /** What one unit is: "load balancer", "LCU", "address", "GiB", "VM", "cluster". */
  readonly unit: string;
  /** Billed per unit-hour, per unit-month (storage), or per unit of usage (GiB sent, ingested, processed). */
  readonly per: "hour" | "month" | "usage";
  /**
   * USD per unit, by region code; `"*"` when the provider publishes one price
   * for every commercial region. A region that is absent has no rate: the
   * estimator reports the item unpriced there rather than reuse another
   * region's price.
   */
  readonly usd: Readonly<Record<string, number>>;
  /** The public pricing page the figure was read from. */
  readonly source: string;
  /** ISO date the figure was read from the page. */
  readonly asOf: string;
  /** What the figure leaves out (free tiers, tiers above the first), for the line's assumption. @default none */
  readonly note?: string;
}

// The date these list prices were read from the pages below (they change rarely; `sdx prices refresh` does not cover them).
const AS_OF = "2025-06-01";
// The US regions that share AWS's lowest price tier for every service below.
const AWS_US = ["us-east-1", "us-east-2", "us-west-2"] as const;
const GCP_US = ["us-central1", "us-east1", "us-west1"] as const;
const AZURE_US = ["eastus", "eastus2", "westus2"] as const;

const each = (regions: readonly string[], usd: number): Record<string, number> => Object.fromEntries(regions.map((r) => [r, usd]));

const AWS_ELB = "https://aws.amazon.com/elasticloadbalancing/pricing/";
const AWS_VPC = "https://aws.amazon.com/vpc/pricing/";
const GCP_NET = "https://cloud.google.com/vpc/network-pricing";
const AZURE_LB = "https://azure.microsoft.com/en-us/pricing/details/load-balancer/";

/**
 * The embedded rate table: list prices (USD, on-demand, no free tier
 * deducted) read from each provider's public pricing page. Only regions whose
 * figure is known are listed; elsewhere the item is reported unpriced.
 */
export const SERVICE_RATES: readonly ServiceRate[] = [
  // AWS
  { provider: "aws", id: "lb-application", product: "Application Load Balancer", unit: "load balancer", per: "hour", usd: { ...each(AWS_US, 0.0225), "eu-west-1": 0.0252 }, source: AWS_ELB, asOf: AS_OF },
  { provider: "aws", id: "lb-application-capacity", product: "ALB capacity units (LCU)", unit: "LCU", per: "hour", usd: { ...each(AWS_US, 0.008), "eu-west-1": 0.008 }, source: AWS_ELB, asOf: AS_OF },
  { provider: "aws", id: "lb-network", product: "Network Load Balancer", unit: "load balancer", per: "hour", usd: { ...each(AWS_US, 0.0225), "eu-west-1": 0.0252 }, source: AWS_ELB, asOf: AS_OF },
  { provider: "aws", id: "lb-network-capacity", product: "NLB capacity units (NLCU)", unit: "NLCU", per: "hour", usd: { ...each(AWS_US, 0.006), "eu-west-1": 0.006 }, source: AWS_ELB, asOf: AS_OF },
  { provider: "aws", id: "public-ipv4", product: "public IPv4 address", unit: "address", per: "hour", usd: { "*": 0.005 }, source: AWS_VPC, asOf: AS_OF, note: "billed since 2024-02-01, in use or idle" },
  { provider: "aws", id: "block-storage", product: "EBS gp3 storage", unit: "GiB", per: "month", usd: { ...each(AWS_US, 0.08), "eu-west-1": 0.088, "eu-central-1": 0.0952 }, source: "https://aws.amazon.com/ebs/pricing/", asOf: AS_OF, note: "baseline 3,000 IOPS and 125 MB/s included; provisioned extra IOPS and throughput not priced" },
  { provider: "aws", id: "file-storage", product: "EFS Standard storage", unit: "GiB", per: "month", usd: { ...each(AWS_US, 0.3), "eu-west-1": 0.33, "eu-central-1": 0.36 }, source: "https://aws.amazon.com/efs/pricing/", asOf: AS_OF, note: "read and write access charges (elastic throughput) not priced" },
  { provider: "aws", id: "nat-gateway", product: "NAT gateway", unit: "gateway", per: "hour", usd: { ...each(AWS_US, 0.045), "eu-west-1": 0.048, "eu-central-1": 0.052 }, source: AWS_VPC, asOf: AS_OF },
  { provider: "aws", id: "nat-processed", product: "NAT gateway data processed", unit: "GiB", per: "usage", usd: { ...each(AWS_US, 0.045), "eu-west-1": 0.048, "eu-central-1": 0.052 }, source: AWS_VPC, asOf: AS_OF },
  { provider: "aws", id: "log-ingestion", product: "CloudWatch Logs ingestion", unit: "GiB", per: "usage", usd: { ...each(AWS_US, 0.5), "eu-west-1": 0.57, "eu-central-1": 0.63 }, source: "https://aws.amazon.com/cloudwatch/pricing/", asOf: AS_OF, note: "standard log class; storage ($0.03/GB-month) not priced; the 5 GB free tier not deducted" },
  { provider: "aws", id: "egress", product: "data transfer out to the internet", unit: "GiB", per: "usage", usd: each([...AWS_US, "eu-west-1", "eu-central-1"], 0.09), source: "https://aws.amazon.com/ec2/pricing/on-demand/#Data_Transfer", asOf: AS_OF, note: "first 10 TB tier; the 100 GB per month free for the whole account not deducted" },
  { provider: "aws", id: "control-plane", flavour: "eks", product: "EKS control plane", unit: "cluster", per: "hour", usd: { "*": 0.1 }, source: "https://aws.amazon.com/eks/pricing/", asOf: AS_OF, note: "standard support; extended support is $0.60" },
  // GCP
  { provider: "gcp", id: "lb-rules-first-5", product: "forwarding rules (first 5)", unit: "first 5 rules", per: "hour", usd: each(GCP_US, 0.025), source: `${GCP_NET}#lb`, asOf: AS_OF, note: "one price for up to five rules per project and region; data processed ($0.008/GiB) not priced" },
  { provider: "gcp", id: "lb-rule-extra", product: "forwarding rules beyond 5", unit: "rule", per: "hour", usd: each(GCP_US, 0.01), source: `${GCP_NET}#lb`, asOf: AS_OF },
  { provider: "gcp", id: "public-ipv4", product: "external IPv4 address", unit: "address", per: "hour", usd: { "*": 0.005 }, source: `${GCP_NET}#ipaddress`, asOf: AS_OF, note: "in use on a standard VM; $0.0025 on spot VMs not applied" },
  { provider: "gcp", id: "block-storage", product: "pd-balanced persistent disk", unit: "GiB", per: "month", usd: each(GCP_US, 0.1), source: "https://cloud.google.com/compute/disks-image-pricing#disk", asOf: AS_OF },
  { provider: "gcp", id: "nat-gateway-per-vm", product: "Cloud NAT gateway", unit: "VM", per: "hour", usd: { "*": 0.0014 }, source: "https://cloud.google.com/nat/pricing", asOf: AS_OF, note: "per VM using the gateway up to 32 VMs; $0.044 per gateway-hour above" },
  { provider: "gcp", id: "nat-gateway", product: "Cloud NAT gateway (over 32 VMs)", unit: "gateway", per: "hour", usd: { "*": 0.044 }, source: "https://cloud.google.com/nat/pricing", asOf: AS_OF },
  { provider: "gcp", id: "nat-processed", product: "Cloud NAT data processed", unit: "GiB", per: "usage", usd: { "*": 0.045 }, source: "https://cloud.google.com/nat/pricing", asOf: AS_OF },
  { provider: "gcp", id: "log-ingestion", product: "Cloud Logging ingestion", unit: "GiB", per: "usage", usd: { "*": 0.5 }, source: "https://cloud.google.com/stackdriver/pricing", asOf: AS_OF, note: "the first 50 GiB per project per month are free; not deducted (shared by everything in the project)" },
  { provider: "gcp", id: "egress", product: "internet egress (Premium tier)", unit: "GiB", per: "usage", usd: each(GCP_US, 0.12), source: `${GCP_NET}#internet_egress`, asOf: AS_OF, note: "from North America, 0–1 TiB tier, worldwide destinations except China and Australia" },
  { provider: "gcp", id: "control-plane", flavour: "gke", product: "GKE control plane", unit: "cluster", per: "hour", usd: { "*": 0.1 }, source: "https://cloud.google.com/kubernetes-engine/pricing", asOf: AS_OF, note: "the free-tier credit for one zonal or Autopilot cluster per billing account not deducted" },
  // Azure
  { provider: "azure", id: "lb-rules-first-5", product: "Standard Load Balancer rules (first 5)", unit: "first 5 rules", per: "hour", usd: each(AZURE_US, 0.025), source: AZURE_LB, asOf: AS_OF, note: "one price for up to five rules; data processed ($0.005/GB) not priced" },
  { provider: "azure", id: "lb-rule-extra", product: "Standard Load Balancer rules beyond 5", unit: "rule", per: "hour", usd: each(AZURE_US, 0.01), source: AZURE_LB, asOf: AS_OF },
  { provider: "azure", id: "public-ipv4", product: "Standard public IP address", unit: "address", per: "hour", usd: each(AZURE_US, 0.005), source: "https://azure.microsoft.com/en-us/pricing/details/ip-addresses/", asOf: AS_OF },
  { provider: "azure", id: "nat-gateway", product: "NAT gateway", unit: "gateway", per: "hour", usd: each(AZURE_US, 0.045), source: "https://azure.microsoft.com/en-us/pricing/details/azure-nat-gateway/", asOf: AS_OF },
  { provider: "azure", id: "nat-processed", product: "NAT gateway data processed", unit: "GiB", per: "usage", usd: each(AZURE_US, 0.045), source: "https://azure.microsoft.com/en-us/pricing/details/azure-nat-gateway/", asOf: AS_OF },
  { provider: "azure", id: "log-ingestion", product: "Log Analytics ingestion (Analytics logs)", unit: "GiB", per: "usage", usd: { eastus: 2.3 }, source: "https://azure.microsoft.com/en-us/pricing/details/monitor/", asOf: AS_OF, note: "pay-as-you-go; the 5 GB per billing account per month free not deducted" },
  { provider: "azure", id: "egress", product: "internet egress", unit: "GiB", per: "usage", usd: each(AZURE_US, 0.087), source: "https://azure.microsoft.com/en-us/pricing/details/bandwidth/", asOf: AS_OF, note: "from North America, 100 GB–10 TB tier; the first 100 GB per month free not deducted" },
  { provider: "azure", id: "control-plane", flavour: "aks", product: "AKS control plane (Standard tier)", unit: "cluster", per: "hour", usd: { "*": 0.1 }, source: "https://azure.microsoft.com/en-us/pricing/details/kubernetes-service/", asOf: AS_OF },
];

/** Why a provider has no rate at all for a kind of thing, when the reason is known. */
const NO_RATE: Readonly<Partial<Record<`${PriceProvider}/${ServiceRateId}`, string>>> = {
  "azure/block-storage": "Azure managed disks are billed by size tier (E10, P10, …), not per GiB; the rate table has no tiers",
  "azure/file-storage": "Azure Files is billed by tier, redundancy and transactions; not in the rate table",
  "gcp/file-storage": "Filestore is billed per provisioned instance (Basic HDD from 1 TiB), not per GiB stored; not in the rate table",
};

/** A rate found for a region, with the provenance its cost lines carry. */
export interface FoundServiceRate {
  readonly kind: "rate";
  readonly rate: ServiceRate;
  readonly usd: number;
  readonly provenance: PriceProvenance;
}

/** No rate, and why (shown in the target's `notPriced`). */
export interface MissingServiceRate {
  readonly kind: "missing";
  readonly reason: string;
}

/** Options for {@link serviceRate}. */
export interface ServiceRateQuery {
  readonly provider: PriceProvider;
  readonly id: ServiceRateId;
  readonly region: string;
  /** For `control-plane`. @default none */
  readonly flavour?: "eks" | "gke" | "aks";
  /** @default SERVICE_RATES */
  readonly rates?: readonly ServiceRate[];
}

/**
 * The rate of one service dimension in one region. A region without a listed
 * figure is missing, never priced at another region's rate. Pure.
 */
export function serviceRate(query: ServiceRateQuery): FoundServiceRate | MissingServiceRate {
  const { provider, id, region } = query;
  const rate = (query.rates ?? SERVICE_RATES).find((r) => r.provider === provider && r.id === id && r.flavour === query.flavour);
  if (!rate) return { kind: "missing", reason: NO_RATE[`${provider}/${id}`] ?? `no ${provider} rate for it in the rate table` };
  const usd = rate.usd[region] ?? rate.usd["*"];
  if (usd === undefined) {
    return { kind: "missing", reason: `no ${rate.product} rate for ${region} in the rate table, which has ${Object.keys(rate.usd).join(", ")}` };
  }
  return { kind: "rate", rate, usd, provenance: { source: rate.source, asOf: rate.asOf, sku: `${rate.product} ${rate.usd[region] === undefined ? "(every region)" : region}` } };
}
