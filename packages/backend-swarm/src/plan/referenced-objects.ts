import { isOwnedBy } from "@sdx/sdk";
import type { ContainerRefs, SwarmClient, SwarmService, SwarmTask } from "../client/swarm-client.js";

/** Secret and config names that something still mounts, as `secret:<name>` / `config:<name>` keys. */
export type References = Set<string>;

/** The key of a secret or config in a {@link References} set. */
export const refKey = (kind: string, name: string): string => `${kind}:${name}`;

/** Task states after which a task holds nothing any more. */
const TERMINAL = new Set(["shutdown", "complete", "failed", "rejected", "orphaned", "remove"]);

/** Whether a task may still run (or be restarted) with the secrets it mounts. */
export function isTaskAlive(t: SwarmTask): boolean {
  return !TERMINAL.has(t.Status.State) || t.DesiredState === "running";
}

/** Adds the secrets and configs one service spec (Spec or PreviousSpec) mounts. */
export function addSpecRefs(into: References, spec: Record<string, unknown> | undefined): void {
  const c = (spec?.TaskTemplate as { ContainerSpec?: ContainerRefs } | undefined)?.ContainerSpec;
  addContainerRefs(into, c);
}

/** Adds the secrets and configs a container spec mounts (by name: secrets are content-named). */
export function addContainerRefs(into: References, c: ContainerRefs | undefined): void {
  for (const s of c?.Secrets ?? []) if (s.SecretName) into.add(refKey("secret", s.SecretName));
  for (const s of c?.Configs ?? []) if (s.ConfigName) into.add(refKey("config", s.ConfigName));
}

/**
 * What the app's live revisions still mount right now: every owned service's
 * Spec (running tasks) and PreviousSpec (what `rollback` returns to), and every
 * task that is not shut down. A superseded secret or config may go only when
 * it is in none of these, or Swarm rolls back to a spec whose secret no
 * longer exists (`secret not found`).
 */
export async function referencedNow(client: SwarmClient, appName: string, services?: readonly SwarmService[]): Promise<References> {
  const refs: References = new Set();
  const owned = (services ?? (await client.listServices())).filter((s) => isOwnedBy(s.Spec.Labels, appName));
  for (const s of owned) {
    addSpecRefs(refs, s.Spec);
    addSpecRefs(refs, s.PreviousSpec);
  }
  const tasks = await Promise.all(owned.map((s) => client.listTasks({ service: s.ID })));
  for (const t of tasks.flat()) if (isTaskAlive(t)) addContainerRefs(refs, t.Spec?.ContainerSpec);
  return refs;
}
