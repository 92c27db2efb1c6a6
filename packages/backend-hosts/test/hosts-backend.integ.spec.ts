/**
 * The hosts backend against real hosts: two network namespaces of
 * scripts/testenv/hosts.sh, each with its own sshd and Docker Engine, reached
 * over SSH with ssh2. What a user sees is asserted: containers on the hosts,
 * HTTP answers on the hosts' addresses, files and their modes on the hosts,
 * the audit log, results and their statuses.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasChanges, validateApp, type App, type BackendApplyResult, type BackendContext, type BackendPlan } from "@sdx/sdk";
import { builtinTargetKinds, contextForApp, renderFor, requireTestenv } from "@sdx/sdk/testing";
import { HostsBackend } from "../src/index.js";
import { createDockerHost } from "../src/client/cli-docker-host.js";
import { connectHost } from "../src/client/ssh-host-connection.js";
import type { HostsTarget } from "../src/hosts-target.js";

const te = requireTestenv("hosts");
const APP = "ithosts";
const SECRETS = { IT_DB_PASSWORD: "s3cret-db-value", IT_TOKEN: "token-value-123" };

describe.skipIf(!te.env)("hosts backend on real hosts over SSH", () => {
  const env = te.env ?? {};
  const addrs = (env.SDX_HOSTS ?? "").split(",");
  const socks = (env.SDX_HOSTS_DOCKER_SOCKS ?? "").split(",");
  const netns = (env.SDX_HOSTS_NETNS ?? "").split(",");
  const state = env.SDX_HOSTS_STATE ?? "";
  const image = env.SDX_HOSTS_IMAGE ?? "sdx-busybox:latest";
  const backend = new HostsBackend({ applySeams: { pollMs: 500, actor: "it@test" } });

  /** The app: web (public port, one replica per host), api (internal, secrets, a file), worker (3 replicas). */
  const definition = (patch: { web?: Record<string, unknown>; api?: Record<string, unknown>; worker?: Record<string, unknown> } = {}) => ({
    name: APP,
    services: {
      web: {
        image, args: ["httpd", "-f", "-p", "8080", "-h", "/www"], env: { GREETING: "hello" },
        ports: [{ port: 8080, appProtocol: "http", public: true }],
        health: { exec: { command: ["sh", "-c", "wget -q -O- http://127.0.0.1:8080/ >/dev/null"] }, interval: "1s", timeout: "2s", retries: 2 },
        files: [{ path: "/www/index.html", content: "sdx hosts web\n" }],
        resources: { cpu: "50m", memory: "32Mi" }, replicas: 2, rollout: { timeout: "40s" },
        ...patch.web,
      },
      api: {
        image, command: ["sh", "-c"], args: ["while true; do echo ok | nc -l -p 9090; done"],
        secrets: {
          "db-password": { fromEnv: "IT_DB_PASSWORD", asEnv: "DB_PASSWORD" },
          token: { fromEnv: "IT_TOKEN", asFile: "/run/secrets/token" },
        },
        ports: [{ port: 9090, appProtocol: "tcp" }],
        health: { exec: { command: ["sh", "-c", "test -f /run/secrets/token"] }, interval: "1s", timeout: "2s", retries: 2 },
        resources: { cpu: "50m", memory: "32Mi" }, replicas: 2, rollout: { timeout: "40s" },
        ...patch.api,
      },
      worker: {
        image, command: ["sh", "-c", "while true; do sleep 5; done"],
        resources: { cpu: "10m", memory: "16Mi" }, replicas: 3,
        ...patch.worker,
      },
    },
    targets: {
      boxes: {
        kind: "hosts",
        hosts: addrs.map((address, i) => ({ name: `h${i + 1}`, address, labels: { zone: `z${i + 1}` } })),
        identityFile: env.SDX_HOSTS_KEY, knownHosts: env.SDX_HOSTS_KNOWN_HOSTS, agent: false,
      },
    },
  });

  const load = async (def: unknown): Promise<App> => {
    const r = validateApp(def, { targetKinds: await builtinTargetKinds() });
    if (!r.app) throw new Error(JSON.stringify(r.diagnostics));
    return r.app;
  };
  const ctxFor = async (def: unknown): Promise<BackendContext<HostsTarget>> => contextForApp<HostsTarget>(await load(def), { kind: "hosts" }, process.cwd(), SECRETS);
  const planFor = (ctx: BackendContext<HostsTarget>): Promise<BackendPlan> => backend.plan(ctx, renderFor(backend, ctx), {});
  const deploy = async (def: unknown, options: { signal?: AbortSignal } = {}): Promise<{ plan: BackendPlan; result?: BackendApplyResult }> => {
    const ctx = await ctxFor(def);
    expect(backend.check(ctx).diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const plan = await planFor(ctx);
    if (!hasChanges(plan) && !(plan.unconverged?.length)) return { plan };
    return { plan, result: await backend.apply(ctx, plan, { ...(options.signal ? { signal: options.signal } : {}) }) };
  };
  const targetCtx = async () => ({ appName: APP, target: (await ctxFor(definition())).target });

  const docker = (host: number, ...args: string[]): string => execFileSync("docker", ["-H", `unix://${socks[host]}`, ...args], { encoding: "utf8" });
  /** This app's containers on a host: name, state, labels. */
  const containers = (host: number): { name: string; state: string; labels: Record<string, string>; health?: string }[] => {
    const ids = docker(host, "ps", "-a", "-q", "--filter", `label=sdx.dev/app=${APP}`).split("\n").filter(Boolean);
    if (!ids.length) return [];
    return (JSON.parse(docker(host, "inspect", ...ids)) as any[]).map((c) => ({ name: c.Name.slice(1), state: c.State.Status, labels: c.Config.Labels, health: c.State.Health?.Status }));
  };
  const running = (host: number, service: string) => containers(host).filter((c) => c.labels["sdx.dev/service"] === service && c.state === "running");
  const get = async (url: string): Promise<string> => {
    const r = await fetch(url, { signal: AbortSignal.timeout(5000), headers: { connection: "close" } });
    return `${r.status} ${await r.text()}`;
  };
  /** A file on host N's private /var/lib/sdx, seen from the machine. */
  const hostPath = (host: number, p: string): string => `${state}/host-${host + 1}/fs${p}`;

  beforeAll(async () => {
    await backend.destroy(await targetCtx(), {});
  });
  afterAll(async () => {
    for (let i = 0; i < netns.length; i++) spawnSync("ip", ["-n", netns[i]!, "link", "set", "eth0", "up"]);
    await backend.destroy(await targetCtx(), {}).catch(() => undefined);
    for (let i = 0; i < socks.length; i++) spawnSync("docker", ["-H", `unix://${socks[i]}`, "rm", "-f", `${APP}-foreign`]);
  });

  it("deploys: one container per replica spread over both hosts, web answering on each host's address", async () => {
    const { result } = await deploy(definition());
    expect(result?.status, JSON.stringify(result?.error)).toBe("succeeded");
    expect(result?.rollouts.map((r) => [r.service, r.status, r.ready]).sort()).toEqual([["api", "succeeded", 2], ["web", "succeeded", 2], ["worker", "succeeded", 3]]);
    expect(running(0, "web")).toHaveLength(1);
    expect(running(1, "web")).toHaveLength(1);
    expect(running(0, "worker").length + running(1, "worker").length).toBe(3);
    for (const a of addrs) expect(await get(`http://${a}:8080/`)).toBe("200 sdx hosts web\n");
    const web = running(0, "web")[0]!;
    expect(web.labels).toMatchObject({ "app.kubernetes.io/managed-by": "sdx", "sdx.dev/app": APP, "sdx.dev/service": "web", "sdx.dev/host": "h1" });
    expect(web.health).toBe("healthy");
  });

  it("delivers secrets as 0400 files and config files as 0444, never on argv or in the spec label", async () => {
    const api = running(0, "api")[0]!;
    const inspect = docker(0, "inspect", api.name);
    expect(inspect).not.toContain(SECRETS.IT_TOKEN);
    expect(Buffer.from(api.labels["sdx.dev/spec"]!, "base64").toString()).not.toContain(SECRETS.IT_DB_PASSWORD);
    expect(docker(0, "exec", api.name, "cat", "/run/secrets/token")).toBe(SECRETS.IT_TOKEN);
    const [info] = JSON.parse(inspect) as any[];
    const tokenFile = info.Mounts.find((m: any) => m.Destination === "/run/secrets/token").Source as string;
    expect(tokenFile.startsWith(`/var/lib/sdx/${APP}/`)).toBe(true);
    expect(statSync(hostPath(0, tokenFile)).mode & 0o777).toBe(0o400);
    const web = JSON.parse(docker(0, "inspect", running(0, "web")[0]!.name))[0];
    const index = web.Mounts.find((m: any) => m.Destination === "/www/index.html").Source as string;
    expect(statSync(hostPath(0, index)).mode & 0o777).toBe(0o444);
    // The env secret reached the process (through a 0400 env file, not the command line).
    expect(docker(0, "exec", api.name, "sh", "-c", "echo $DB_PASSWORD")).toBe(`${SECRETS.IT_DB_PASSWORD}\n`);
  });

  it("plans no changes when nothing changed, from the containers' labels alone", async () => {
    const plan = await planFor(await ctxFor(definition()));
    expect(plan.mode).toBe("live");
    expect(plan.actions.filter((a) => a.kind !== "no-op")).toEqual([]);
    expect(plan.summary.noop).toBe(7);
    expect(plan.unconverged).toEqual([]);
  });

  it("scales: one more worker is one create, nothing else moves", async () => {
    const before = containers(0).concat(containers(1)).map((c) => c.name).sort();
    const { plan, result } = await deploy(definition({ worker: { replicas: 4 } }));
    expect(plan.actions.filter((a) => a.kind !== "no-op").map((a) => `${a.kind} ${a.resource.name}`)).toEqual([`create ${APP}-worker-3`]);
    expect(result?.status).toBe("succeeded");
    const after = containers(0).concat(containers(1)).map((c) => c.name).sort();
    expect(after.filter((n) => !before.includes(n))).toHaveLength(1);
    expect(before.filter((n) => !after.includes(n))).toEqual([]);
  });

  it("a changed env var replaces web host by host; the site keeps answering and the old containers are gone", async () => {
    const old = [...running(0, "web"), ...running(1, "web")].map((c) => c.name);
    const { plan, result } = await deploy(definition({ worker: { replicas: 4 }, web: { env: { GREETING: "hi" } } }));
    expect(plan.actions.filter((a) => a.kind === "replace").map((a) => [a.resource.name, a.changes.map((c) => c.path)])).toEqual([
      [`${APP}-web-0`, ["env.GREETING"]], [`${APP}-web-1`, ["env.GREETING"]],
    ]);
    expect(result?.status).toBe("succeeded");
    const now = [...running(0, "web"), ...running(1, "web")];
    expect(now).toHaveLength(2);
    for (const c of now) expect(old).not.toContain(c.name);
    expect(containers(0).concat(containers(1)).filter((c) => old.includes(c.name))).toEqual([]);
    for (const a of addrs) expect(await get(`http://${a}:8080/`)).toBe("200 sdx hosts web\n");
  });

  it("a failing health check is rolled back on every host changed so far: rolled-back, the previous containers serve", async () => {
    const good = definition({ worker: { replicas: 4 }, web: { env: { GREETING: "hi" } } });
    const old = [...running(0, "api"), ...running(1, "api")].map((c) => c.name).sort();
    const { result } = await deploy({ ...good, services: { ...good.services, api: { ...good.services.api, health: { exec: { command: ["false"] }, interval: "1s", timeout: "1s", retries: 1 } } } });
    expect(result?.status).toBe("rolled-back");
    expect(result?.error?.code).toBe("SDX_ROLLOUT_FAILED");
    expect(result?.error?.message).toMatch(/api: .* unhealthy/);
    expect([...running(0, "api"), ...running(1, "api")].map((c) => c.name).sort()).toEqual(old);
    expect(containers(0).concat(containers(1)).filter((c) => c.labels["sdx.dev/service"] === "api").map((c) => c.name).sort()).toEqual(old);
    const plan = await planFor(await ctxFor(good));
    expect(plan.actions.filter((a) => a.kind !== "no-op")).toEqual([]);
  });

  it("an interrupted deploy converges when run again", async () => {
    const next = definition({ worker: { replicas: 4 }, web: { env: { GREETING: "hey" } } });
    const controller = new AbortController();
    const run = deploy(next, { signal: controller.signal }).catch((e: unknown) => e);
    // Abort once the first new web container exists (next to the old one: start-first is off with a public port, so old stopped or new started).
    const webs = () => containers(0).concat(containers(1)).filter((c) => c.labels["sdx.dev/service"] === "web");
    for (let i = 0; i < 200 && webs().length <= 2 && webs().every((c) => c.state === "running"); i++) await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    // The first run really was cut short: an aborted result, or SDX_ABORTED from a call in flight.
    const cut = (await run) as { result?: BackendApplyResult; code?: string };
    expect(cut.result?.status ?? cut.code).toMatch(/^(aborted|SDX_ABORTED)$/);
    const again = await deploy(next);
    expect(again.result?.status ?? "no changes").toBe("succeeded");
    const plan = await planFor(await ctxFor(next));
    expect(plan.actions.filter((a) => a.kind !== "no-op")).toEqual([]);
    expect(plan.unconverged).toEqual([]);
    expect(containers(0).concat(containers(1)).filter((c) => c.labels["sdx.dev/service"] === "web")).toHaveLength(2);
  });

  it("a second deploy cannot interleave: the lock on a host is held and named", async () => {
    const ctx = await ctxFor(definition({ worker: { replicas: 4 }, web: { env: { GREETING: "lock" } } }));
    const plan = await planFor(ctx);
    const first = backend.apply(ctx, plan, {});
    await new Promise((r) => setTimeout(r, 1500));
    const second = await backend.apply(ctx, plan, {});
    const done = await first;
    expect(second.status).toBe("failed");
    expect(second.error).toMatchObject({ code: "SDX_BACKEND_CONFLICT", fault: "user" });
    expect(second.error?.message).toMatch(/another deploy of ithosts holds the lock on host h1 .*it@test pid \d+/);
    expect(second.completed).toEqual([]);
    expect(done.status).toBe("succeeded");
  });

  it("a host that goes down mid-deploy fails clearly and loses nothing on the other host", async () => {
    const before = running(0, "web").map((c) => c.name);
    const ctx = await ctxFor(definition({ worker: { replicas: 4 }, web: { env: { GREETING: "down" } } }));
    const plan = await planFor(ctx);
    const apply = backend.apply(ctx, plan, {}).then((r) => r, (e: unknown) => e);
    // Host 2 leaves the network while host 1's new web container starts.
    for (let i = 0; i < 100 && containers(0).filter((c) => c.labels["sdx.dev/service"] === "web").length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    execFileSync("ip", ["-n", netns[1]!, "link", "set", "eth0", "down"]);
    try {
      const r = (await apply) as BackendApplyResult & { code?: string; message?: string };
      const text = JSON.stringify(r.error ?? r.message ?? r);
      expect(text).toMatch(/h2|10\.213\.0\.12/);
      expect(r.status === "rolled-back" || r.code === "SDX_BACKEND_UNREACHABLE").toBe(true);
    } finally {
      execFileSync("ip", ["-n", netns[1]!, "link", "set", "eth0", "up"]);
    }
    expect(running(0, "web").map((c) => c.name)).toEqual(before);
    expect(await get(`http://${addrs[0]}:8080/`)).toBe("200 sdx hosts web\n");
    // h2's sshd never saw the client go (no keepalives by default): its lock frees itself once heartbeats stop.
    const target = (await ctxFor(definition())).target;
    const h2 = createDockerHost(await connectHost(target.hosts[1]!, { identityFile: env.SDX_HOSTS_KEY!, knownHosts: env.SDX_HOSTS_KNOWN_HOSTS!, agent: false }));
    try {
      const started = Date.now();
      let release: (() => Promise<void>) | undefined;
      while (!release && Date.now() - started < 50_000) {
        release = await h2.lock(target.dataDir, APP, "probe").catch(() => undefined);
        if (!release) await new Promise((r) => setTimeout(r, 1000));
      }
      expect(release, "the stale lock on h2 was not freed within 50 s").toBeDefined();
      await release!();
    } finally {
      h2.connection.close();
    }
  });

  it("keeps an append-only audit log of deploys on every host", () => {
    for (let i = 0; i < addrs.length; i++) {
      const lines = readFileSync(hostPath(i, `/var/lib/sdx/${APP}/audit.log`), "utf8").trim().split("\n").map((l) => JSON.parse(l));
      expect(lines.length).toBeGreaterThanOrEqual(6);
      expect(lines.every((l) => l.app === APP && l.by === "it@test")).toBe(true);
      expect(lines.some((l) => l.outcome === "rolled-back")).toBe(true);
      expect(lines.filter((l) => l.outcome === "started").length).toBeGreaterThanOrEqual(lines.filter((l) => l.outcome === "succeeded").length);
    }
  });

  it("status reads every service from the containers' labels", async () => {
    await deploy(definition({ worker: { replicas: 4 }, web: { env: { GREETING: "status" } } }));
    const s = await backend.status(await targetCtx(), {});
    expect(s.services.map((x) => [x.service, x.desired, x.ready, x.state])).toEqual([["api", 2, 2, "healthy"], ["web", 2, 2, "healthy"], ["worker", 4, 4, "healthy"]]);
  });

  it("destroy removes only sdx's containers of this app, and keeps a foreign one", async () => {
    docker(0, "run", "-d", "--name", `${APP}-foreign`, "--label", "sdx.dev/app=someone-else", image, "sleep", "600");
    const r = await backend.destroy(await targetCtx(), {});
    expect(r.failed).toEqual([]);
    expect(r.deleted.filter((d) => d.kind === "container")).toHaveLength(8);
    expect(containers(0)).toEqual([]);
    expect(containers(1)).toEqual([]);
    expect(docker(0, "inspect", "-f", "{{.State.Status}}", `${APP}-foreign`).trim()).toBe("running");
  });
});
