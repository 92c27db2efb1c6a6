import {
  diffResources, isOwnedBy, LABEL_SERVICE, resourceKey, summarize,
  type BackendContext, type BackendPlan, type LiveResource, type PlannedAction, type Resource, type UnconvergedRollout,
} from "@sdx/sdk";
import { assessRollout } from "../apply/rollout-state.js";
import type { SwarmClient, SwarmNetwork, SwarmObject, SwarmService, SwarmTask } from "../client/swarm-client.js";
import { addContainerRefs, addSpecRefs, isTaskAlive, refKey, type References } from "./referenced-objects.js";
import { SWARM_KINDS } from "../render/render-swarm.js";
import { comparableNetwork, comparableObject, comparableService } from "./comparable-spec.js";
import { deployedServices } from "./deployed-services.js";

/** What sdx sees of an app on the engine: comparable live resources plus the raw objects by name. */
export interface SwarmLive {
  readonly resources: LiveResource[];
  readonly services: ReadonlyMap<string, SwarmService>;
  readonly secrets: ReadonlyMap<string, SwarmObject>;
  readonly configs: ReadonlyMap<string, SwarmObject>;
  readonly networks: ReadonlyMap<string, SwarmNetwork>;
}

/**
 * Lists the engine's services, secrets, configs and overlay networks and keeps
 * those this app owns (by label) or whose names it wants (to detect foreign
 * objects in the way). One list call per kind.
 */
export async function observeSwarm(client: SwarmClient, appName: string, wanted: ReadonlySet<string>): Promise<SwarmLive> {
  const [services, secrets, configs, networks] = await Promise.all([client.listServices(), client.listSecrets(), client.listConfigs(), client.listNetworks()]);
  const relevant = (name: string, labels: Record<string, string> | undefined): boolean => wanted.has(name) || isOwnedBy(labels, appName);
  const netNames = new Map(networks.map((n) => [n.Id, n.Name]));
  const resources: LiveResource[] = [];
  const byName = <T>(xs: T[], name: (x: T) => string): Map<string, T> => new Map(xs.map((x) => [name(x), x]));
  const push = (kind: string, name: string, labels: Record<string, string> | undefined, body: Record<string, unknown>, version?: number): void => {
    const service = labels?.[LABEL_SERVICE];
    resources.push({ kind, name, ...(service ? { service } : {}), body, owned: isOwnedBy(labels, appName), ...(version === undefined ? {} : { version }) });
  };
  const keep = {
    services: services.filter((s) => relevant(s.Spec.Name, s.Spec.Labels)),
    secrets: secrets.filter((s) => relevant(s.Spec.Name, s.Spec.Labels)),
    configs: configs.filter((s) => relevant(s.Spec.Name, s.Spec.Labels)),
    networks: networks.filter((n) => relevant(n.Name, n.Labels)),
  };
  for (const n of keep.networks) push("network", n.Name, n.Labels, comparableNetwork(n));
  for (const s of keep.secrets) push("secret", s.Spec.Name, s.Spec.Labels, comparableObject(s.Spec), s.Version?.Index);
  for (const c of keep.configs) push("config", c.Spec.Name, c.Spec.Labels, comparableObject(c.Spec), c.Version?.Index);
  for (const s of keep.services) push("service", s.Spec.Name, s.Spec.Labels, comparableService(s.Spec, netNames), s.Version.Index);
  return {
    resources,
    services: byName(keep.services, (s) => s.Spec.Name),
    secrets: byName(keep.secrets, (s) => s.Spec.Name),
    configs: byName(keep.configs, (s) => s.Spec.Name),
    networks: byName(keep.networks, (n) => n.Name),
  };
}

/** The comparable projection of a rendered resource, by kind. */
export function comparableDesired(r: Resource): Record<string, unknown> {
  switch (r.kind) {
    case "service":
      return comparableService(r.body);
    case "network":
      return comparableNetwork(r.body);
    case "secret":
    case "config":
      return comparableObject(r.body);
    default:
      return r.body;
  }
}

/**
 * Diffs the rendered resources against the live ones on the fields sdx sets.
 * Actions carry the full desired bodies (with Redacted secret data) for apply;
 * the diff itself never sees a secret value.
 */
export async function planSwarm(client: SwarmClient, ctx: BackendContext, desired: readonly Resource[]): Promise<BackendPlan> {
  const live = await observeSwarm(client, ctx.app.name, new Set(desired.map((d) => d.name)));
  const full = new Map(desired.map((d) => [resourceKey(d), d]));
  const { actions, diagnostics } = diffResources(
    desired.map((d) => ({ ...d, body: comparableDesired(d) })),
    live.resources,
    {
      kindOrder: SWARM_KINDS,
      replaceWhen: (d) => (d.kind === "network" ? "a Swarm network cannot be changed in place" : undefined),
    },
  );
  const withBodies = actions.map((a) => (a.desired ? { ...a, desired: full.get(resourceKey(a.desired)) ?? a.desired } : a));
  // Tasks of the app's services that stay: to see unfinished rollouts and what old tasks still mount.
  const staying = [...live.services.values()].filter((s) => isOwnedBy(s.Spec.Labels, ctx.app.name) && full.has(resourceKey({ kind: "service", name: s.Spec.Name })));
  const tasks = new Map(await Promise.all(staying.map(async (s) => [s.Spec.Name, await Promise.all([client.listTasks({ service: s.ID }), client.listTasks({ service: s.ID, upToDate: true })])] as const)));
  const unconverged = staying.flatMap((s): UnconvergedRollout[] => {
    const [all, upToDate] = tasks.get(s.Spec.Name)!;
    const reason = unfinishedRollout(s, all, upToDate);
    return reason ? [{ service: s.Spec.Labels?.[LABEL_SERVICE] ?? s.Spec.Name, resource: { kind: "service", name: s.Spec.Name }, reason }] : [];
  });
  const kept = keepReferenced(withBodies, desired, live.services, tasks);
  return {
    target: ctx.target.name, backend: "swarm", mode: "live", actions: kept, summary: summarize(kept),
    diagnostics: diagnostics.map((d) => ({ ...d, target: ctx.target.name })),
    deployed: deployedServices(live.services.values(), ctx.app.name),
    unconverged,
  };
}

/** Update states in which the engine is still moving the service (or stopped half-way). */
const MOVING = new Set(["updating", "paused", "rollback_started", "rollback_paused"]);

/**
 * Why a service's live rollout has not converged, or undefined when it has:
 * an update or rollback in progress or paused, or fewer tasks of the current
 * spec running than desired, or tasks of an older spec still running.
 */
export function unfinishedRollout(s: SwarmService, tasks: readonly SwarmTask[], upToDate: readonly SwarmTask[]): string | undefined {
  const us = s.UpdateStatus;
  // The last update's end state is the baseline: only the task counts decide.
  const a = assessRollout({ service: s, tasks, upToDate, ...(us ? { baseline: us } : {}) });
  const current = new Set(upToDate.map((t) => t.ID));
  const old = tasks.filter((t) => !current.has(t.ID) && t.DesiredState === "running" && t.Status.State === "running").length;
  const counts = `${a.ready} of ${a.desired} tasks running${old ? `, ${old} of an older spec still running` : ""}`;
  if (us?.State && MOVING.has(us.State)) return `${us.State.replace("_", " ")}: ${counts}`;
  return a.kind === "succeeded" ? undefined : counts;
}

/**
 * Turns the delete of a superseded secret or config into a kept no-op while
 * a revision that can still run after this deploy mounts it: the new specs,
 * the current spec of every service this plan updates (it becomes the
 * PreviousSpec a rollback returns to), and Spec, PreviousSpec and live tasks
 * of every service it leaves alone. Apply checks again before deleting.
 */
function keepReferenced(actions: readonly PlannedAction[], desired: readonly Resource[], services: ReadonlyMap<string, SwarmService>, tasks: ReadonlyMap<string, readonly [SwarmTask[], SwarmTask[]]>): PlannedAction[] {
  const refs: References = new Set();
  for (const d of desired) if (d.kind === "service") addSpecRefs(refs, d.body);
  for (const a of actions) {
    if (a.resource.kind !== "service" || a.kind === "delete") continue;
    const s = services.get(a.resource.name);
    if (!s) continue;
    addSpecRefs(refs, s.Spec);
    if (a.kind === "no-op") {
      addSpecRefs(refs, s.PreviousSpec);
      for (const t of tasks.get(a.resource.name)?.[0] ?? []) if (isTaskAlive(t)) addContainerRefs(refs, t.Spec?.ContainerSpec);
    }
  }
  return actions.map((a) => {
    if (a.kind !== "delete" || (a.resource.kind !== "secret" && a.resource.kind !== "config") || !refs.has(refKey(a.resource.kind, a.resource.name))) return a;
    return { ...a, kind: "no-op", reason: `superseded, kept while a running or previous (rollback) revision mounts it` };
  });
}
