import {
  applyPlan, isOwnedBy, revealDeep, rolloutSettings, SdxError, sleep,
  type ApplyHooks, type BackendApplyOptions, type BackendApplyResult, type BackendContext, type BackendPlan, type PlannedAction,
} from "@sdx/sdk";
import { dockerStatusOf } from "../client/map-swarm-error.js";
import type { SwarmClient } from "../client/swarm-client.js";
import { adaptSpecToApi } from "../render/adapt-spec-to-api.js";
import { referencedNow, refKey } from "../plan/referenced-objects.js";
import { waitRollouts, type RolloutWatch } from "./wait-rollouts.js";

/** Test seams for {@link applySwarm}: a clock and a poll period, so rollout waits need no real time. */
export interface ApplySwarmSeams {
  /** @default Date.now */
  readonly now?: () => number;
  /** @default a timer that honours the signal */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** @default 500 */
  readonly pollMs?: number;
}

type Spec = Record<string, unknown>;

/** Apply order: network, then secrets and configs, then services; pruned services last. */
function rankOf(a: PlannedAction): number {
  if (a.resource.kind === "service") return a.kind === "delete" ? 3 : 2;
  return a.resource.kind === "network" ? 0 : 1;
}

/** Deletes of secrets, configs and networks wait until the rollouts succeeded: the old tasks (and a rollback) still need them. */
const isGarbage = (a: PlannedAction): boolean => a.kind === "delete" && a.resource.kind !== "service";

/** Name → ID of the engine's secrets and configs; services reference them by ID. */
interface Refs {
  readonly secrets: Map<string, string>;
  readonly configs: Map<string, string>;
}

/** Fills in secret/config IDs, keeps the engine's ForceUpdate counter, and adds newer-API fields. */
export function wireServiceSpec(body: Spec, refs: Refs, apiVersion: string, live?: Spec): Spec {
  const spec = structuredClone(revealDeep(body)) as Spec & { TaskTemplate: { ContainerSpec: Spec; ForceUpdate?: number } };
  const c = spec.TaskTemplate.ContainerSpec;
  const resolve = (kind: "secret" | "config", name: string): string => {
    const id = (kind === "secret" ? refs.secrets : refs.configs).get(name);
    if (!id) throw new SdxError("SDX_BACKEND_ERROR", `${kind} ${name} does not exist on the engine`, { fault: "backend", hint: "Re-run the deploy; it creates missing secrets and configs first." });
    return id;
  };
  if (Array.isArray(c.Secrets)) c.Secrets = c.Secrets.map((s: Spec) => ({ ...s, SecretID: resolve("secret", String(s.SecretName)) }));
  if (Array.isArray(c.Configs)) c.Configs = c.Configs.map((s: Spec) => ({ ...s, ConfigID: resolve("config", String(s.ConfigName)) }));
  // `docker service update --force` bumps this counter; resetting it would restart every task.
  const force = (live?.TaskTemplate as { ForceUpdate?: number } | undefined)?.ForceUpdate;
  if (force) spec.TaskTemplate.ForceUpdate = force;
  return adaptSpecToApi(spec, apiVersion);
}

function notOwned(kind: string, name: string): SdxError {
  return new SdxError("SDX_NOT_OWNED", `${kind} "${name}" was not created by sdx for this app; sdx will not change it`, {
    fault: "user", hint: "Rename the service or remove the existing object.",
  });
}

/**
 * Removes a network, retrying while the engine still has endpoints on it:
 * removed services' tasks take a few seconds to detach.
 */
export async function removeNetworkPatiently(client: SwarmClient, id: string, signal?: AbortSignal, seconds = 30): Promise<void> {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    try {
      await client.removeNetwork(id);
      return;
    } catch (e) {
      const status = dockerStatusOf(e);
      if (status === 404) return;
      if (Date.now() > until || status === undefined || status < 400) throw e;
      await sleep(500, signal);
    }
  }
}

/**
 * Applies a plan with the engine's skeleton ({@link applyPlan}): creates the
 * network, secrets and configs, creates or updates services at their version
 * index (re-inspecting and retrying once when another writer moved it), prunes
 * removed services, waits for the rollouts (those it started and those the
 * plan found unfinished, e.g. after an interrupted deploy; Swarm rolls back a
 * failed update itself), and only after they succeeded removes superseded
 * secrets, configs and networks that no running or rollback-able revision
 * mounts. Never throws.
 */
export async function applySwarm(client: SwarmClient, ctx: BackendContext, plan: BackendPlan, options: BackendApplyOptions, seams: ApplySwarmSeams = {}): Promise<BackendApplyResult> {
  return applyPlan(ctx, plan, options, swarmApplyHooks(client, ctx, options, seams));
}

/** The Swarm hooks for {@link applyPlan}. */
export function swarmApplyHooks(client: SwarmClient, ctx: BackendContext, options: BackendApplyOptions, seams: ApplySwarmSeams = {}): ApplyHooks<RolloutWatch> {
  const appName = ctx.app.name;
  let refs: Refs = { secrets: new Map(), configs: new Map() };
  const watch = (resource: PlannedAction["resource"], created: boolean, baseline?: RolloutWatch["baseline"], resumed = false): RolloutWatch => {
    const service = resource.service ?? resource.name;
    const { timeoutSeconds, autoRollback } = rolloutSettings(ctx, service, options);
    return {
      service, swarmName: resource.name, created, timeoutSeconds, autoRollback,
      ...(baseline ? { baseline } : {}),
      ...(resumed ? { resumed } : {}),
      // With a healthcheck, Swarm only reports a task running once it is healthy.
      stableSeconds: ctx.app.services.find((s) => s.name === service)?.health ? 0 : 5,
    };
  };

  const run = async (a: PlannedAction, signal: AbortSignal | undefined): Promise<RolloutWatch | undefined> => {
    const body = (a.desired?.body ?? {}) as Spec;
    const name = a.resource.name;
    switch (a.resource.kind) {
      case "network":
        if (a.kind === "create") await client.createNetwork(body);
        else if (a.kind === "delete") await removeNetworkPatiently(client, name, signal);
        else {
          throw new SdxError("SDX_BACKEND_UNSUPPORTED", `network ${name} differs from what sdx wants and Swarm cannot change a network in place`, {
            fault: "user", hint: `Run \`sdx destroy\` for the app (or \`docker network rm ${name}\` once no service uses it), then deploy again.`,
          });
        }
        return undefined;
      case "secret":
      case "config": {
        const ids = a.resource.kind === "secret" ? refs.secrets : refs.configs;
        if (a.kind === "delete") {
          const id = ids.get(name);
          if (id) await (a.resource.kind === "secret" ? client.removeSecret(id) : client.removeConfig(id));
          return undefined;
        }
        if (a.kind !== "create") return undefined; // content-named: a different content is a different name
        if (body.Data === undefined) {
          throw new SdxError("SDX_SECRET_UNRESOLVED", `${a.resource.kind} ${name} has no value to store`, { fault: "user", hint: "Set the secret's source (environment variable or file) and deploy again." });
        }
        // The one place a secret value is revealed: on its way into the engine.
        const spec = { Name: String(body.Name), Labels: body.Labels as Record<string, string>, data: String(revealDeep(body.Data)) };
        ids.set(name, await (a.resource.kind === "secret" ? client.createSecret(spec) : client.createConfig(spec)));
        return undefined;
      }
      case "service": {
        if (a.kind === "create") {
          await client.createService(wireServiceSpec(body, refs, client.apiVersion));
          return watch(a.resource, true);
        }
        const live = await client.inspectService(name);
        if (!live) {
          if (a.kind === "delete") return undefined;
          throw new SdxError("SDX_BACKEND_CONFLICT", `service ${name} disappeared since the plan`, { fault: "backend", hint: "Re-run the deploy." });
        }
        if (!isOwnedBy(live.Spec.Labels, appName)) throw notOwned("service", name);
        if (a.kind === "delete") {
          await client.removeService(live.ID);
          return undefined;
        }
        try {
          await client.updateService(live.ID, live.Version.Index, wireServiceSpec(body, refs, client.apiVersion, live.Spec));
        } catch (e) {
          // Optimistic concurrency: if someone else moved the version, re-inspect and try once more.
          const again = await client.inspectService(name);
          if (!again || again.Version.Index === live.Version.Index || !isOwnedBy(again.Spec.Labels, appName)) throw e;
          await client.updateService(again.ID, again.Version.Index, wireServiceSpec(body, refs, client.apiVersion, again.Spec));
        }
        return watch(a.resource, false, live.UpdateStatus);
      }
      default:
        throw new SdxError("SDX_INTERNAL", `unknown swarm resource kind ${a.resource.kind}`);
    }
  };

  return {
    concurrency: 4,
    rank: rankOf,
    isDeferred: isGarbage,
    // Services reference secrets and configs by ID: read them before the first change.
    prepare: async () => {
      const [secrets, configs] = await Promise.all([client.listSecrets(), client.listConfigs()]);
      refs = { secrets: new Map(secrets.map((s) => [s.Spec.Name, s.ID])), configs: new Map(configs.map((s) => [s.Spec.Name, s.ID])) };
    },
    run,
    resume: (u) => watch({ kind: "service", name: u.resource.name, service: u.service }, false, undefined, true),
    waitRollouts: async (watches, { settle, signal }) => {
      await waitRollouts(client, watches, {
        target: ctx.target.name, onEvent: options.onEvent, signal, settle, now: seams.now, sleep: seams.sleep, pollMs: seams.pollMs,
      });
    },
    // Look again now that the rollouts ended: the plan's view is older than this deploy.
    stillReferenced: async (deferred) => {
      const mounted = await referencedNow(client, appName);
      return deferred.filter((a) => mounted.has(refKey(a.resource.kind, a.resource.name)));
    },
    rolloutHint: () => "See `sdx status` and `docker service ps --no-trunc <app>_<service>` for the task errors.",
  };
}
