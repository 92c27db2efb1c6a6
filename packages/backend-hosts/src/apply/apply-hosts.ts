import { hostname, userInfo } from "node:os";
import {
  isSdxError, LABEL_SERVICE, SdxError, toSdxError, type BackendApplyOptions, type BackendApplyResult, type BackendContext, type BackendPlan, type EventListener,
  type PlannedAction, type Resource, type SdxErrorData, type ServiceRollout,
} from "@sdx/sdk";
import type { AuditEntry, DockerHost } from "../client/docker-host.js";
import type { HostPool } from "../client/host-pool.js";
import type { HostsTarget } from "../hosts-target.js";
import { appDir, contentDir, networkName } from "../render/host-names.js";
import { comparableBody } from "../render/render-hosts.js";
import { isServing, observeHosts, type HostContainer, type HostsLive } from "../plan/observe-hosts.js";
import { slotRun, type SlotRun } from "./container-spec.js";
import { waitServing, type WaitSeams } from "./wait-serving.js";

/** Puts an image on a host and returns the reference `docker run` uses (by digest, or the loaded image ID). */
export type DeliverImage = (host: DockerHost, image: string, signal?: AbortSignal) => Promise<string>;

/** Seams of {@link applyHosts}. */
export interface ApplyHostsSeams extends WaitSeams {
  /** @default pull by digest when the host lacks the image */
  readonly deliverImage?: DeliverImage;
  /** Who runs the deploy, for locks and the audit log. @default `<user>@<machine>` */
  readonly actor?: string;
}

/** The default delivery: the host pulls the image by its reference unless it has it. */
export const pullImage: DeliverImage = async (host, image, signal) => {
  if (!(await host.hasImage(image, signal))) await host.pull(image, signal);
  return image;
};

/** One slot this deploy changes on a host: what it started, and what it stopped (to start again on a rollback). */
interface Change {
  readonly action: PlannedAction;
  readonly service: string;
  readonly host: DockerHost;
  readonly run: SlotRun;
  readonly stopFirst: boolean;
  readonly timeoutSeconds: number;
  readonly autoRollback: boolean;
  /** Containers of the slot that served before, on whichever host (stopped once the new one serves, or before it starts). */
  readonly old: readonly { readonly container: HostContainer; readonly host: DockerHost }[];
  started?: string;
  stopped: { readonly container: HostContainer; readonly host: DockerHost }[];
}

function emit(onEvent: EventListener | undefined, e: Parameters<EventListener>[0]): void {
  try {
    onEvent?.(e);
  } catch {
    // A listener's bug must not break a rollout half-way.
  }
}

/** Who runs sdx here, `<user>@<machine>`, for locks and audit logs. */
export function actorOf(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `uid${process.getuid?.() ?? "?"}@${hostname()}`;
  }
}

/**
 * Applies a plan host by host under a per-app lock on every host:
 * 1. lock every host (sorted, so two deploys cannot deadlock) and log `started`;
 * 2. observe the containers again (the plan may be minutes old), deliver every
 *    image and write every file on every host before any container changes;
 * 3. per host, in the target's order: start each changed slot's new container
 *    (after stopping the old one for stop-first slots), wait until all serve,
 *    then stop the old ones (kept, not removed, until the end);
 * 4. on a failure, roll back every host changed so far (remove the new
 *    containers, start the old ones) unless the service disables autoRollback;
 * 5. on success remove old containers, deleted slots, unused files and
 *    networks, and log the outcome in every host's audit log.
 */
export async function applyHosts(pool: HostPool, ctx: BackendContext<HostsTarget>, plan: BackendPlan, options: BackendApplyOptions, seams: ApplyHostsSeams = {}): Promise<BackendApplyResult> {
  const target = ctx.target;
  const app = ctx.app.name;
  const signal = options.signal;
  const actor = seams.actor ?? actorOf();
  const deliver = seams.deliverImage ?? pullImage;
  const hosts = target.hosts.map((h) => pool.get(h.name));
  const releases: (() => Promise<void>)[] = [];
  const audit = async (entry: Omit<AuditEntry, "at" | "app" | "by" | "action">): Promise<void> => {
    const at = new Date().toISOString();
    await Promise.allSettled(hosts.map((d) => d.audit(target.dataDir, { at, action: "deploy", app, by: actor, revision: ctx.revision.app, ...entry })));
  };
  try {
    for (const d of [...hosts].sort((a, b) => a.host.name.localeCompare(b.host.name))) releases.push(await d.lock(target.dataDir, app, `${actor} pid ${process.pid}`, signal));
    await audit({ outcome: "started" });
    const live = await observeHosts(pool, app, signal);
    const result = await rollout(pool, ctx, plan, live, options, deliver, seams);
    await audit({ outcome: result.status, ...(result.error ? { message: result.error.message } : {}) });
    return result;
  } catch (e) {
    // Apply reports, never throws: what can have changed is said in the result (here: nothing
    // yet, as every step that changes a container reports its own failure in `rollout`).
    const result = nothingChanged(plan, e, signal);
    await audit({ outcome: result.status === "aborted" ? "aborted" : "failed", message: result.error!.message }).catch(() => undefined);
    return result;
  } finally {
    for (const release of releases.reverse()) await release().catch(() => undefined);
  }
}

/** The result of a deploy that failed before any container changed: every change remains. */
function nothingChanged(plan: BackendPlan, e: unknown, signal?: AbortSignal): BackendApplyResult {
  const aborted = isAbort(e, signal);
  const error = aborted
    ? new SdxError("SDX_ABORTED", "the deploy was interrupted before any container changed", { fault: "user", hint: "Run the deploy again." })
    : toSdxError(e, "SDX_BACKEND_ERROR", "backend");
  return { status: aborted ? "aborted" : "failed", completed: [], failed: [], remaining: plan.actions.filter((a) => a.kind !== "no-op"), rollouts: [], error: error.toJSON() };
}

function isAbort(e: unknown, signal?: AbortSignal): boolean {
  return signal?.aborted === true || (isSdxError(e) && e.code === "SDX_ABORTED");
}

async function rollout(pool: HostPool, ctx: BackendContext<HostsTarget>, plan: BackendPlan, live: HostsLive, options: BackendApplyOptions, deliver: DeliverImage, seams: ApplyHostsSeams): Promise<BackendApplyResult> {
  const target = ctx.target;
  const app = ctx.app.name;
  const signal = options.signal;
  const onEvent = options.onEvent;
  const wanted = plan.actions.filter((a): a is PlannedAction & { desired: Resource } => a.desired !== undefined);
  const deletes = plan.actions.filter((a) => a.kind === "delete");

  // What each slot must run, and where: from the plan's desired bodies, checked against what runs now.
  const changes: Change[] = [];
  const restarts: { action: PlannedAction; container: HostContainer; service: string; timeoutSeconds: number }[] = [];
  const leftovers: HostContainer[] = [];
  const images = new Map<string, Map<string, string>>(); // host → image ref → run reference
  for (const a of wanted) {
    const body = comparableBody(a.desired.body);
    const service = a.desired.service!;
    const host = pool.get(body.host);
    const slot = live.slots.get(a.resource.name);
    const run = slotRun(ctx, service, a.desired.body, body.image);
    const current = slot && slot.current.hostName === body.host && slot.current.labels["sdx.dev/revision"] === run.revision ? slot.current : undefined;
    if (current) {
      leftovers.push(...slot!.others);
      if (!isServing(current)) restarts.push({ action: a, container: current, service, timeoutSeconds: options.timeoutSeconds ?? body.timeoutSeconds });
      continue;
    }
    const running = slot ? [slot.current, ...slot.others].filter((c) => c.state === "running" || c.state === "restarting") : [];
    if (slot) leftovers.push(...[slot.current, ...slot.others].filter((c) => !running.includes(c)));
    const old = running.map((c) => ({ container: c, host: pool.get(c.hostName) }));
    changes.push({ action: a, service, host, run, stopFirst: body.stopFirst, timeoutSeconds: options.timeoutSeconds ?? body.timeoutSeconds, autoRollback: body.autoRollback, old, stopped: [] });
    const perHost = images.get(body.host) ?? new Map<string, string>();
    perHost.set(body.image, body.image);
    images.set(body.host, perHost);
  }

  // 2. Images, networks, files and volume directories everywhere first: nothing changes until every host is ready.
  await settleAll([...images].map(async ([hostName, refs]) => {
    const host = pool.get(hostName);
    for (const ref of refs.keys()) refs.set(ref, await deliver(host, ref, signal));
  }));
  const byHost = groupBy(changes, (c) => c.host.host.name);
  await settleAll([...byHost].map(async ([, cs]) => {
    const host = cs[0]!.host;
    await host.ensureNetwork(networkName(app), { "app.kubernetes.io/managed-by": "sdx", "sdx.dev/app": app }, signal);
    const dirs = [...new Set(cs.flatMap((c) => c.run.dirs))];
    if (dirs.length) await host.ensureDirs(dirs, signal);
    const files = uniqueBy(cs.flatMap((c) => c.run.files), (f) => f.path);
    if (files.length) await host.writeFiles(files, signal);
  }));

  const completed: PlannedAction[] = [];
  const touched: Change[] = [];
  let failure: { change: Change; reason: string; kind: "failed" | "timed-out" | "aborted" } | undefined;

  // 3. Host by host.
  for (const hostSpec of target.hosts) {
    const cs = byHost.get(hostSpec.name) ?? [];
    const rs = restarts.filter((r) => r.container.hostName === hostSpec.name);
    if (cs.length === 0 && rs.length === 0) continue;
    const host = pool.get(hostSpec.name);
    // A restarted slot (left stopped by an earlier deploy) fails like a changed one; it has nothing of its own to roll back.
    const restarted = rs.map((r) => ({ restart: r, change: { action: r.action, service: r.service, host, autoRollback: true, old: [], stopped: [] } as unknown as Change }));
    const blame = cs[0] ?? restarted[0]!.change;
    if (signal?.aborted) {
      failure = { change: blame, reason: "the deploy was interrupted", kind: "aborted" };
      break;
    }
    try {
      for (const c of cs) {
        emit(onEvent, { kind: "action-started", target: target.name, action: c.action.kind, resource: c.action.resource });
        touched.push(c);
        if (c.stopFirst) await stopAll(c, signal);
        c.started = await c.host.run({ ...c.run.spec, image: images.get(hostSpec.name)!.get(c.run.spec.image)! }, signal);
      }
      for (const r of rs) await host.start(r.container.id, signal);
      const waits = await Promise.all([
        ...cs.map(async (c) => ({ change: c, outcome: await waitServing(c.host, c.started!, c.timeoutSeconds, seams, signal) })),
        ...restarted.map(async ({ restart: r, change }) => ({ change, outcome: await waitServing(host, r.container.id, r.timeoutSeconds, seams, signal) })),
      ]);
      for (const w of waits) {
        if (w.outcome.kind === "serving" || failure) continue;
        failure = { change: w.change, reason: w.outcome.kind === "aborted" ? "the deploy was interrupted" : w.outcome.reason, kind: w.outcome.kind };
      }
      if (failure) break;
      for (const c of cs) {
        if (!c.stopFirst) await stopAll(c, signal);
        completed.push(c.action);
        emit(onEvent, { kind: "action-succeeded", target: target.name, action: c.action.kind, resource: c.action.resource });
      }
      for (const r of rs) completed.push(r.action);
    } catch (e) {
      // A host that fails mid-step (gone from the network, engine error) fails the rollout like an
      // unhealthy container: the hosts changed so far are rolled back, the others were never touched.
      failure = isAbort(e, signal)
        ? { change: blame, reason: "the deploy was interrupted", kind: "aborted" }
        : { change: blame, reason: `host ${hostSpec.name}: ${toSdxError(e).message}`, kind: "failed" };
      break;
    }
    emit(onEvent, { kind: "log", target: target.name, level: "info", message: `host ${hostSpec.name}: ${cs.length} container(s) replaced, serving` });
  }

  const servicesOf = [...new Set([...changes.map((c) => c.service), ...restarts.map((r) => r.service)])].sort();
  const desiredCount = (svc: string): number => wanted.filter((a) => a.desired.service === svc).length;

  if (failure) {
    const f = failure;
    const rollBack = f.kind !== "aborted" && f.change.autoRollback;
    if (rollBack) {
      for (const svc of servicesOf) emit(onEvent, { kind: "rollback-started", target: target.name, service: svc, reason: f.reason });
      await rollBackChanges(touched, seams);
      for (const svc of servicesOf) emit(onEvent, { kind: "rollback-finished", target: target.name, service: svc, succeeded: true });
    }
    const code = f.kind === "timed-out" ? "SDX_ROLLOUT_TIMEOUT" : f.kind === "aborted" ? "SDX_ABORTED" : "SDX_ROLLOUT_FAILED";
    const error: SdxErrorData = new SdxError(code, `${f.change.service}: ${f.reason}${rollBack ? "; rolled back every host changed so far" : ""}`, {
      fault: f.kind === "aborted" ? "user" : "backend",
      ...(f.kind === "aborted" ? { hint: "Run the deploy again: it converges from where it stopped." } : { hint: "Fix the service and deploy again; `sdx status` shows what runs now." }),
    }).toJSON();
    const rollouts: ServiceRollout[] = servicesOf.map((svc) => ({
      service: svc,
      status: svc === f.change.service ? (rollBack ? "rolled-back" : f.kind === "timed-out" ? "timed-out" : f.kind === "aborted" ? "aborted" : "failed") : rollBack ? "rolled-back" : "not-waited",
      desired: desiredCount(svc), ready: 0,
      ...(svc === f.change.service ? { reason: f.reason } : {}),
    }));
    const failedAction = f.change.action;
    for (const r of rollouts) if (r.status !== "not-waited") emit(onEvent, { kind: "rollout-failed", target: target.name, service: r.service, reason: r.reason ?? "rolled back with the failing service" });
    return {
      status: f.kind === "aborted" ? "aborted" : rollBack ? "rolled-back" : "failed",
      completed: rollBack ? [] : completed.filter((a) => a.kind !== "no-op"),
      failed: failedAction ? [{ action: failedAction, error }] : [],
      remaining: plan.actions.filter((a) => a !== failedAction && (rollBack || !completed.includes(a)) && a.kind !== "no-op"),
      rollouts, error,
    };
  }

  // 5. Clean up: old revisions, deleted slots, files no container mounts, networks no container uses.
  // Every service serves its new revision now: a leftover that cannot be removed is a warning (the
  // next plan reports its slot unconverged and the next deploy removes it), a deleted slot a failure.
  const warn = (message: string): void => emit(onEvent, { kind: "log", target: target.name, level: "warning", message });
  for (const c of changes) {
    for (const s of c.stopped) await s.host.remove(s.container.id, signal).catch((e: unknown) => warn(`could not remove the old container ${s.container.name} on ${s.host.host.name}: ${toSdxError(e).message}`));
  }
  for (const l of leftovers) await pool.get(l.hostName).remove(l.id, signal).catch((e: unknown) => warn(`could not remove ${l.name} on ${l.hostName}: ${toSdxError(e).message}`));
  const failedDeletes: { action: PlannedAction; error: SdxErrorData }[] = [];
  for (const a of deletes) {
    const s = live.slots.get(a.resource.name);
    try {
      for (const l of s ? [s.current, ...s.others] : []) await pool.get(l.hostName).remove(l.id, signal);
      completed.push(a);
      emit(onEvent, { kind: "action-succeeded", target: target.name, action: "delete", resource: a.resource });
    } catch (e) {
      const error = toSdxError(e, "SDX_BACKEND_ERROR", "backend").toJSON();
      failedDeletes.push({ action: a, error });
      emit(onEvent, { kind: "action-failed", target: target.name, action: "delete", resource: a.resource, error });
    }
  }
  await garbageCollect(pool, ctx, signal).catch((e: unknown) => warn(`could not remove unused files or networks: ${toSdxError(e).message}; the next deploy removes them`));
  for (const svc of servicesOf) emit(onEvent, { kind: "rollout-succeeded", target: target.name, service: svc });
  const rollouts: ServiceRollout[] = servicesOf.map((svc) => ({ service: svc, status: "succeeded", desired: desiredCount(svc), ready: desiredCount(svc) }));
  const done = completed.filter((a) => a.kind !== "no-op");
  if (failedDeletes.length) return { status: "failed", completed: done, failed: failedDeletes, remaining: [], rollouts, error: failedDeletes[0]!.error };
  return { status: "succeeded", completed: done, failed: [], remaining: [], rollouts };
}

/** Waits for every promise (no call is left running behind the result), then throws the first failure. */
async function settleAll(ps: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(ps)).find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}

async function stopAll(c: Change, signal?: AbortSignal): Promise<void> {
  for (const o of c.old) {
    if (c.stopped.includes(o)) continue;
    await o.host.stop(o.container.id, 10, signal);
    c.stopped.push(o);
  }
}

/** Undoes the changes made so far, newest first: removes each new container and starts the ones it replaced. Best effort per slot. */
async function rollBackChanges(touched: readonly Change[], seams: WaitSeams): Promise<void> {
  for (const c of [...touched].reverse()) {
    if (c.started) await c.host.remove(c.started).catch(() => undefined);
    for (const o of c.stopped) {
      await o.host.start(o.container.id).catch(() => undefined);
      await waitServing(o.host, o.container.id, 60, seams).catch(() => undefined);
    }
  }
}

/** Removes content files no container of the app mounts, and the app network on hosts where nothing of the app runs. */
async function garbageCollect(pool: HostPool, ctx: BackendContext<HostsTarget>, signal?: AbortSignal): Promise<void> {
  const app = ctx.app.name;
  const live = await observeHosts(pool, app, signal);
  await Promise.all([...pool.hosts].map(async ([name, host]) => {
    const mine = live.containers.filter((c) => c.hostName === name);
    // Env files are not mounts: Docker copied their variables into the container at `docker run`, so
    // they are collected with the rest and no secret variable stays on disk after the deploy.
    const inUse = new Set(mine.flatMap((c) => c.mounts));
    const services = new Set([...ctx.app.services.map((s) => s.name), ...mine.flatMap((c) => c.labels[LABEL_SERVICE] ?? [])]);
    for (const svc of services) {
      const dir = contentDir(ctx.target.dataDir, app, svc);
      const stale = (await host.listDir(dir, signal)).map((e) => `${dir}/${e}`).filter((p) => !inUse.has(p));
      if (stale.length) await host.removePaths(stale, appDir(ctx.target.dataDir, app), signal);
    }
    if (mine.length === 0) await host.removeNetwork(networkName(app), signal).catch(() => undefined);
  }));
}

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return m;
}

function uniqueBy<T>(xs: readonly T[], key: (x: T) => string): T[] {
  const seen = new Set<string>();
  return xs.filter((x) => (seen.has(key(x)) ? false : (seen.add(key(x)), true)));
}
