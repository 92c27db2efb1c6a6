import type {
  Backend, BackendApplyOptions, BackendApplyResult, BackendCallOptions, BackendCapabilities, BackendContext, BackendDestroyResult,
  BackendPlan, BackendPlanOptions, BackendStatus, BackendTargetContext, Billables, CheckReport, CostModel, PricingProfile, Resource, App,
} from "@sdx/sdk";
import { applyK8s, type ApplyK8sSeams } from "./apply/apply-k8s.js";
import type { K8sClient } from "./client/k8s-client.js";
import { planK8s } from "./plan/plan-k8s.js";
import { pricingFromNodes } from "./plan/pricing-from-nodes.js";
import { checkK8s } from "./check-k8s.js";
import { destroyK8s } from "./destroy-k8s.js";
import { K8S_CAPABILITIES, K8S_DISPLAY_NAME, k8sTargetSpec, type K8sTarget } from "./k8s-target.js";
import { renderK8s } from "./render/render-k8s.js";
import { statusK8s } from "./status-k8s.js";
import { DEFAULT_SPOT_LABELS } from "./render/spot-placement.js";

/** Options for {@link K8sBackend}. */
export interface K8sBackendOptions {
  /** Builds the API client for a target. @default an HttpK8sClient from the target's kubeconfig and context */
  readonly clientFor?: (target: K8sTarget) => K8sClient | Promise<K8sClient>;
  /** Poll delays and give-up times of rollout waits, for tests that must not sleep. @default see {@link ApplyK8sSeams} */
  readonly waitSeams?: ApplyK8sSeams;
}


/** The Kubernetes backend: Deployments and friends, applied with server-side apply as field manager `sdx`. */
export class K8sBackend implements Backend<K8sTarget> {
  readonly kind = "kubernetes";
  readonly target = k8sTargetSpec;
  readonly displayName = K8S_DISPLAY_NAME;
  readonly capabilities: BackendCapabilities = K8S_CAPABILITIES;
  readonly #clientFor: (target: K8sTarget) => K8sClient | Promise<K8sClient>;
  readonly #waitSeams: ApplyK8sSeams;

  constructor(options: K8sBackendOptions = {}) {
    // @kubernetes/client-node takes ~0.4 s to import; load it only when a
    // cluster is contacted, so offline plans and --version stay fast.
    this.#clientFor = options.clientFor ?? (async (t) => (await import("./client/k8s-client.js")).HttpK8sClient.forTarget(t));
    this.#waitSeams = options.waitSeams ?? {};
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
    return applyK8s(await this.#clientFor(ctx.target), ctx, plan, options, this.#waitSeams);
  }

  async status(ctx: BackendTargetContext<K8sTarget>, options: BackendCallOptions): Promise<BackendStatus> {
    return statusK8s(await this.#clientFor(ctx.target), ctx.target, ctx.appName, options.signal);
  }

  async destroy(ctx: BackendTargetContext<K8sTarget>, options: BackendCallOptions): Promise<BackendDestroyResult> {
    return destroyK8s(await this.#clientFor(ctx.target), ctx.target, ctx.appName, options.signal);
  }

  async discoverPricing(ctx: BackendTargetContext<K8sTarget>, options: BackendCallOptions): Promise<Partial<PricingProfile>> {
    const client = await this.#clientFor(ctx.target);
    const nodes = await client.list("Node", undefined, {}, options.signal);
    return pricingFromNodes(nodes, ctx.target.spotLabels ?? DEFAULT_SPOT_LABELS);
  }

  /** Replicas packed onto the pricing profile's nodes, each keeping the kubelet reservation and ~100m / 200 MiB for per-node daemons (kube-proxy, CNI, log agent). */
  costModel(t: K8sTarget): CostModel {
    return k8sTargetSpec.costModel!(t);
  }

  /** Load balancers and their addresses, claimed volumes and a dedicated cluster's control plane (see `k8sBillables`). */
  billables(app: App, t: K8sTarget): Billables {
    return k8sTargetSpec.billables!(app, t);
  }
}

