import { diffResources, isOwnedBy, LABEL_SERVICE, resourceKey, summarize, type BackendContext, type BackendPlan, type LiveResource, type Resource } from "@sdx/sdk";
import type { SwarmClient, SwarmNetwork, SwarmObject, SwarmService } from "../client/swarm-client.js";
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
  return {
    target: ctx.target.name, backend: "swarm", mode: "live", actions: withBodies, summary: summarize(withBodies),
    diagnostics: diagnostics.map((d) => ({ ...d, target: ctx.target.name })),
    deployed: deployedServices(live.services.values(), ctx.app.name),
  };
}
