import type { PricingProfile } from "@sdx/sdk";
import type { KubeObject } from "../client/k8s-client.js";
import { DEFAULT_SPOT_LABELS, type SpotLabel } from "../render/spot-placement.js";

const INSTANCE_TYPE = ["node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type"];
const REGION = ["topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region"];

function first(labels: Readonly<Record<string, string>>, keys: readonly string[]): string | undefined {
  for (const k of keys) if (labels[k]) return labels[k];
  return undefined;
}

/** Which cloud a node runs on, from its providerID scheme or vendor-specific labels. */
function providerOf(node: KubeObject): { provider?: PricingProfile["provider"]; controlPlane?: PricingProfile["controlPlane"] } {
  const id = String((node.spec as { providerID?: string } | undefined)?.providerID ?? "");
  const labels = node.metadata.labels ?? {};
  const has = (prefix: string): boolean => Object.keys(labels).some((k) => k.startsWith(prefix));
  if (has("eks.amazonaws.com/")) return { provider: "aws", controlPlane: "eks" };
  if (has("cloud.google.com/gke")) return { provider: "gcp", controlPlane: "gke" };
  if (has("kubernetes.azure.com/")) return { provider: "azure", controlPlane: "aks" };
  if (id.startsWith("aws://")) return { provider: "aws" };
  if (id.startsWith("gce://")) return { provider: "gcp" };
  if (id.startsWith("azure://")) return { provider: "azure" };
  return {};
}

/**
 * Pricing facts from node labels: instance types, region, whether any node is
 * spot capacity, and the cloud when the nodes say so. Pure; absent facts are
 * left out so the target's own pricing profile fills them.
 */
export function pricingFromNodes(nodes: readonly KubeObject[], spotLabels: readonly SpotLabel[] = DEFAULT_SPOT_LABELS): Partial<PricingProfile> {
  const types = new Set<string>();
  const regions = new Set<string>();
  let spot = false;
  let provider: PricingProfile["provider"] | undefined;
  let controlPlane: PricingProfile["controlPlane"] | undefined;
  for (const n of nodes) {
    const labels = n.metadata.labels ?? {};
    const t = first(labels, INSTANCE_TYPE);
    if (t) types.add(t);
    const r = first(labels, REGION);
    if (r) regions.add(r);
    if (spotLabels.some((l) => labels[l.key] === l.value)) spot = true;
    const p = providerOf(n);
    provider ??= p.provider;
    controlPlane ??= p.controlPlane;
  }
  const out: { -readonly [K in keyof PricingProfile]?: PricingProfile[K] } = {};
  if (types.size > 0) out.nodeTypes = [...types].sort();
  // Several regions in one cluster is unusual; the first (sorted) keeps the answer stable.
  if (regions.size > 0) out.region = [...regions].sort()[0]!;
  if (nodes.length > 0) out.spot = spot;
  if (provider) out.provider = provider;
  if (controlPlane) out.controlPlane = controlPlane;
  return out;
}
