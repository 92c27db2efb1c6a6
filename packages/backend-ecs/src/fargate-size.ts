// Task-definition side of Fargate sizing. The table and the rounding of a
// request live in the sdk (`FARGATE_CPU_TIERS`, `fargateSize`, shared with
// pricing); this adds what only the ECS backend needs: checking a cpu/memory
// pair as sent (after overrides) and naming the nearest valid one.
import { FARGATE_CPU_TIERS, fargateSize, isSdxError } from "@sdx/sdk";

/** A task-definition `cpu` / `memory` pair. */
export interface FargateTaskSize {
  readonly cpuUnits: number;
  readonly memoryMiB: number;
}

/** ECS CPU units for millicores (1 vCPU = 1024 units = 1000m), rounded up. */
export const cpuUnitsOf = (cpuMillis: number): number => Math.ceil((cpuMillis * 1024) / 1000);

/** The smallest valid size holding a request, or undefined when larger than the largest Fargate task. */
export function roundUpFargate(cpuMillis: number, memoryMiB: number): FargateTaskSize | undefined {
  try {
    const { billed } = fargateSize(cpuMillis, memoryMiB);
    return { cpuUnits: billed.cpuUnits, memoryMiB: billed.memoryMiB };
  } catch (e) {
    if (isSdxError(e)) return undefined;
    throw e;
  }
}

/** True when the pair is one AWS accepts for a Fargate task. */
export function isValidFargateSize(cpuUnits: number, memoryMiB: number): boolean {
  return FARGATE_CPU_TIERS.some((t) => t.cpuUnits === cpuUnits && t.memoryMiB.includes(memoryMiB));
}

/** The valid size closest to a task-definition pair: rounded up when possible, else the largest task. */
export function nearestFargateSize(cpuUnits: number, memoryMiB: number): FargateTaskSize {
  const largest = FARGATE_CPU_TIERS[FARGATE_CPU_TIERS.length - 1]!;
  return roundUpFargate((cpuUnits * 1000) / 1024, memoryMiB) ?? { cpuUnits: largest.cpuUnits, memoryMiB: largest.memoryMiB[largest.memoryMiB.length - 1]! };
}

/** "0.5 vCPU / 1 GB" as AWS prices it. */
export function formatFargateSize(s: FargateTaskSize): string {
  return `${s.cpuUnits / 1024} vCPU / ${s.memoryMiB % 1024 === 0 ? `${s.memoryMiB / 1024} GB` : `${s.memoryMiB} MiB`}`;
}
