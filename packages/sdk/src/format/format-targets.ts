import type { CostModel, DeclaredHost } from "../backend/backend.js";
import { SdxError } from "../errors/sdx-error.js";
import type { Target, App } from "../model/app.js";
import { formatUsd } from "./format-plan.js";
import { formatTable } from "./table.js";

/**
 * How a target is priced, in a few words, from the cost model its backend
 * declares: `aws us-east-1 m6i.large (nodes)`, `aws fargate us-east-1`,
 * `flat $40.00/month`, `3 hosts (2 priced by instance type in aws us-east-1,
 * 1 flat)`, or why it is not priced. Pure.
 */
export function pricingBasis(target: Target, model: CostModel | undefined): string {
  if (!model) return "not priced: no cost model";
  switch (model.kind) {
    case "nodes": {
      const p = target.pricing;
      if (!p) return "nodes: no pricing profile";
      return `${p.provider} ${p.region}${p.nodeTypes.length ? ` ${p.nodeTypes.join(",")}` : ""} (nodes)`;
    }
    case "tasks":
      return `${model.provider} ${model.rates} ${model.region}`;
    case "flat":
      return `flat ${formatUsd(model.monthlyUsd)}/month`;
    case "hosts":
      return hostsBasis(target, model.hosts);
    case "unpriced":
      return `not priced: ${model.reason}`;
    default:
      return assertNever(model);
  }
}

/** One row of `sdx targets`, for its table and its JSON. */
export interface TargetRow {
  readonly name: string;
  readonly kind: string;
  readonly default: boolean;
  /** The target's `pricing` profile as written, or null. */
  readonly pricing: Target["pricing"] | null;
  /** {@link pricingBasis} of the target. */
  readonly basis: string;
}

/** The rows of `sdx targets`, from each target's cost model (by target name). Pure. */
export function targetRows(app: App, models: ReadonlyMap<string, CostModel>): TargetRow[] {
  return app.targets.map((t) => ({ name: t.name, kind: t.kind, default: t.name === app.defaultTarget, pricing: t.pricing ?? null, basis: pricingBasis(t, models.get(t.name)) }));
}

/** The `sdx targets` table: name (default marked), kind and pricing basis. */
export function formatTargets(rows: readonly TargetRow[]): string {
  return formatTable(["TARGET", "KIND", "PRICING"], rows.map((t) => [`${t.name}${t.default ? " (default)" : ""}`, t.kind, t.basis]));
}

/** How a `hosts` model's hosts are priced, counted: by instance type (where), flat, or not at all. */
function hostsBasis(target: Target, hosts: readonly DeclaredHost[]): string {
  const byType = hosts.filter((h) => h.instanceType).length;
  const flat = hosts.filter((h) => !h.instanceType && h.monthlyUsd !== undefined).length;
  const none = hosts.length - byType - flat;
  const p = target.pricing;
  const parts = [
    byType ? (p ? `${byType} priced by instance type in ${p.provider} ${p.region}` : `${byType} by instance type but no pricing profile`) : "",
    flat ? `${flat} flat` : "",
    none ? `${none} without a price` : "",
  ].filter(Boolean);
  return `${hosts.length} host${hosts.length === 1 ? "" : "s"} (${parts.join(", ")})`;
}

function assertNever(x: never): never {
  throw new SdxError("SDX_INTERNAL", `unhandled cost model ${JSON.stringify(x)}`);
}
