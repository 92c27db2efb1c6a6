import {
  executeActions, isOwnedBy, revealDeep, SdxError, sleep, toSdxError,
  type BackendApplyOptions, type BackendApplyResult, type BackendContext, type BackendPlan, type PlannedAction, type SdxErrorData, type ServiceRollout,
} from "@sdx/sdk";
import { dockerStatusOf } from "../client/docker-error.js";
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
 * Applies a plan: creates the network, secrets and configs, creates or updates
 * services at their version index (re-inspecting and retrying once when
 * another writer moved it), prunes removed services, waits for the rollouts
 * (those it started and those the plan found unfinished, e.g. after an
 * interrupted deploy), and only after they all succeeded removes superseded
 * secrets and configs that no running or rollback-able revision mounts. Never
 * throws: every failure or abort is a result with completed/failed/remaining.
 */
export async function applySwarm(client: SwarmClient, ctx: BackendContext, plan: BackendPlan, options: BackendApplyOptions, seams: ApplySwarmSeams = {}): Promise<BackendApplyResult> {
  const target = ctx.target.name;
  const appName = ctx.app.name;
  const changes = plan.actions.filter((a) => a.kind !== "no-op");
  let refs: Refs;
  try {
    const [secrets, configs] = await Promise.all([client.listSecrets(), client.listConfigs()]);
    refs = { secrets: new Map(secrets.map((s) => [s.Spec.Name, s.ID])), configs: new Map(configs.map((s) => [s.Spec.Name, s.ID])) };
  } catch (e) {
    // Nothing changed yet.
    const error = toSdxError(e, "SDX_BACKEND_ERROR", "backend").toJSON();
    return { status: error.code === "SDX_ABORTED" ? "aborted" : "failed", completed: [], failed: [], remaining: changes, rollouts: [], error };
  }
  const watches: RolloutWatch[] = [];
  const watch = (a: { resource: PlannedAction["resource"] }, created: boolean, baseline?: RolloutWatch["baseline"], resumed = false): void => {
    const svc = ctx.app.services.find((s) => s.name === a.resource.service);
    watches.push({
      service: a.resource.service ?? a.resource.name, swarmName: a.resource.name, created,
      ...(baseline ? { baseline } : {}),
      ...(resumed ? { resumed } : {}),
      timeoutSeconds: options.timeoutSeconds ?? svc?.rollout.timeoutSeconds ?? 600,
      autoRollback: svc?.rollout.autoRollback ?? true,
      // With a healthcheck, Swarm only reports a task running once it is healthy.
      stableSeconds: svc?.health ? 0 : 5,
    });
  };
  const notWaited = (reason?: string): ServiceRollout[] => watches.map((w) => ({ service: w.service, status: "not-waited", desired: 0, ready: 0, ...(reason ? { reason } : {}) }));

  const run = async (a: PlannedAction): Promise<void> => {
    const body = (a.desired?.body ?? {}) as Spec;
    const name = a.resource.name;
    switch (a.resource.kind) {
      case "network":
        if (a.kind === "create") await client.createNetwork(body);
        else if (a.kind === "delete") await removeNetworkPatiently(client, name, options.signal);
        else {
          throw new SdxError("SDX_BACKEND_UNSUPPORTED", `network ${name} differs from what sdx wants and Swarm cannot change a network in place`, {
            fault: "user", hint: `Run \`sdx destroy\` for the app (or \`docker network rm ${name}\` once no service uses it), then deploy again.`,
          });
        }
        return;
      case "secret":
      case "config": {
        const ids = a.resource.kind === "secret" ? refs.secrets : refs.configs;
        if (a.kind === "delete") {
          const id = ids.get(name);
          if (id) await (a.resource.kind === "secret" ? client.removeSecret(id) : client.removeConfig(id));
          return;
        }
        if (a.kind !== "create") return; // content-named: a different content is a different name
        if (body.Data === undefined) {
          throw new SdxError("SDX_SECRET_UNRESOLVED", `${a.resource.kind} ${name} has no value to store`, { fault: "user", hint: "Set the secret's source (environment variable or file) and deploy again." });
        }
        // The one place a secret value is revealed: on its way into the engine.
        const spec = { Name: String(body.Name), Labels: body.Labels as Record<string, string>, data: String(revealDeep(body.Data)) };
        ids.set(name, await (a.resource.kind === "secret" ? client.createSecret(spec) : client.createConfig(spec)));
        return;
      }
      case "service": {
        if (a.kind === "create") {
          await client.createService(wireServiceSpec(body, refs, client.apiVersion));
          watch(a, true);
          return;
        }
        const live = await client.inspectService(name);
        if (!live) {
          if (a.kind === "delete") return;
          throw new SdxError("SDX_BACKEND_CONFLICT", `service ${name} disappeared since the plan`, { fault: "backend", hint: "Re-run the deploy." });
        }
        if (!isOwnedBy(live.Spec.Labels, appName)) throw notOwned("service", name);
        if (a.kind === "delete") {
          await client.removeService(live.ID);
          return;
        }
        try {
          await client.updateService(live.ID, live.Version.Index, wireServiceSpec(body, refs, client.apiVersion, live.Spec));
        } catch (e) {
          // Optimistic concurrency: if someone else moved the version, re-inspect and try once more.
          const again = await client.inspectService(name);
          if (!again || again.Version.Index === live.Version.Index || !isOwnedBy(again.Spec.Labels, appName)) throw e;
          await client.updateService(again.ID, again.Version.Index, wireServiceSpec(body, refs, client.apiVersion, again.Spec));
        }
        watch(a, false, live.UpdateStatus);
        return;
      }
      default:
        throw new SdxError("SDX_INTERNAL", `unknown swarm resource kind ${a.resource.kind}`);
    }
  };

  const main = plan.actions.filter((a) => !isGarbage(a));
  const garbage = plan.actions.filter(isGarbage);
  const exec = await executeActions(main, {
    target, run, rank: rankOf, concurrency: 4,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}), ...(options.signal ? { signal: options.signal } : {}),
  });
  const completed = [...exec.completed];
  const failed = [...exec.failed];
  const remaining = [...exec.remaining];
  // Rollouts an earlier deploy left unfinished: a deploy is complete only once they converged too.
  const changedServices = new Set(watches.map((w) => w.swarmName));
  for (const u of plan.unconverged ?? []) {
    if (changedServices.has(u.resource.name) || main.some((a) => a.resource.kind === "service" && a.resource.name === u.resource.name && a.kind !== "no-op")) continue;
    watch({ resource: { kind: "service", name: u.resource.name, service: u.service } }, false, undefined, true);
  }
  if (failed.length > 0 || exec.aborted) {
    const error = failed[0]?.error ?? new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user" }).toJSON();
    return { status: exec.aborted ? "aborted" : "failed", completed, failed, remaining: [...remaining, ...garbage], rollouts: notWaited(), error };
  }
  if (options.wait === false) {
    // Superseded secrets stay until a waited deploy: a rollback would still need them.
    return { status: "succeeded", completed, failed, remaining: [...remaining, ...garbage], rollouts: notWaited() };
  }
  const waited = await waitRollouts(client, watches, {
    target, ...(options.onEvent ? { onEvent: options.onEvent } : {}), ...(options.signal ? { signal: options.signal } : {}),
    ...(seams.now ? { now: seams.now } : {}), ...(seams.sleep ? { sleep: seams.sleep } : {}), ...(seams.pollMs === undefined ? {} : { pollMs: seams.pollMs }),
  });
  const rollouts: ServiceRollout[] = waited.rollouts.map(({ timedOut: _t, ...r }) => r);
  if (waited.error) {
    // The changes are made; the wait could not finish. A re-run finds the rollouts unconverged and waits again.
    return { status: waited.error.code === "SDX_ABORTED" ? "aborted" : "failed", completed, failed, remaining: [...remaining, ...garbage], rollouts, error: waited.error.toJSON() };
  }
  const watched = waited.rollouts;
  const bad = watched.find((r) => r.status === "failed") ?? watched.find((r) => r.status === "rolled-back");
  if (bad) {
    const error: SdxErrorData = {
      code: bad.timedOut && bad.status === "failed" ? "SDX_ROLLOUT_TIMEOUT" : "SDX_ROLLOUT_FAILED", fault: "backend",
      message: `${bad.service}: ${bad.status === "rolled-back" ? "the update failed and Swarm rolled it back" : "the rollout failed"}: ${bad.reason ?? "no reason given"}`,
      hint: "See `sdx status` and `docker service ps --no-trunc <app>_<service>` for the task errors.",
    };
    return { status: rollouts.some((r) => r.status === "failed") ? "failed" : "rolled-back", completed, failed, remaining: [...remaining, ...garbage], rollouts, error };
  }
  if (garbage.length === 0) return { status: "succeeded", completed, failed, remaining, rollouts };
  // Look again now that the rollouts ended: the plan's view is older than this deploy.
  let mounted: Set<string>;
  try {
    mounted = await referencedNow(client, appName);
  } catch (e) {
    const error = toSdxError(e, "SDX_BACKEND_ERROR", "backend").toJSON();
    return { status: error.code === "SDX_ABORTED" ? "aborted" : "failed", completed, failed, remaining: [...remaining, ...garbage], rollouts, error };
  }
  const stillMounted = garbage.filter((a) => mounted.has(refKey(a.resource.kind, a.resource.name)));
  const gc = await executeActions(garbage.filter((a) => !stillMounted.includes(a)), {
    target, run, rank: rankOf, concurrency: 4,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}), ...(options.signal ? { signal: options.signal } : {}),
  });
  const error = gc.failed[0]?.error ?? (gc.aborted ? new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user" }).toJSON() : undefined);
  return {
    status: gc.failed.length ? "failed" : gc.aborted ? "aborted" : "succeeded",
    // A superseded object still mounted stays for a later deploy: it is not done, and not an error.
    completed: [...completed, ...gc.completed], failed: gc.failed, remaining: [...gc.remaining, ...stillMounted], rollouts,
    ...(error ? { error } : {}),
  };
}
