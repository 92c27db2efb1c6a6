import type { CostEstimate } from "./pricing-contract.js";

/** Hours in a billing month, as the cloud price lists count them. */
const HOURS_PER_MONTH = 730;

/** How one service's cost changes between two estimates of the same target. */
export interface ServiceCostDelta {
  /** Undefined for shared items (nodes, control plane), which node-based targets cannot split per service. */
  readonly service?: string;
  readonly beforeMonthlyUsd: number;
  readonly afterMonthlyUsd: number;
  /** after − before. */
  readonly deltaMonthlyUsd: number;
}

/**
 * Per-service monthly cost difference between the deployed revision's
 * estimate and the new one's (`sdx plan` against a live target), summing the
 * cost lines of each service; shared lines form one row without a service.
 * Services only on one side count as 0 on the other. Rows follow the new
 * estimate's order, then removed services; the shared row comes last. Pure.
 */
export function diffEstimates(before: CostEstimate, after: CostEstimate): ServiceCostDelta[] {
  const SHARED = "\u0000shared";
  const sum = (e: CostEstimate): Map<string, number> => {
    const m = new Map<string, number>();
    for (const l of e.lines) m.set(l.service ?? SHARED, (m.get(l.service ?? SHARED) ?? 0) + l.hourlyUsd * HOURS_PER_MONTH);
    return m;
  };
  const b = sum(before);
  const a = sum(after);
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => Number(x === SHARED) - Number(y === SHARED));
  return keys.map((k) => {
    const beforeMonthlyUsd = b.get(k) ?? 0;
    const afterMonthlyUsd = a.get(k) ?? 0;
    return { ...(k === SHARED ? {} : { service: k }), beforeMonthlyUsd, afterMonthlyUsd, deltaMonthlyUsd: afterMonthlyUsd - beforeMonthlyUsd };
  });
}
