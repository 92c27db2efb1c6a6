import type { Container } from "inversify";
import type { Backend, Billables, CostModel, TargetKindSpec } from "../backend/backend.js";
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

/**
 * Each target's billable things beside compute, by target name in the targets'
 * order, as its backend declares them for `app`: the spec's `billables` first,
 * else the loaded backend's. A spec that declares its cost model but no
 * billables is taken at its word (nothing beside compute), so pricing loads
 * no backend that {@link resolveCostModels} does not load. A backend that
 * declares none, cannot be loaded, or fails to answer yields no items and a
 * note saying why, so the estimate lists it as unpriced instead of reading
 * "nothing else is billed".
 */
export async function resolveBillables(app: App, targets: readonly Target[], registry: BackendRegistry): Promise<Map<string, Billables>> {
  const specs = await registry.targetKinds().catch(() => new Map<string, TargetKindSpec>());
  const none = (why: string): Billables => ({ items: [], unpriced: [`everything beside compute: ${why}`] });
  const failed = (t: Target, e: unknown): Billables => none(`the ${t.kind} backend could not list it for target ${t.name} (${toSdxError(e).message})`);
  const all = await Promise.all(targets.map(async (t): Promise<Billables> => {
    const spec = specs.get(t.kind);
    if (spec?.billables) {
      try {
        return spec.billables(app, t);
      } catch (e) {
        return failed(t, e);
      }
    }
    if (spec?.costModel) return none(`the ${t.kind} backend does not declare it`);
    let backend: Backend;
    try {
      backend = await registry.get(t.kind);
    } catch (e) {
      return none(`the ${t.kind} backend cannot be loaded (${toSdxError(e).message})`);
    }
    if (!backend.billables) return none(`the ${t.kind} backend does not declare it`);
    try {
      return backend.billables(app, t);
    } catch (e) {
      return failed(t, e);
    }
  }));
  return new Map(targets.map((t, i) => [t.name, all[i]!]));
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
