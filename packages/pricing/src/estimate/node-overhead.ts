import type { NodeReserve } from "@sdx/sdk";

// What a node keeps for itself before any app replica fits, as its backend
// declares it (`CostModel` `nodes`). `kubernetes-tiered`: the kubelet/system
// reservation by the tiered formula GKE publishes (CPU 6% of the first core, 1%
// of the second, 0.5% of cores 3–4, 0.25% above; memory 25% of the first 4 GiB,
// 20% of the next 4, 10% of the next 8, 6% of the next 112, 2% above 128 GiB,
// plus a 100 MiB eviction threshold) and the requests of per-node daemons.
// `fixed`: a flat reservation per node (OS and container engine).

/** CPU and memory a node of this shape leaves for app replicas. */
export interface Allocatable {
  readonly cpuMillis: number;
  readonly memoryMiB: number;
}

const tiers = (x: number, bands: readonly (readonly [number, number])[]): number => {
  let left = x;
  let total = 0;
  for (const [width, rate] of bands) {
    const take = Math.min(left, width);
    total += take * rate;
    left -= take;
    if (left <= 0) break;
  }
  return total;
};
const CPU_BANDS = [[1, 0.06], [1, 0.01], [2, 0.005], [Infinity, 0.0025]] as const;
const MEM_BANDS = [[4, 0.25], [4, 0.2], [8, 0.1], [112, 0.06], [Infinity, 0.02]] as const;

/** Allocatable CPU and memory of a node with `vcpus` and `memoryGiB`. Never negative. */
export function allocatable(vcpus: number, memoryGiB: number, overhead: NodeReserve): Allocatable {
  let cpu: number;
  let mem: number;
  switch (overhead.kind) {
    case "kubernetes-tiered": {
      cpu = tiers(vcpus, CPU_BANDS) * 1000 + overhead.daemonCpuMillis;
      const reservedGiB = memoryGiB < 1 ? 255 / 1024 : tiers(memoryGiB, MEM_BANDS);
      mem = reservedGiB * 1024 + 100 + overhead.daemonMemoryMiB;
      break;
    }
    case "fixed":
      cpu = overhead.cpuMillis;
      mem = overhead.memoryMiB;
      break;
    default:
      return assertNever(overhead);
  }
  return { cpuMillis: Math.max(0, Math.floor(vcpus * 1000 - cpu)), memoryMiB: Math.max(0, Math.floor(memoryGiB * 1024 - mem)) };
}

/** One line for the assumptions list. */
export function describeOverhead(overhead: NodeReserve): string {
  switch (overhead.kind) {
    case "kubernetes-tiered":
      return `per-node system overhead: kubelet reservation (GKE's tiered formula) + ${overhead.daemonCpuMillis}m CPU / ${overhead.daemonMemoryMiB} MiB of system daemons + 100 MiB eviction threshold`;
    case "fixed":
      return `per-node system overhead: ${overhead.cpuMillis}m CPU / ${overhead.memoryMiB} MiB (OS and container engine)`;
    default:
      return assertNever(overhead);
  }
}

function assertNever(x: never): never {
  throw new Error(`unhandled node reserve ${JSON.stringify(x)}`);
}
