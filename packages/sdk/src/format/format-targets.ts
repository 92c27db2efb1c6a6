import type { CostModel } from "../backend/backend.js";
import { SdxError } from "../errors/sdx-error.js";
import type { Target, App } from "../model/app.js";
import { formatUsd } from "./format-plan.js";
import { formatTable } from "./table.js";

/**
 * How a target is priced, in a few words, from the cost model its backend
 * declares: `aws us-east-1 m6i.large (nodes)`, `aws fargate us-east-1`,
 * `flat $40.00/month`, or why it is not priced. Pure.
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

function assertNever(x: never): never {
  throw new SdxError("SDX_INTERNAL", `unhandled cost model ${JSON.stringify(x)}`);
}
