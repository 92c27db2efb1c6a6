import { diffResources, resourceKey, summarize, type BackendContext, type BackendPlan, type Resource, type UnconvergedRollout } from "@sdx/sdk";
import type { HostPool } from "../client/host-pool.js";
import type { HostsTarget } from "../hosts-target.js";
import { comparableBody, HOSTS_KINDS } from "../render/render-hosts.js";
import { deployedServices, liveResources, observeHosts, slotUnfinished } from "./observe-hosts.js";

/**
 * Diffs the rendered slots against the containers found on the hosts (by
 * ownership labels; a container's deployed body is in its `sdx.dev/spec`
 * label, so no state file is needed). A slot whose host changes is a
 * `replace`: the new container starts on the new host before the old stops.
 */
export async function planHosts(pool: HostPool, ctx: BackendContext<HostsTarget>, desired: readonly Resource[], signal?: AbortSignal): Promise<BackendPlan> {
  const live = await observeHosts(pool, ctx.app.name, signal);
  const full = new Map(desired.map((d) => [resourceKey(d), d]));
  const { actions, diagnostics } = diffResources(
    desired.map((d) => ({ ...d, body: { ...comparableBody(d.body) } })),
    liveResources(live).map((l) => ({ ...l, body: { ...comparableBody(l.body) } })),
    {
      kindOrder: HOSTS_KINDS,
      replaceWhen: (_d, _l, changes) => (changes.some((c) => c.path === "host") ? "the replica moves to another host" : "a container is immutable: a new one replaces it"),
    },
  );
  const withBodies = actions.map((a) => (a.desired ? { ...a, desired: full.get(resourceKey(a.desired)) ?? a.desired } : a));
  const unconverged: UnconvergedRollout[] = [];
  for (const s of live.slots.values()) {
    const reason = slotUnfinished(s);
    if (reason) unconverged.push({ service: s.service, resource: { kind: "container", name: s.name }, reason });
  }
  return {
    target: ctx.target.name, backend: "hosts", mode: "live", actions: withBodies, summary: summarize(withBodies),
    diagnostics: diagnostics.map((d) => ({ ...d, target: ctx.target.name })),
    deployed: deployedServices(live),
    unconverged,
  };
}
