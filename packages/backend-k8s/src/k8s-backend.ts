import {
  LABEL_APP,
  LABEL_REVISION,
  LABEL_SERVICE,
  isOwnedBy,
  toSdxError,
  type Backend,
  type BackendApplyOptions,
  type BackendApplyResult,
  type BackendCallOptions,
  type BackendCapabilities,
  type SizeLimits,
  type BackendContext,
  type BackendDestroyResult,
  type BackendPlan,
  type BackendPlanOptions,
  type BackendStatus,
  type BackendTargetContext,
  type CheckReport,
  type CostModel,
  type PricingProfile,
  type Resource,
  type ResourceRef,
  type ServiceStatus,
} from "@sdx/sdk";
import { applyK8s, type ApplyK8sDeps } from "./apply/apply-k8s.js";
import { evaluateRollout } from "./apply/rollout-state.js";
import { eventTime } from "./apply/wait-rollout.js";
import type { K8sClient, KubeObject } from "./client/k8s-client.js";
import { MANAGED_KINDS } from "./k8s-kinds.js";
import { planK8s } from "./plan/plan-k8s.js";
import { pricingFromNodes } from "./pricing/pricing-from-nodes.js";
import { checkK8s } from "./render/check-k8s.js";
import { k8sTargetSpec, type K8sTarget } from "./k8s-target.js";
import { renderK8s } from "./render/render-k8s.js";
import { DEFAULT_SPOT_LABELS } from "./render/spot-placement.js";
import { mapBounded } from "./util/map-bounded.js";

/** Options for {@link K8sBackend}. */
export interface K8sBackendOptions {
  /** Builds the API client for a target. @default an HttpK8sClient from the target's kubeconfig and context */
  readonly clientFor?: (target: K8sTarget) => K8sClient | Promise<K8sClient>;
  /** Rollout poll delays (tests shorten them). */
  readonly apply?: ApplyK8sDeps;
}

/** Warning events kept per service in `status`. */
const MESSAGES_PER_SERVICE = 5;

/**
 * The API server refuses a ConfigMap or Secret with more than 1 MiB of data, and
 * render puts all of a service's files in one ConfigMap and its env/file secrets
 * in one Secret.
 */
export const K8S_SIZE_LIMITS = {
  file: { bytes: 1024 * 1024, holder: "a ConfigMap" },
  filesPerService: { bytes: 1024 * 1024, holder: "one ConfigMap" },
  secret: { bytes: 1024 * 1024, holder: "a Secret" },
  secretsPerService: { bytes: 1024 * 1024, holder: "one Secret" },
} as const satisfies SizeLimits;

/** The Kubernetes backend: Deployments and friends, applied with server-side apply as field manager `sdx`. */
export class K8sBackend implements Backend<K8sTarget> {
  readonly kind = "kubernetes";
  readonly target = k8sTargetSpec;
  readonly displayName = "Kubernetes";
  readonly capabilities: BackendCapabilities = {
    spot: true,
    autoscale: true,
    nativeProbes: ["http", "tcp", "exec"],
    volumes: ["ephemeral", "persistent"],
    rollback: true,
    liveDiff: true,
    sizeLimits: K8S_SIZE_LIMITS,
  };
  readonly #clientFor: (target: K8sTarget) => K8sClient | Promise<K8sClient>;
  readonly #applyDeps: ApplyK8sDeps;

  constructor(options: K8sBackendOptions = {}) {
    // @kubernetes/client-node takes ~0.4 s to import; load it only when a
    // cluster is contacted, so offline plans and --version stay fast.
    this.#clientFor = options.clientFor ?? (async (t) => (await import("./client/k8s-client.js")).HttpK8sClient.forTarget(t));
    this.#applyDeps = options.apply ?? {};
  }

  check(ctx: BackendContext<K8sTarget>): CheckReport {
    return checkK8s(ctx);
  }

  render(ctx: BackendContext<K8sTarget>): readonly Resource[] {
    return renderK8s(ctx);
  }

  async plan(ctx: BackendContext<K8sTarget>, desired: readonly Resource[], options: BackendPlanOptions): Promise<BackendPlan> {
    return planK8s(await this.#clientFor(ctx.target), ctx, desired, options);
  }

  async apply(ctx: BackendContext<K8sTarget>, plan: BackendPlan, options: BackendApplyOptions): Promise<BackendApplyResult> {
    return applyK8s(await this.#clientFor(ctx.target), ctx, plan, options, this.#applyDeps);
  }

  async status(ctx: BackendTargetContext<K8sTarget>, options: BackendCallOptions): Promise<BackendStatus> {
    const client = await this.#clientFor(ctx.target);
    const ns = ctx.target.namespace;
    const [deps, events] = await Promise.all([
      client.list("Deployment", ns, { labelSelector: `${LABEL_APP}=${ctx.appName}` }, options.signal),
      client.list("Event", ns, { fieldSelector: "type=Warning" }, options.signal),
    ]);
    const owned = deps.filter((d) => isOwnedBy(d.metadata.labels, ctx.appName));
    const recent = [...events].sort((a, b) => eventTime(b).localeCompare(eventTime(a)));
    const about = (name: string): KubeObject[] =>
      recent.filter((e) => {
        const n = String((e.involvedObject as { name?: string } | undefined)?.name ?? "");
        return n === name || n.startsWith(`${name}-`);
      });
    const byService = new Map<string, KubeObject[]>();
    for (const d of owned) {
      const svc = d.metadata.labels?.[LABEL_SERVICE] ?? d.metadata.name;
      byService.set(svc, [...(byService.get(svc) ?? []), d]);
    }
    const services: ServiceStatus[] = [];
    const warnings = new Set<string>();
    for (const [service, ds] of [...byService].sort(([a], [b]) => a.localeCompare(b))) {
      let desired = 0, running = 0, ready = 0, updated = 0;
      let phase: "succeeded" | "progressing" | "failed" = "succeeded";
      const messages: string[] = [];
      for (const d of ds) {
        const st = (d.status ?? {}) as { replicas?: number };
        const r = evaluateRollout(d);
        desired += r.desired;
        running += st.replicas ?? 0;
        ready += r.ready;
        updated += r.updated;
        if (r.phase === "failed") phase = "failed";
        else if (r.phase === "progressing" && phase !== "failed") phase = "progressing";
        for (const e of about(d.metadata.name)) {
          const line = `${String(e.reason ?? "Warning")}: ${String(e.message ?? "")}`;
          if (!messages.includes(line)) messages.push(line);
          warnings.add(`${service}: ${line}`);
        }
      }
      const main = ds.find((d) => d.metadata.name === service) ?? ds[0]!;
      const revision = main.metadata.labels?.[LABEL_REVISION];
      const state: ServiceStatus["state"] = desired === 0 ? "stopped" : phase === "failed" ? "degraded" : phase === "progressing" ? "progressing" : ready >= desired ? "healthy" : "degraded";
      services.push({
        service, desired, running, ready, updated, pending: Math.max(0, desired - ready),
        ...(revision ? { revision } : {}), state, messages: messages.slice(0, MESSAGES_PER_SERVICE),
      });
    }
    return { target: ctx.target.name, backend: this.kind, services, warnings: [...warnings].slice(0, 20) };
  }

  async destroy(ctx: BackendTargetContext<K8sTarget>, options: BackendCallOptions): Promise<BackendDestroyResult> {
    const client = await this.#clientFor(ctx.target);
    const ns = ctx.target.namespace;
    const lists = await Promise.all(MANAGED_KINDS.map((k) => client.list(k, ns, { labelSelector: `${LABEL_APP}=${ctx.appName}` }, options.signal)));
    // The label selector is a filter, not the proof: isOwnedBy checks managed-by too.
    const mine = lists.flat().filter((o) => isOwnedBy(o.metadata.labels, ctx.appName));
    const deleted: ResourceRef[] = [];
    const failed: BackendDestroyResult["failed"][number][] = [];
    await mapBounded(mine, 8, async (o) => {
      const ref: ResourceRef = { kind: o.kind ?? "", name: o.metadata.name, ...(o.metadata.labels?.[LABEL_SERVICE] ? { service: o.metadata.labels[LABEL_SERVICE] } : {}) };
      try {
        await client.delete(ref.kind, ref.name, ns, { ...(o.metadata.uid ? { uid: o.metadata.uid } : {}), propagation: "Background" }, options.signal);
        deleted.push(ref);
      } catch (e) {
        failed.push({ resource: ref, error: toSdxError(e, "SDX_BACKEND_ERROR", "backend").toJSON() });
      }
    });
    const order = (r: ResourceRef): string => `${r.kind}/${r.name}`;
    deleted.sort((a, b) => order(a).localeCompare(order(b)));
    return { deleted, failed };
  }

  async discoverPricing(ctx: BackendTargetContext<K8sTarget>, options: BackendCallOptions): Promise<Partial<PricingProfile>> {
    const client = await this.#clientFor(ctx.target);
    const nodes = await client.list("Node", undefined, {}, options.signal);
    return pricingFromNodes(nodes, ctx.target.spotLabels ?? DEFAULT_SPOT_LABELS);
  }

  /** Replicas packed onto the pricing profile's nodes, each keeping the kubelet reservation and ~100m / 200 MiB for per-node daemons (kube-proxy, CNI, log agent). */
  costModel(): CostModel {
    return K8S_COST_MODEL;
  }
}

const K8S_COST_MODEL: CostModel = { kind: "nodes", reserve: { kind: "kubernetes-tiered", daemonCpuMillis: 100, daemonMemoryMiB: 200 } };
