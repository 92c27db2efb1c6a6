/**
 * A third-party backend used by the tests: it "deploys" into an in-memory
 * store, registered through the container exactly as an embedding tool would.
 * It uses only the public @sdx/sdk API.
 */
import { z } from "zod";
import {
  defineTargetKind, diffResources, executeActions, isOwnedBy, ownershipLabels, summarize, SdxError,
  type Target, type Backend, type BackendApplyResult, type BackendContext, type BackendPlan, type CostModel, type LiveResource, type PlannedAction, type Resource,
} from "@sdx/sdk";

/** What the fake orchestrator holds: objects by `kind/name`. */
export type MemoryStore = Map<string, { kind: string; name: string; labels: Record<string, string>; spec: Record<string, unknown>; rolledOut?: boolean }>;

/** A target of the memory backend: a named bucket of the store. */
export interface MemoryTarget extends Target {
  readonly kind: "memory";
  readonly bucket: string;
  /** Objects the bucket may hold, as a ceiling for tests. @default 1000 */
  readonly maxObjects: number;
}

const memorySettings = z.strictObject({
  bucket: z.string().min(1).describe("Bucket of the in-memory store the app lives in."),
  maxObjects: z.number().int().min(1).default(1000).describe("Objects the bucket may hold."),
});

/** The `memory` target kind, as a third-party backend declares it. */
export const memoryTargetSpec = defineTargetKind<MemoryTarget, typeof memorySettings>({
  kind: "memory",
  settings: memorySettings,
  normalize: (s, common, path) =>
    // A rule across fields that a zod object cannot state alone: reported by normalize, at its path.
    s.bucket === common.name
      ? { ok: false, diagnostics: [{ code: "MEMORY_BUCKET", severity: "error", path: `${path}.bucket`, message: `bucket "${s.bucket}" has the target's own name`, hint: "Name the bucket after what it holds." }] }
      : { ok: true, target: { ...common, kind: "memory", ...s } },
});

export interface MemoryBackendOptions {
  readonly store?: MemoryStore;
  /** Names whose create/update fails, to test partial applies. */
  readonly failOn?: ReadonlySet<string>;
  readonly reachable?: boolean;
  /** Apply throws this once its actions ran, as a backend whose rollout wait failed would (a contract breach `deploy()` must absorb). */
  readonly waitThrows?: Error;
  /** Called as each action starts, before it changes the store (e.g. to send Ctrl-C mid-apply). */
  readonly beforeRun?: (action: PlannedAction) => void;
  /** How its targets are priced; `null` declares no cost model at all. @default unpriced: an in-memory store costs nothing real */
  readonly costModel?: CostModel | null;
}

export function createMemoryBackend(options: MemoryBackendOptions = {}): Backend<MemoryTarget> & { store: MemoryStore; calls: string[] } {
  const store: MemoryStore = options.store ?? new Map();
  const calls: string[] = [];
  const live = (app: string): LiveResource[] =>
    [...store.values()].map((o) => ({ kind: o.kind, name: o.name, body: { labels: o.labels, spec: o.spec }, owned: isOwnedBy(o.labels, app) }));
  return {
    kind: "memory",
    displayName: "In-memory",
    store,
    calls,
    capabilities: { spot: false, autoscale: false, nativeProbes: ["exec"], volumes: [], rollback: false, liveDiff: true },
    ...(options.costModel === null ? {} : { costModel: () => options.costModel ?? { kind: "unpriced", reason: "an in-memory store has no price" } }),
    target: memoryTargetSpec,
    check(ctx: BackendContext) {
      return {
        diagnostics: [],
        // Probes other than exec are approximated by the sdk, from `capabilities.nativeProbes`.
        fidelity: ctx.app.services.map((s) => ({ service: s.name, field: "image", level: "exact" as const })),
      };
    },
    render(ctx: BackendContext): Resource[] {
      return ctx.app.services.map((s) => ({
        kind: "workload",
        name: `${ctx.app.name}-${s.name}`,
        service: s.name,
        body: {
          labels: ownershipLabels(ctx.app.name, s.name, ctx.revision.services[s.name]),
          spec: { image: s.image.ref, env: { ...s.env }, replicas: s.scale.kind === "fixed" ? s.scale.replicas : s.scale.min, cpuMillis: s.resources.cpuMillis, memoryMiB: s.resources.memoryMiB },
        },
      }));
    },
    async plan(ctx, desired): Promise<BackendPlan> {
      calls.push("plan");
      if (options.reachable === false) throw new SdxError("SDX_BACKEND_UNREACHABLE", "memory store is offline", { fault: "backend", hint: "start it" });
      const current = live(ctx.app.name);
      const { actions, diagnostics } = diffResources(desired, current, { kindOrder: ["workload"] });
      const deployed = [...store.values()].filter((o) => isOwnedBy(o.labels, ctx.app.name)).map((o) => ({
        service: o.labels["sdx.dev/service"]!, replicas: Number(o.spec.replicas), cpuMillis: Number(o.spec.cpuMillis), memoryMiB: Number(o.spec.memoryMiB),
      }));
      // An object written without a finished wait (wait: false, or an interrupted deploy) is a rollout still to wait for.
      const unconverged = [...store.values()].filter((o) => isOwnedBy(o.labels, ctx.app.name) && o.rolledOut === false)
        .map((o) => ({ service: o.labels["sdx.dev/service"]!, resource: { kind: o.kind, name: o.name }, reason: `0 of ${String(o.spec.replicas)} replicas running` }));
      return { target: ctx.target.name, backend: "memory", mode: "live", actions, summary: summarize(actions), diagnostics, deployed, unconverged };
    },
    async apply(ctx, plan, opts): Promise<BackendApplyResult> {
      calls.push("apply");
      const r = await executeActions(plan.actions, {
        target: ctx.target.name,
        concurrency: 2,
        rank: () => 0,
        ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        run: async (a) => {
          options.beforeRun?.(a);
          if (options.failOn?.has(a.resource.name)) throw new SdxError("SDX_BACKEND_REJECTED", `store refused ${a.resource.name}`, { fault: "backend" });
          const key = `${a.resource.kind}/${a.resource.name}`;
          if (a.kind === "delete") store.delete(key);
          else {
            const body = a.desired!.body as { labels: Record<string, string>; spec: Record<string, unknown> };
            store.set(key, { kind: a.resource.kind, name: a.resource.name, labels: body.labels, spec: body.spec, rolledOut: false });
          }
        },
      });
      if (options.waitThrows && !r.aborted && r.failed.length === 0) throw options.waitThrows;
      let status: BackendApplyResult["status"] = r.aborted ? "aborted" : r.failed.length ? "failed" : "succeeded";
      // The "wait": every rollout the plan found unfinished, and every object just written, converges now.
      const waitFor = [...plan.actions.filter((a) => a.kind === "create" || a.kind === "update").map((a) => `${a.resource.kind}/${a.resource.name}`),
        ...(plan.unconverged ?? []).map((u) => `${u.resource.kind}/${u.resource.name}`)];
      if (status === "succeeded" && opts.wait !== false) {
        if (opts.signal?.aborted) status = "aborted";
        else for (const k of waitFor) { const o = store.get(k); if (o) o.rolledOut = true; }
      }
      return {
        status, completed: r.completed, failed: r.failed, remaining: r.remaining,
        rollouts: ctx.app.services.map((s) => ({ service: s.name, status: status !== "succeeded" ? "failed" : opts.wait === false ? "not-waited" : "succeeded", desired: 1, ready: status === "succeeded" ? 1 : 0 })),
        ...(r.failed[0] ? { error: r.failed[0].error } : {}),
      };
    },
    async status(ctx) {
      const objs = [...store.values()].filter((o) => isOwnedBy(o.labels, ctx.appName));
      return {
        target: ctx.target.name, backend: "memory", warnings: [],
        services: objs.map((o) => ({ service: o.labels["sdx.dev/service"]!, desired: Number(o.spec.replicas), running: Number(o.spec.replicas), ready: Number(o.spec.replicas), state: "healthy" as const, messages: [] })),
      };
    },
    async destroy(ctx) {
      const deleted = [];
      for (const [k, o] of store) if (isOwnedBy(o.labels, ctx.appName)) {
        store.delete(k);
        deleted.push({ kind: o.kind, name: o.name });
      }
      return { deleted, failed: [] };
    },
  };
}
