import { execFileSync } from "node:child_process";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasChanges, type App, type BackendApplyResult, type BackendContext, type BackendPlan, type SdxEvent } from "@sdx/sdk";
import { EXAMPLE_SECRET_ENV, renderFor, requireTestenv } from "@sdx/sdk/testing";
import { SwarmBackend } from "../src/index.js";
import { changeService, localShop, swarmContext } from "./swarm-test-app.js";
import type { SwarmTarget } from "../src/swarm-target.js";

const te = requireTestenv("swarm");
const APP = "itshop";

describe.skipIf(!te.env)("swarm backend on a real engine", () => {
  const host = te.env?.SDX_SWARM_DOCKER_HOST ?? "";
  const image = te.env?.SDX_SWARM_IMAGE ?? "sdx-busybox:latest";
  const netns = te.env?.SDX_SWARM_NETNS ?? "";
  const docker = new Docker({ socketPath: host.replace(/^unix:\/\//, "") });
  const backend = new SwarmBackend();
  let app: App;
  /** The db password the app is on; rotated by the secret test and kept afterwards, so later steps don't roll it back. */
  let dbPassword = EXAMPLE_SECRET_ENV.SHOP_DB_PASSWORD!;
  const ctxNow = (a: App = app) => swarmContext(a, host, { ...EXAMPLE_SECRET_ENV, SHOP_DB_PASSWORD: dbPassword });

  const planFor = async (ctx: BackendContext<SwarmTarget>): Promise<BackendPlan> => backend.plan(ctx, renderFor(backend, ctx), {});
  /** What `sdx deploy` does with a backend: check, plan, refuse on errors, apply. */
  const deploy = async (ctx: BackendContext<SwarmTarget>, opts: { timeoutSeconds?: number; events?: SdxEvent[] } = {}): Promise<{ plan: BackendPlan; result?: BackendApplyResult }> => {
    expect(backend.check(ctx).diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const plan = await planFor(ctx);
    expect(plan.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    if (!hasChanges(plan)) return { plan };
    const result = await backend.apply(ctx, plan, { timeoutSeconds: opts.timeoutSeconds ?? 120, ...(opts.events ? { onEvent: (e) => opts.events!.push(e) } : {}) });
    return { plan, result };
  };
  const services = async () => (await docker.listServices({ filters: JSON.stringify({ label: [`sdx.dev/app=${APP}`] }) })) as any[];
  const runningTasks = async (name: string) =>
    ((await docker.listTasks({ filters: JSON.stringify({ service: [name], "desired-state": ["running"] }) })) as any[]).filter((t) => t.Status.State === "running");
  const secretNames = async () => ((await docker.listSecrets({ filters: JSON.stringify({ label: [`sdx.dev/app=${APP}`] }) })) as any[]).map((s) => s.Spec.Name).sort();

  beforeAll(async () => {
    app = await localShop(APP, image);
    await backend.destroy({ appName: APP, target: (await swarmContext(app, host)).target }, {});
  });
  afterAll(async () => {
    if (!app) return;
    await backend.destroy({ appName: APP, target: (await swarmContext(app, host)).target }, {}).catch(() => undefined);
    await docker.getService(`${APP}_extra`).remove().catch(() => undefined);
  });

  it("deploys shop until every task runs, as a stack", async () => {
    const events: SdxEvent[] = [];
    const { result } = await deploy(await swarmContext(app, host), { events });
    expect(result?.status).toBe("succeeded");
    expect(result?.rollouts.map((r) => [r.service, r.status, r.ready]).sort()).toEqual([["api", "succeeded", 2], ["web", "succeeded", 2], ["worker", "succeeded", 3]]);
    expect((await runningTasks(`${APP}_web`)).length).toBe(2);
    expect((await runningTasks(`${APP}_api`)).length).toBe(2);
    expect((await runningTasks(`${APP}_worker`)).length).toBe(3);
    expect(events.some((e) => e.kind === "rollout-progress")).toBe(true);
    const stacks = execFileSync("docker", ["stack", "ls", "--format", "{{.Name}} {{.Services}}"], { env: { ...process.env, DOCKER_HOST: host }, encoding: "utf8" });
    expect(stacks).toContain(`${APP} 3`);
  });

  it("shows no changes when nothing changed", async () => {
    const plan = await planFor(await swarmContext(app, host));
    expect(plan.mode).toBe("live");
    expect(plan.actions.filter((a) => a.kind !== "no-op").map((a) => [a.kind, a.resource.name, a.changes])).toEqual([]);
    expect(plan.summary.noop).toBe(8);
  });

  it("answers on a host-mode published port inside the engine's network namespace", async () => {
    const s = await backend.status({ appName: APP, target: (await swarmContext(app, host)).target }, {});
    const web = s.services.find((x) => x.service === "web")!;
    expect(web).toMatchObject({ desired: 2, running: 2, state: "healthy" });
    const port = /published: (\d+)->8080/.exec(web.messages.join("\n"))?.[1];
    expect(port).toBeDefined();
    const out = execFileSync("nsenter", [`--net=/run/netns/${netns}`, "/bin/busybox", "sh", "-c", `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | /bin/busybox nc -w 3 127.0.0.1 ${port}`], { encoding: "utf8" });
    expect(out).toMatch(/^HTTP\/1\.[01] 200/);
    expect(out).toContain("sdx shop");
  });

  it("rolls only the changed service on an env change", async () => {
    const before = { api: (await runningTasks(`${APP}_api`)).map((t) => t.ID).sort(), web: (await runningTasks(`${APP}_web`)).map((t) => t.ID).sort() };
    app = changeService(app, "web", { env: { ...app.services.find((s) => s.name === "web")!.env, LOG_LEVEL: "debug" } });
    const { plan, result } = await deploy(await swarmContext(app, host));
    expect(plan.actions.filter((a) => a.kind !== "no-op").map((a) => `${a.kind} ${a.resource.name}`)).toEqual([`update ${APP}_web`]);
    expect(plan.actions.find((a) => a.kind === "update")!.changes.map((c) => c.path)).toContain("TaskTemplate.ContainerSpec.Env[1]");
    expect(result?.status).toBe("succeeded");
    expect((await runningTasks(`${APP}_api`)).map((t) => t.ID).sort()).toEqual(before.api);
    const web = await runningTasks(`${APP}_web`);
    expect(web.map((t) => t.ID).sort()).not.toEqual(before.web);
    expect(web[0].Spec.ContainerSpec.Env).toContain("LOG_LEVEL=debug");
  });

  it("rolls a changed secret out under a new hashed name, keeping the old one while the previous spec (a rollback) mounts it", async () => {
    const old = (await secretNames()).filter((n) => n.includes("db-password"));
    expect(old).toHaveLength(1);
    const ctx = await swarmContext(app, host, { ...EXAMPLE_SECRET_ENV, SHOP_DB_PASSWORD: "rotated-password" });
    const { plan, result } = await deploy(ctx);
    expect(plan.actions.filter((a) => a.kind !== "no-op").map((a) => `${a.kind} ${a.resource.kind}`).sort()).toEqual(["create secret", "update service"]);
    expect(plan.actions.find((a) => a.resource.name === old[0])).toMatchObject({ kind: "no-op", reason: expect.stringContaining("kept") });
    expect(JSON.stringify(plan.actions.map((a) => a.changes))).not.toContain("rotated-password");
    expect(result?.status).toBe("succeeded");
    const now = (await secretNames()).filter((n) => n.includes("db-password"));
    expect(now).toHaveLength(2);
    const fresh = now.find((n) => n !== old[0])!;
    const api = (await docker.getService(`${APP}_api`).inspect()) as any;
    expect(api.Spec.TaskTemplate.ContainerSpec.Secrets.map((s: any) => s.SecretName)).toContain(fresh);
    // `docker service rollback` would return to this spec: its secret must still exist.
    expect(api.PreviousSpec.TaskTemplate.ContainerSpec.Secrets.map((s: any) => s.SecretName)).toContain(old[0]);
    dbPassword = "rotated-password";
  });

  it("scales a service", async () => {
    app = changeService(app, "api", { scale: { kind: "fixed", replicas: 3 } });
    const { result } = await deploy(await ctxNow());
    expect(result?.status).toBe("succeeded");
    expect((await runningTasks(`${APP}_api`)).length).toBe(3);
  });

  it("prunes a service removed from the app, with its secret", async () => {
    app = changeService(app, "worker", undefined);
    const { plan, result } = await deploy(await ctxNow());
    // (A superseded db-password secret may go in the same deploy, once no task of the old spec runs.)
    expect(plan.actions.filter((a) => a.kind === "delete" && a.resource.service === "worker").map((a) => a.resource.kind).sort()).toEqual(["secret", "service"]);
    expect(result?.status).toBe("succeeded");
    expect((await services()).map((s) => s.Spec.Name).sort()).toEqual([`${APP}_api`, `${APP}_web`]);
    expect((await secretNames()).some((n) => n.includes("queue-token"))).toBe(false);
  });

  it("rolls back an update whose containers exit, and reports it as a failure with the reason", async () => {
    const good = app;
    const events: SdxEvent[] = [];
    app = changeService(app, "web", { command: ["sh", "-c", "exit 3"], args: undefined });
    const { result } = await deploy(await ctxNow(), { events });
    expect(result?.status).toBe("rolled-back");
    expect(result?.error?.code).toBe("SDX_ROLLOUT_FAILED");
    expect(result?.rollouts.find((r) => r.service === "web")).toMatchObject({ status: "rolled-back", reason: expect.stringMatching(/exit/) });
    expect(events.map((e) => e.kind)).toEqual(expect.arrayContaining(["rollback-started", "rollback-finished", "rollout-failed"]));
    const web = (await docker.getService(`${APP}_web`).inspect()) as any;
    expect(web.UpdateStatus.State).toBe("rollback_completed");
    expect(web.Spec.TaskTemplate.ContainerSpec.Args).toEqual(["httpd", "-f", "-p", "8080", "-h", "/www"]);
    expect((await runningTasks(`${APP}_web`)).length).toBe(2);
    app = good;
  });

  it("rolls back an update whose healthcheck fails", async () => {
    const good = app;
    app = changeService(app, "api", { health: { probe: { kind: "tcp", port: 9999 }, intervalSeconds: 1, timeoutSeconds: 1, retries: 2, startPeriodSeconds: 0 } });
    const { result } = await deploy(await ctxNow());
    expect(result?.status).toBe("rolled-back");
    expect(result?.rollouts.find((r) => r.service === "api")?.reason).toBeTruthy();
    app = good;
    // Back on the good spec, the live state matches again: the rolled-back spec is the old one.
    const plan = await planFor(await ctxNow());
    expect(plan.actions.filter((a) => a.kind !== "no-op").map((a) => `${a.kind} ${a.resource.name}`)).toEqual([]);
  });

  it("gives up on a new service that never starts, with the task errors", async () => {
    const broken = { ...app.services.find((s) => s.name === "web")!, name: "broken", command: ["sh", "-c", "echo bye; exit 7"], args: undefined, health: undefined, ports: [], files: [], scale: { kind: "fixed" as const, replicas: 1 } };
    const withBroken = { ...app, services: [...app.services, broken] };
    const { result } = await deploy(await ctxNow(withBroken), { timeoutSeconds: 12 });
    expect(result?.status).toBe("failed");
    expect(result?.error?.code).toBe("SDX_ROLLOUT_TIMEOUT");
    expect(result?.error?.message).toMatch(/exit code 7|non-zero exit \(7\)/);
    const s = await backend.status({ appName: APP, target: (await ctxNow()).target }, {});
    expect(s.services.find((x) => x.service === "broken")).toMatchObject({ state: "degraded", messages: expect.arrayContaining([expect.stringMatching(/exit/)]) });
    // Re-deploying the app without it prunes it.
    const { result: pruned } = await deploy(await ctxNow());
    expect(pruned?.status).toBe("succeeded");
    expect((await services()).map((s) => s.Spec.Name)).not.toContain(`${APP}_broken`);
  });

  it("refuses to touch a foreign service with the name it wants", async () => {
    await docker.createService({ Name: `${APP}_extra`, TaskTemplate: { ContainerSpec: { Image: image, Command: ["sleep", "3600"] } }, Mode: { Replicated: { Replicas: 1 } } } as never);
    const extra = { ...app.services.find((s) => s.name === "web")!, name: "extra", files: [] };
    const ctx = await ctxNow({ ...app, services: [...app.services, extra] });
    const plan = await planFor(ctx);
    expect(plan.diagnostics).toEqual([expect.objectContaining({ code: "SDX_NOT_OWNED", severity: "error", path: "services.extra" })]);
    expect(plan.actions.some((a) => a.resource.name === `${APP}_extra`)).toBe(false);
  });

  it("destroys only this app's objects", async () => {
    const r = await backend.destroy({ appName: APP, target: (await ctxNow()).target }, {});
    expect(r.failed).toEqual([]);
    expect(r.deleted.map((d) => d.kind).filter((k) => k !== "secret").sort()).toEqual(["config", "network", "service", "service"]);
    // The current api secrets, and a superseded one a rollback could still have needed.
    expect(r.deleted.filter((d) => d.kind === "secret").length).toBeGreaterThanOrEqual(2);
    expect(await services()).toEqual([]);
    expect(await secretNames()).toEqual([]);
    expect(((await docker.getService(`${APP}_extra`).inspect()) as any).Spec.Name).toBe(`${APP}_extra`);
  });

  it("fails fast and clearly when the engine is unreachable", async () => {
    const ctx = { ...(await ctxNow()), target: { ...(await ctxNow()).target, host: "unix:///tmp/sdx-testenv/no-such-docker.sock" } } as BackendContext<SwarmTarget>;
    const t = Date.now();
    await expect(planFor(ctx)).rejects.toMatchObject({ code: "SDX_BACKEND_UNREACHABLE", fault: "user", hint: expect.stringContaining("DOCKER_HOST") });
    expect(Date.now() - t).toBeLessThan(3000);
  });

  it("explains an API version the engine rejects", async () => {
    const pinned = new SwarmBackend({ apiVersion: "1.99" });
    const ctx = await ctxNow();
    const e = await pinned.plan(ctx, renderFor(pinned, ctx), {}).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: "SDX_BACKEND_UNSUPPORTED", fault: "user", message: expect.stringContaining("rejected API version 1.99"), details: { engineApiVersion: "1.41" } });
  });
});
