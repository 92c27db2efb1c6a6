import type { Allocatable } from "./node-overhead.js";

/** One replica's request, or `count` identical replicas. */
export interface PackItem {
  readonly cpuMillis: number;
  readonly memoryMiB: number;
  /** Identical replicas this item stands for. @default 1 */
  readonly count?: number;
}

/** Consecutive nodes with the same free capacity. */
interface NodeRun {
  count: number;
  readonly freeCpu: number;
  readonly freeMem: number;
}

/**
 * Nodes of one shape needed to hold every replica: first-fit decreasing by
 * each replica's dominant share of the node (CPU or memory, whichever is the
 * larger fraction). Returns undefined when some replica does not fit an empty
 * node. Pure.
 *
 * Identical replicas are placed arithmetically, a group at a time, and nodes
 * with the same free capacity are kept as runs: the result is exactly what
 * placing replicas one by one gives (first fit puts a group's replicas into the
 * first nodes with room, filling each before the next), but the work is
 * O(groups²), whatever the replica count; replica counts are not bounded here.
 */
export function packReplicas(items: readonly PackItem[], node: Allocatable): number | undefined {
  const cpu = node.cpuMillis;
  const mem = node.memoryMiB;
  const groups = items.filter((it) => (it.count ?? 1) > 0);
  if (groups.length === 0) return 0;
  if (cpu <= 0 || mem <= 0) return undefined;
  // Stable sort: groups with the same share keep their order, as single replicas would.
  const order = groups.slice().sort((a, b) => Math.max(b.cpuMillis / cpu, b.memoryMiB / mem) - Math.max(a.cpuMillis / cpu, a.memoryMiB / mem));
  const runs: NodeRun[] = [];
  for (const it of order) {
    if (it.cpuMillis > cpu || it.memoryMiB > mem) return undefined;
    // Replicas of this shape that fit into free capacity (unbounded when the shape asks for nothing).
    const fit = (freeCpu: number, freeMem: number): number =>
      Math.min(it.cpuMillis > 0 ? Math.floor(freeCpu / it.cpuMillis) : Infinity, it.memoryMiB > 0 ? Math.floor(freeMem / it.memoryMiB) : Infinity);
    const take = (r: NodeRun, n: number): NodeRun => ({ count: 1, freeCpu: r.freeCpu - n * it.cpuMillis, freeMem: r.freeMem - n * it.memoryMiB });
    let left = it.count ?? 1;
    for (let i = 0; i < runs.length && left > 0; i++) {
      const run = runs[i]!;
      const each = fit(run.freeCpu, run.freeMem);
      if (each === 0) continue;
      if (each === Infinity) {
        left = 0;
        break;
      }
      const full = Math.min(run.count, Math.floor(left / each));
      left -= full * each;
      const partial = full < run.count && left > 0 ? left : 0;
      left -= partial;
      const replaced: NodeRun[] = [];
      if (full > 0) replaced.push({ ...take(run, each), count: full });
      if (partial > 0) replaced.push(take(run, partial));
      const untouched = run.count - full - (partial > 0 ? 1 : 0);
      if (untouched > 0) replaced.push({ ...run, count: untouched });
      runs.splice(i, 1, ...replaced);
      i += replaced.length - 1;
    }
    if (left > 0) {
      const empty: NodeRun = { count: 1, freeCpu: cpu, freeMem: mem };
      const each = Math.min(fit(cpu, mem), left);
      const full = Math.floor(left / each);
      const partial = left - full * each;
      runs.push({ ...take(empty, each), count: full });
      if (partial > 0) runs.push(take(empty, partial));
    }
    mergeRuns(runs);
  }
  return runs.reduce((n, r) => n + r.count, 0);
}

/** Joins neighbouring runs with the same free capacity, which keeps the list short. */
function mergeRuns(runs: NodeRun[]): void {
  let w = 0;
  for (const r of runs) {
    const last = runs[w - 1];
    if (last && last.freeCpu === r.freeCpu && last.freeMem === r.freeMem) last.count += r.count;
    else runs[w++] = { ...r };
  }
  runs.length = w;
}
