import type { Container } from "inversify";
import type { Backend, CostModel, TargetKindSpec } from "../backend/backend.js";
import type { BackendRegistry } from "../backend/backend-registry.js";
import { toSdxError } from "../errors/sdx-error.js";
import type { Target, App } from "../model/app.js";
import { sdxServices, type SdxSession } from "./sdx-services.js";

/**
 * Each target's cost model, by target name in the targets' order, as its
 * backend declares it. A backend that declares none, cannot be loaded, or
 * fails to answer yields `unpriced` with the reason: pricing never falls back
 * to another kind's model.
 */
export async function resolveCostModels(targets: readonly Target[], registry: BackendRegistry): Promise<Map<string, CostModel>> {
  // A kind's spec (loaded for validation already) usually declares the model: pricing
  // every target of the cost table then loads no backend it will not plan.
  const specs = await registry.targetKinds().catch(() => new Map<string, TargetKindSpec>());
  const models = await Promise.all(targets.map(async (t): Promise<CostModel> => {
    const spec = specs.get(t.kind);
    if (spec?.costModel) {
      try {
        return spec.costModel(t);
      } catch (e) {
        return { kind: "unpriced", reason: `the ${t.kind} backend has no cost model for target ${t.name}: ${toSdxError(e).message}` };
      }
    }
    let backend: Backend;
    try {
      backend = await registry.get(t.kind);
    } catch (e) {
      return { kind: "unpriced", reason: `the ${t.kind} backend cannot be loaded: ${toSdxError(e).message}` };
    }
    if (!backend.costModel) return { kind: "unpriced", reason: `the ${t.kind} backend declares no cost model` };
    try {
      return backend.costModel(t);
    } catch (e) {
      return { kind: "unpriced", reason: `the ${t.kind} backend has no cost model for target ${t.name}: ${toSdxError(e).message}` };
    }
  }));
  return new Map(targets.map((t, i) => [t.name, models[i]!]));
}

/** Options for {@link targetCostModels}. */
export interface TargetCostModelsOptions {
  /** A container with extra or replacement backends. @default a container with the built-ins */
  readonly container?: Container;
  /** The session whose backends (plugins included) price the targets; wins over `container`. @default the default session */
  readonly session?: SdxSession;
}

/** How each of the app's targets is priced, from the registered backends (what `sdx targets` shows). */
export async function targetCostModels(app: App, options: TargetCostModelsOptions = {}): Promise<Map<string, CostModel>> {
  return resolveCostModels(app.targets, sdxServices(options).registry);
}
