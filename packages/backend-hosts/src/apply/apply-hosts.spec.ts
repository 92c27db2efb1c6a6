import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { App, BackendApplyOptions, BackendApplyResult, BackendContext, BackendPlan, Service } from "@sdx/sdk";
import { exampleContext, fakeClock, injectFaults } from "@sdx/sdk/testing";
import { HostsBackend } from "../hosts-backend.js";
import type { HostsTarget } from "../hosts-target.js";
import type { HostFile } from "../client/docker-host.js";
import { LABEL_SPEC } from "../plan/observe-hosts.js";
import { dockerHostFor, fakeConnect, hostsWithNeighbours, type FakeDockerHosts } from "../../test/fake-docker-hosts.js";

const TOKEN = "tok-Secret-Value-42";
const KEY = "key-Secret-Value-43";
const ENV = { DEMO_TOKEN: TOKEN, DEMO_KEY: KEY };
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const APP = `
name: demo
services:
  web:
    image: registry.test/demo-web@sha256:${"1".repeat(64)}
    ports: [{ port: 8080, public: true }]
    health: { http: { path: /, port: 8080 }, interval: 5s }
    replicas: 2
  api:
    image: registry.test/demo-api@sha256:${"2".repeat(64)}
    env: { MODE: one }
    ports: [{ port: 9090 }]
    secrets:
      token: { fromEnv: DEMO_TOKEN, asEnv: TOKEN }
      key: { fromEnv: DEMO_KEY, asFile: /run/secrets/key }
    files:
      - { path: /etc/api.conf, content: "threads=4" }
    health: { tcp: { port: 9090 } }
    replicas: 2
targets:
  hosts:
    kind: hosts
    hosts:
      - { name: h1, address: 10.0.0.1 }
      - { name: h2, address: 10.0.0.2, labels: { role: edge } }
`;

async function demo(): Promise<BackendContext<HostsTarget>> {
  const dir = mkdtempSync(join(tmpdir(), "sdx-hosts-apply-"));
  dirs.push(dir);
  writeFileSync(join(dir, "sdx.yaml"), APP);
  return exampleContext<HostsTarget>(join(dir, "sdx.yaml"), { kind: "hosts" }, ENV);
}

function withService(ctx: BackendContext<HostsTarget>, name: string, patch: (s: Service) => Partial<Service>): BackendContext<HostsTarget> {
  return { ...ctx, app: { ...ctx.app, services: ctx.app.services.map((s) => (s.name === name ? { ...s, ...patch(s) } : s)) } as App };
}

function backendOn(client: FakeDockerHosts, actor = "test@machine"): HostsBackend {
  return new HostsBackend({
    connect: fakeConnect(client),
    createDockerHost: (conn) => dockerHostFor(client, conn),
    applySeams: { ...fakeClock(), pollMs: 1000, settleSeconds: 0, actor },
  });
}

async function planOn(client: FakeDockerHosts, ctx: BackendContext<HostsTarget>): Promise<BackendPlan> {
  const b = backendOn(client);
  return b.plan(ctx, b.render(ctx), {});
}

async function deploy(client: FakeDockerHosts, ctx: BackendContext<HostsTarget>, options: BackendApplyOptions = {}, plan?: BackendPlan): Promise<BackendApplyResult> {
  return backendOn(client).apply(ctx, plan ?? (await planOn(client, ctx)), options);
}

/** Run/stop/start/remove on the hosts since `from`, with each container named by role. */
function opsSince(fake: FakeDockerHosts, from: number, names: Record<string, string>): string[] {
  return fake.ops.slice(from).map((op) => op.replace(/\S+$/, (n) => names[n] ?? n));
}

/** The app's containers by name, on both hosts. */
function running(fake: FakeDockerHosts, service: string): string[] {
  return fake.appContainers("demo").filter((c) => c.includes(`demo-${service}-`));
}

const revisionOf = (name: string): string => name.slice(-12);

describe("applyHosts against the fake hosts", () => {
  it("replaces a service without a public port host by host, starting each new container before stopping the old one", async () => {
    const fake = hostsWithNeighbours("demo");
    const ctx = await demo();
    expect((await deploy(fake, ctx)).status).toBe("succeeded");
    const old = running(fake, "api");
    expect(old).toEqual([expect.stringMatching(/^h1\/demo-api-0-[0-9a-f]{12} running$/), expect.stringMatching(/^h2\/demo-api-1-[0-9a-f]{12} running$/)]);
    const from = fake.ops.length;
    const r = await deploy(fake, withService(ctx, "api", (s) => ({ env: { ...s.env, MODE: "two" } })));
    expect(r.status, JSON.stringify(r.error)).toBe("succeeded");
    const now = running(fake, "api");
    expect(now.map((c) => c.split(" ")[1])).toEqual(["running", "running"]);
    const names = Object.fromEntries([...old.map((c, i) => [c.split(/[/ ]/)[1]!, `old${i}`]), ...now.map((c, i) => [c.split(/[/ ]/)[1]!, `new${i}`])]);
    expect(opsSince(fake, from, names)).toEqual([
      "run h1 new0", "stop h1 old0",
      "run h2 new1", "stop h2 old1",
      "remove h1 old0", "remove h2 old1",
    ]);
    expect(revisionOf(now[0]!.split(" ")[0]!)).not.toBe(revisionOf(old[0]!.split(" ")[0]!));
    // Converged: nothing left to do, web untouched.
    const again = await planOn(fake, withService(ctx, "api", (s) => ({ env: { ...s.env, MODE: "two" } })));
    expect(again.actions.filter((a) => a.kind !== "no-op")).toEqual([]);
    expect(again.unconverged).toEqual([]);
  });

  it("stops the old container first when the service publishes a port on the host", async () => {
    const fake = hostsWithNeighbours("demo");
    const ctx = await demo();
    await deploy(fake, ctx);
    const old = running(fake, "web");
    const from = fake.ops.length;
    const r = await deploy(fake, withService(ctx, "web", (s) => ({ env: { ...s.env, COLOR: "blue" } })));
    expect(r.status, JSON.stringify(r.error)).toBe("succeeded");
    const now = running(fake, "web");
    const names = Object.fromEntries([...old.map((c, i) => [c.split(/[/ ]/)[1]!, `old${i}`]), ...now.map((c, i) => [c.split(/[/ ]/)[1]!, `new${i}`])]);
    expect(opsSince(fake, from, names)).toEqual([
      "stop h1 old0", "run h1 new0",
      "stop h2 old1", "run h2 new1",
      "remove h1 old0", "remove h2 old1",
    ]);
  });

  it("rolls the first host back when the new container on the second host turns unhealthy", async () => {
    const fake = hostsWithNeighbours("demo");
    const ctx = await demo();
    await deploy(fake, ctx);
    const old = running(fake, "api");
    const next = withService(ctx, "api", (s) => ({ env: { ...s.env, MODE: "broken" } }));
    fake.rules.push({ host: "h2", match: (spec) => spec.env.MODE === "broken", outcome: "unhealthy" });
    const events: string[] = [];
    const r = await backendOn(fake).apply(next, await planOn(fake, next), { onEvent: (e) => events.push(e.kind) });
    expect(r.status).toBe("rolled-back");
    expect(r.error?.code).toBe("SDX_ROLLOUT_FAILED");
    expect(r.error?.message).toMatch(/^api: demo-api-1-[0-9a-f]{12} on h2 is unhealthy: its health check failed \(connection refused\); rolled back every host changed so far$/);
    expect(r.rollouts.find((x) => x.service === "api")?.status).toBe("rolled-back");
    expect(r.completed).toEqual([]);
    expect(events).toContain("rollback-finished");
    // What runs is what ran before: the old containers, running again; the new ones removed.
    expect(running(fake, "api")).toEqual(old);
    // The next plan still wants the update: nothing pretends it happened.
    const again = await planOn(fake, next);
    expect(again.actions.filter((a) => a.kind === "replace").map((a) => a.resource.name)).toEqual(["demo-api-0", "demo-api-1"]);
  });

  it("rolls back the hosts changed so far when a host's calls fail mid-deploy, and names that host", async () => {
    const fake = hostsWithNeighbours("demo");
    const ctx = await demo();
    await deploy(fake, ctx);
    const old = running(fake, "api");
    const next = withService(ctx, "api", (s) => ({ env: { ...s.env, MODE: "two" } }));
    const plan = await planOn(fake, next);
    // The second `docker run` is h2's: its connection drops.
    const faulty = injectFaults(fake, { method: "run", failAt: 2 });
    const r = await backendOn(faulty.client).apply(next, plan, {});
    expect(faulty.fired()).toBe(true);
    expect(r.status).toBe("rolled-back");
    expect(r.error?.code).toBe("SDX_ROLLOUT_FAILED");
    expect(r.error?.message).toContain("host h2: injected fault: connection reset during run");
    expect(running(fake, "api")).toEqual(old);
    // Every change is accounted for, and a re-run converges.
    expect([...r.completed, ...r.failed.map((f) => f.action), ...r.remaining].map((a) => a.resource.name).sort()).toEqual(["demo-api-0", "demo-api-1"]);
    expect((await deploy(fake, next)).status).toBe("succeeded");
    const after = running(fake, "api");
    expect(after.map((c) => c.split(" ")[1])).toEqual(["running", "running"]);
    expect(after.filter((c) => old.includes(c))).toEqual([]);
  });

  it("leaves a failed rollout as it is when the service disables autoRollback", async () => {
    const fake = hostsWithNeighbours("demo");
    const ctx = await demo();
    await deploy(fake, ctx);
    const old = running(fake, "api");
    const next = withService(ctx, "api", (s) => ({ env: { ...s.env, MODE: "broken" }, rollout: { ...s.rollout, autoRollback: false } }));
    fake.rules.push({ host: "h2", match: (spec) => spec.env.MODE === "broken", outcome: "exit" });
    const r = await deploy(fake, next);
    expect(r.status).toBe("failed");
    expect(r.error?.code).toBe("SDX_ROLLOUT_FAILED");
    expect(r.error?.message).toMatch(/on h2 exited with code 1; last output: starting \| boom$/);
    expect(r.completed.map((a) => a.resource.name)).toEqual(["demo-api-0"]);
    expect(r.failed.map((f) => f.action.resource.name)).toEqual(["demo-api-1"]);
    // h1 runs the new revision (its old container stopped, kept); h2 still runs its old container beside the failed new one.
    const api = running(fake, "api");
    const before = new Set(old.map((c) => c.split(" ")[0]!));
    const state = (c: string): string => `${before.has(c.split(" ")[0]!) ? "old" : "new"} ${c.split(" ")[1]}`;
    expect(api.filter((c) => c.startsWith("h1/")).map(state).sort()).toEqual(["new running", "old exited"]);
    expect(api.filter((c) => c.startsWith("h2/")).map(state).sort()).toEqual(["new exited", "old running"]);
    const plan = await planOn(fake, next);
    expect(plan.unconverged?.map((u) => u.resource.name)).toEqual(["demo-api-0", "demo-api-1"]);
  });

  it("an interrupted deploy reports what it did, releases its locks, and converges on a re-run", async () => {
    const fake = hostsWithNeighbours("demo");
    const ctx = await demo();
    await deploy(fake, ctx);
    const next = withService(ctx, "api", (s) => ({ env: { ...s.env, MODE: "two" } }));
    const plan = await planOn(fake, next);
    const abort = new AbortController();
    // Interrupted (Ctrl-C) while waiting for h2's new container.
    const faulty = injectFaults(fake, { method: "inspectContainer", failAt: 3, abort });
    const r = await backendOn(faulty.client).apply(next, plan, { signal: abort.signal });
    expect(faulty.fired()).toBe(true);
    expect(r.status).toBe("aborted");
    expect(r.error?.code).toBe("SDX_ABORTED");
    expect(r.error?.hint).toContain("converges");
    expect([...fake.hosts.values()].map((h) => h.locks.size)).toEqual([0, 0]);
    const resumed = await planOn(fake, next);
    expect(resumed.unconverged?.length ?? 0).toBeGreaterThan(0);
    expect((await deploy(fake, next, {}, resumed)).status).toBe("succeeded");
    const done = await planOn(fake, next);
    expect(done.actions.filter((a) => a.kind !== "no-op")).toEqual([]);
    expect(done.unconverged).toEqual([]);
    expect(running(fake, "api").map((c) => c.split(" ")[1])).toEqual(["running", "running"]);
  });

  it("holds the app's lock on every host during apply: a second deploy is refused, naming who holds it", async () => {
    const fake = hostsWithNeighbours("demo");
    const ctx = await demo();
    const plan = await planOn(fake, ctx);
    let second: BackendApplyResult | undefined;
    const run = fake.run.bind(fake);
    fake.run = async (...args) => {
      second ??= await backendOn(fake, "colleague@laptop").apply(ctx, plan, {});
      return run(...args);
    };
    const first = await deploy(fake, ctx, {}, plan);
    expect(first.status).toBe("succeeded");
    expect(second?.status).toBe("failed");
    expect(second?.error?.code).toBe("SDX_BACKEND_CONFLICT");
    expect(second?.error?.message).toMatch(/host h1: demo is locked by another deploy \(test@machine pid \d+\)/);
    expect(second?.remaining.length).toBe(plan.actions.length);
    // Released after success, and after a failure too.
    expect([...fake.hosts.values()].map((h) => h.locks.size)).toEqual([0, 0]);
    fake.rules.push({ match: (spec) => spec.env.MODE === "broken", outcome: "unhealthy" });
    const broken = withService(ctx, "api", (s) => ({ env: { ...s.env, MODE: "broken" } }));
    expect((await deploy(fake, broken)).status).toBe("rolled-back");
    expect([...fake.hosts.values()].map((h) => h.locks.size)).toEqual([0, 0]);
  });

  it("writes started and the outcome to every host's audit log", async () => {
    const fake = hostsWithNeighbours("demo");
    const ctx = await demo();
    await deploy(fake, ctx);
    fake.rules.push({ host: "h1", match: (spec) => spec.env.MODE === "broken", outcome: "unhealthy" });
    await deploy(fake, withService(ctx, "api", (s) => ({ env: { ...s.env, MODE: "broken" } })));
    fake.hosts.get("h2")!.locks.set("/var/lib/sdx/demo/lock", { holder: "ops@box", session: -1, token: "held" });
    const refused = await deploy(fake, ctx);
    expect(refused.error?.code).toBe("SDX_BACKEND_CONFLICT");
    for (const h of ["h1", "h2"]) {
      const log = await fake.readAudit(h, "/var/lib/sdx", "demo");
      expect(log.map((e) => `${e.action} ${e.outcome} ${e.by}`), h).toEqual([
        "deploy started test@machine", "deploy succeeded test@machine",
        "deploy started test@machine", "deploy rolled-back test@machine",
        // Refused at the lock: nothing started, but the attempt is on record everywhere.
        "deploy failed test@machine",
      ]);
      expect(log[0]!.revision).toBe(ctx.revision.app);
      expect(log[3]!.message).toContain("unhealthy");
      expect(log.at(-1)!.message).toContain("locked by another deploy (ops@box)");
    }
  });

  it("delivers secrets only as file contents (0400), config files as 0444, and never in a container's spec or labels", async () => {
    const fake = hostsWithNeighbours("demo");
    const written: HostFile[] = [];
    const writeFiles = fake.writeFiles.bind(fake);
    fake.writeFiles = async (host, files, signal) => {
      written.push(...files);
      return writeFiles(host, files, signal);
    };
    const ctx = await demo();
    expect((await deploy(fake, ctx)).status).toBe("succeeded");
    const byName = (re: RegExp): HostFile[] => written.filter((f) => re.test(f.path));
    const envFiles = byName(/\/services\/api\/env-[0-9a-f]{16}$/);
    const keyFiles = byName(/\/services\/api\/secret-key-[0-9a-f]{16}$/);
    const confFiles = byName(/\/services\/api\/file-[0-9a-f]{16}-api\.conf$/);
    expect(envFiles.map((f) => [f.content, f.mode])).toEqual([[`TOKEN=${TOKEN}\n`, 0o400], [`TOKEN=${TOKEN}\n`, 0o400]]);
    expect(keyFiles.map((f) => [f.content, f.mode])).toEqual([[KEY, 0o400], [KEY, 0o400]]);
    expect(confFiles.map((f) => [f.content, f.mode])).toEqual([["threads=4", 0o444], ["threads=4", 0o444]]);
    expect(written.filter((f) => !envFiles.includes(f) && !keyFiles.includes(f) && !confFiles.includes(f))).toEqual([]);
    const api = fake.containersOn("h1").find((c) => c.name.startsWith("demo-api-0-"))!;
    expect(api.spec?.envFiles).toEqual([envFiles[0]!.path]);
    expect(api.spec?.mounts).toEqual(expect.arrayContaining([
      { source: keyFiles[0]!.path, target: "/run/secrets/key", readOnly: true },
      { source: confFiles[0]!.path, target: "/etc/api.conf", readOnly: true },
    ]));
    expect(api.labels).toMatchObject({ "app.kubernetes.io/managed-by": "sdx", "sdx.dev/app": "demo", "sdx.dev/service": "api", "sdx.dev/slot": "0", "sdx.dev/host": "h1" });
    const spec = JSON.parse(Buffer.from(api.labels[LABEL_SPEC]!, "base64").toString("utf8")) as Record<string, unknown>;
    expect(spec).toMatchObject({ envSecrets: { TOKEN: "token" }, secretFiles: { "/run/secrets/key": "key" } });
    for (const h of fake.hosts.values()) {
      for (const c of h.containers.values()) {
        const text = JSON.stringify(c) + Buffer.from(c.labels[LABEL_SPEC] ?? "", "base64").toString("utf8");
        for (const secret of [TOKEN, KEY]) {
          expect(text, c.name).not.toContain(secret);
          expect(text, c.name).not.toContain(Buffer.from(secret).toString("base64"));
        }
      }
      expect(JSON.stringify(await fake.readAudit(h.name, "/var/lib/sdx", "demo"))).not.toContain(TOKEN);
    }
    // The secret file a container mounts stays on the host; no other app's file is touched.
    expect(fake.hosts.get("h1")!.files.get(keyFiles[0]!.path)?.mode).toBe(0o400);
  });

  it("removes the files of a replaced revision after the rollout, and keeps the ones the running containers mount", async () => {
    const fake = hostsWithNeighbours("demo");
    const ctx = await demo();
    expect((await deploy(fake, ctx)).status).toBe("succeeded");
    const confs = (): string[] => [...fake.hosts.get("h1")!.files.keys()].filter((p) => /\/services\/api\/file-[0-9a-f]{16}-api\.conf$/.test(p));
    const [before] = confs();
    const next = withService(ctx, "api", (s) => ({ files: s.files.map((f) => ({ ...f, content: "threads=8" })) }));
    expect((await deploy(fake, next)).status).toBe("succeeded");
    const after = confs();
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before);
    expect(fake.hosts.get("h1")!.files.get(after[0]!)?.content).toBe("threads=8");
    expect(fake.containersOn("h1").find((c) => c.name.startsWith("demo-api-0-"))!.spec?.mounts.map((m) => m.source)).toContain(after[0]);
  });
});
