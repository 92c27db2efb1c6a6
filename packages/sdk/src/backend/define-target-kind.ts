// @sdx/sdk/target: what a backend's target-kind module needs, and nothing
// heavier. That module is loaded to validate apps and print `sdx schema`, so
// it must not pull in the whole sdk (or the backend's SDK clients).
import type { z } from "zod";
import type { Target } from "../model/app.js";
import type { TargetKindSpec } from "./backend.js";

/**
 * Declares a target kind with its settings' types inferred from the zod
 * schema, so `normalize` receives typed, defaulted settings:
 *
 * ```ts
 * export const k8sTargetSpec = defineTargetKind<K8sTarget, typeof settings>({
 *   kind: "kubernetes", settings, pathSettings: ["kubeconfig"],
 *   normalize: (s, common) => ({ ok: true, target: { ...common, kind: "kubernetes", ...s } }),
 * });
 * ```
 */
export function defineTargetKind<T extends Target, S extends z.ZodObject>(spec: TargetKindSpec<T, S>): TargetKindSpec<T, S> {
  return spec;
}

export type { Target, Override, PricingProfile } from "../model/app.js";
export type { TargetKindSpec, TargetNormalizeResult, BackendCapabilities, CostModel, DeclaredHost, SizeLimits, BillableItem, Billables, UsageBasis } from "./backend.js";
export type { App, Service } from "../model/app.js";
export { USAGE_DEFAULTS, PUBLIC_IPV4_PER_LOAD_BALANCER, pricedReplicas, logsPerMonth, lbCapacityUnits, storedVolumeSize, publicIpv4PerLoadBalancer, egressBillables, nameList, type UsageQuantity } from "../model/usage-defaults.js";
export type { Diagnostic } from "../validation/diagnostic.js";
export { capped, dnsLabel, duration } from "../model/app-schema.js";
export { parseDuration } from "../model/units.js";
export { LIMITS } from "../model/limits.js";
export { SdxError, isSdxError } from "../errors/sdx-error.js";
export type { BilledTaskSize } from "./backend.js";
