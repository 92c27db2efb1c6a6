// The built-in backends' declared cost models, for tests: what the sdk passes
// to estimate() (`EstimateOptions.costModels`), taken from the backends
// themselves so that pricing tests check the models they really declare.
import type { Target, App, Backend, CostEstimator, CostModel, NodeReserve } from "@sdx/sdk";
import { billedFargateSize, EcsBackend } from "@sdx/backend-ecs";
import { K8sBackend } from "@sdx/backend-k8s";
import { SwarmBackend } from "@sdx/backend-swarm";
import { hostsCostModel, type HostsTarget } from "@sdx/backend-hosts/target";

const BACKENDS: readonly Backend[] = [new K8sBackend(), new SwarmBackend(), new EcsBackend()];

/** Each target's model as its built-in backend declares it; targets of other kinds get none. */
export function costModelsOf(targets: readonly Target[]): Map<string, CostModel> {
  const out = new Map<string, CostModel>();
  for (const t of targets) {
    // The hosts backend's model, from its light target module (its target kind declares it; the backend exposes the same).
    const model = t.kind === "hosts" ? hostsCostModel(t as HostsTarget) : BACKENDS.find((b) => b.kind === t.kind)?.costModel?.(t);
    if (model) out.set(t.name, model);
  }
  return out;
}

/** An estimator that is given the built-in backends' cost models unless the call names its own, as the sdk's plan() does. */
export function withBackendCostModels(estimator: CostEstimator): CostEstimator {
  return { estimate: (app: App, o) => estimator.estimate(app, { costModels: costModelsOf(o.targets ?? app.targets), ...o }) };
}

const reserveOf = (kind: string): NodeReserve => {
  const m = BACKENDS.find((b) => b.kind === kind)!.costModel!({ name: "x", kind, overrides: [] } as unknown as Target);
  if (m.kind !== "nodes") throw new Error(`${kind} is not node-packed`);
  return m.reserve;
};

/** The Kubernetes backend's node reserve (kubelet tiers + daemons). */
export const KUBERNETES_RESERVE: NodeReserve = reserveOf("kubernetes");
/** The Swarm backend's node reserve (flat, OS and dockerd). */
export const SWARM_RESERVE: NodeReserve = reserveOf("swarm");
/** The ECS backend's billed Fargate size, as its `tasks` cost model hands it to pricing. */
export const FARGATE_SIZE = billedFargateSize;
