import type { Allocatable } from "./node-overhead.js";

/** One replica's request. */
export interface PackItem {
  readonly cpuMillis: number;
  readonly memoryMiB: number;
}

/**
 * Nodes of one shape needed to hold every replica: first-fit decreasing by
 * each replica's dominant share of the node (CPU or memory, whichever is the
 * larger fraction). Returns undefined when some replica does not fit an empty
 * node. Pure; O(replicas × nodes).
 */
export function packReplicas(items: readonly PackItem[], node: Allocatable): number | undefined {
  if (items.length === 0) return 0;
  const cpu = node.cpuMillis;
  const mem = node.memoryMiB;
  if (cpu <= 0 || mem <= 0) return undefined;
  const order = items.slice().sort((a, b) => Math.max(b.cpuMillis / cpu, b.memoryMiB / mem) - Math.max(a.cpuMillis / cpu, a.memoryMiB / mem));
  const freeCpu: number[] = [];
  const freeMem: number[] = [];
  for (const it of order) {
    if (it.cpuMillis > cpu || it.memoryMiB > mem) return undefined;
    let i = 0;
    while (i < freeCpu.length && (freeCpu[i]! < it.cpuMillis || freeMem[i]! < it.memoryMiB)) i++;
    if (i === freeCpu.length) {
      freeCpu.push(cpu);
      freeMem.push(mem);
    }
    freeCpu[i]! -= it.cpuMillis;
    freeMem[i]! -= it.memoryMiB;
  }
  return freeCpu.length;
}
