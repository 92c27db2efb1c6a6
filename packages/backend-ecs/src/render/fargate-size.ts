// Fargate task sizes: the table AWS accepts, the rounding of a request up to
// the size it is billed at (the ECS backend's cost model hands it to pricing as
// `CostModel.size`), and the task-definition side: checking a cpu/memory pair
// as sent (after overrides) and naming the nearest valid one.
// @sdx/sdk/target, not the main entry: the light ecs-target module (loaded to validate) imports this table.
import { isSdxError, SdxError, type BilledTaskSize } from "@sdx/sdk/target";

/** One Fargate CPU size and the task memory sizes allowed with it, in MiB. */
export interface FargateCpuTier {
  /** ECS CPU units (1 vCPU = 1024). */
  readonly cpuUnits: number;
  readonly vcpu: number;
  readonly memoryMiB: readonly number[];
}

const GiB = 1024;
const range = (fromGiB: number, toGiB: number, stepGiB: number): number[] => {
  const out: number[] = [];
  for (let g = fromGiB; g <= toGiB; g += stepGiB) out.push(g * GiB);
  return out;
};

/**
 * The valid Fargate task sizes (Linux), smallest first. AWS refuses any other
 * CPU/memory pair, so a request is rounded up to one of these and billed as such.
 */
export const FARGATE_CPU_TIERS: readonly FargateCpuTier[] = [
  { cpuUnits: 256, vcpu: 0.25, memoryMiB: [512, 1024, 2048] },
  { cpuUnits: 512, vcpu: 0.5, memoryMiB: range(1, 4, 1) },
  { cpuUnits: 1024, vcpu: 1, memoryMiB: range(2, 8, 1) },
  { cpuUnits: 2048, vcpu: 2, memoryMiB: range(4, 16, 1) },
  { cpuUnits: 4096, vcpu: 4, memoryMiB: range(8, 30, 1) },
  { cpuUnits: 8192, vcpu: 8, memoryMiB: range(16, 60, 4) },
  { cpuUnits: 16384, vcpu: 16, memoryMiB: range(32, 120, 8) },
];

/** What a service asked for and the Fargate size it is billed at. */
export interface FargateSize {
  readonly requested: { readonly cpuMillis: number; readonly memoryMiB: number };
  readonly billed: {
    /** Task-definition `cpu`. */
    readonly cpuUnits: number;
    /** Task-definition `memory`. */
    readonly memoryMiB: number;
    readonly vcpu: number;
    /** Billed memory in GB as AWS counts it (1 GB = 1024 MiB). */
    readonly memoryGb: number;
  };
}

/**
 * Rounds a per-replica request up to the smallest valid Fargate size: the
 * smallest CPU tier that holds the CPU request and whose memory range reaches
 * the memory request, then the smallest memory step of that tier. Because
 * bigger tiers never allow less memory, this is also the cheapest valid size.
 *
 * @throws SdxError `SDX_VALIDATION` (fault `user`) when the request is larger
 * than the biggest Fargate task (16 vCPU, 120 GB) or not positive.
 */
export function fargateSize(cpuMillis: number, memoryMiB: number): FargateSize {
  if (!(cpuMillis > 0) || !(memoryMiB > 0)) {
    throw new SdxError("SDX_VALIDATION", `a Fargate task needs positive CPU and memory, got ${cpuMillis}m / ${memoryMiB}Mi`, {
      fault: "user",
      hint: "Set resources.cpu and resources.memory to positive values.",
    });
  }
  for (const tier of FARGATE_CPU_TIERS) {
    if (tier.vcpu * 1000 < cpuMillis) continue;
    const mem = tier.memoryMiB.find((m) => m >= memoryMiB);
    if (mem === undefined) continue;
    return {
      requested: { cpuMillis, memoryMiB },
      billed: { cpuUnits: tier.cpuUnits, memoryMiB: mem, vcpu: tier.vcpu, memoryGb: mem / GiB },
    };
  }
  throw new SdxError("SDX_VALIDATION", `no Fargate task size holds ${cpuMillis / 1000} vCPU and ${memoryMiB} MiB`, {
    fault: "user",
    hint: "Fargate tasks are at most 16 vCPU and 120 GB; lower resources, or deploy this service to a node-based target.",
    details: { cpuMillis, memoryMiB, maxVcpu: 16, maxMemoryMiB: 120 * GiB },
  });
}

/** The size a request is billed at, as the ECS backend's `CostModel.size`. @throws like {@link fargateSize}. */
export function billedFargateSize(cpuMillis: number, memoryMiB: number): BilledTaskSize {
  const { billed } = fargateSize(cpuMillis, memoryMiB);
  return { cpuMillis: billed.vcpu * 1000, memoryMiB: billed.memoryMiB };
}

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
