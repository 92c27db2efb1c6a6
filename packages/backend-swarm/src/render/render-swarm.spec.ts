import { describe, expect, it } from "vitest";
import type { App, BackendContext, Resource, Service } from "@sdx/sdk";
import { EXAMPLE_SECRET_ENV, exampleContext, withTarget } from "@sdx/sdk/testing";
import { healthTest } from "./health-test.js";
import { renderSwarm } from "./render-swarm.js";
import type { SwarmTarget } from "../swarm-target.js";

const body = (rs: readonly Resource[], kind: string, name: string): Record<string, any> => {
  const r = rs.find((x) => x.kind === kind && x.name === name);
  if (!r) throw new Error(`no ${kind}/${name} in ${rs.map((x) => `${x.kind}/${x.name}`).join(", ")}`);
  return r.body as Record<string, any>;
};
const withService = (ctx: BackendContext<SwarmTarget>, name: string, patch: Partial<Service>): BackendContext<SwarmTarget> => ({
  ...ctx, app: { ...ctx.app, services: ctx.app.services.map((s) => (s.name === name ? { ...s, ...patch } : s)) } as App,
});

// Goldens, determinism and ownership labels of every example app: test/conformance.spec.ts.
describe("renderSwarm", () => {
  it("names objects as docker stack deploy does and labels them as a stack owned by sdx", async () => {
    const ctx = await exampleContext<SwarmTarget>("shop", { kind: "swarm" });
    const rs = renderSwarm(ctx);
    expect(rs.map((r) => `${r.kind}/${r.name}`)).toEqual([
      "network/shop_default",
      "config/shop_web_www-index.html-2ec86662",
      "service/shop_web",
      expect.stringMatching(/^secret\/shop_api_db-password-[0-9a-f]{8}$/),
      expect.stringMatching(/^secret\/shop_api_payments-key-[0-9a-f]{8}$/),
      "service/shop_api",
      expect.stringMatching(/^secret\/shop_worker_queue-token-[0-9a-f]{8}$/),
      "service/shop_worker",
      "service/shop_quotes",
    ]);
    const web = body(rs, "service", "shop_web");
    for (const labels of [web.Labels, web.TaskTemplate.ContainerSpec.Labels]) {
      expect(labels).toMatchObject({ "com.docker.stack.namespace": "shop", "sdx.dev/app": "shop", "sdx.dev/service": "web", "app.kubernetes.io/managed-by": "sdx" });
    }
    // The revision labels the service, not its tasks: a scale-only change must not replace every task.
    expect(web.Labels["sdx.dev/revision"]).toBe(ctx.revision.services.web);
    expect(web.TaskTemplate.ContainerSpec.Labels).not.toHaveProperty("sdx.dev/revision");
    expect(body(rs, "network", "shop_default")).toMatchObject({ Driver: "overlay", Attachable: true, Labels: { "com.docker.stack.namespace": "shop" } });
  });

  it("changes a secret's name when its value changes, and only that service's revision label", async () => {
    const a = renderSwarm(await exampleContext<SwarmTarget>("shop", { kind: "swarm" }));
    const b = renderSwarm(await exampleContext<SwarmTarget>("shop", { kind: "swarm" }, { ...EXAMPLE_SECRET_ENV, SHOP_DB_PASSWORD: "rotated" }));
    const names = (rs: Resource[]) => rs.filter((r) => r.kind === "secret").map((r) => r.name);
    expect(names(a).filter((n) => n.includes("db-password"))).not.toEqual(names(b).filter((n) => n.includes("db-password")));
    expect(names(a).filter((n) => n.includes("queue-token"))).toEqual(names(b).filter((n) => n.includes("queue-token")));
    expect(body(b, "service", "shop_worker")).toEqual(body(a, "service", "shop_worker"));
    expect(body(b, "service", "shop_api").Labels["sdx.dev/revision"]).not.toBe(body(a, "service", "shop_api").Labels["sdx.dev/revision"]);
  });

  it("delivers env secrets as files: <VAR>_FILE, and an exporting wrapper when the command is known", async () => {
    const rs = renderSwarm(await exampleContext<SwarmTarget>("shop", { kind: "swarm" }));
    const c = body(rs, "service", "shop_api").TaskTemplate.ContainerSpec;
    expect(c.Env).toContain("DB_PASSWORD_FILE=/run/secrets/db-password");
    expect(c.Command.slice(0, 2)).toEqual(["sh", "-c"]);
    expect(c.Command[2]).toContain(`export DB_PASSWORD="$(cat '/run/secrets/db-password')"`);
    expect(c.Command.slice(3)).toEqual(["sdx-env", "sh", "-c"]);
    expect(c.Secrets.map((s: any) => s.File.Name)).toEqual(["/run/secrets/db-password", "/run/secrets/payments-key"]);
    expect(c.Secrets.every((s: any) => s.SecretID === undefined)).toBe(true);
  });

  it("maps spot policy, arch and constraints to placement with the target's label", async () => {
    const ctx = withTarget(await exampleContext<SwarmTarget>("shop", { kind: "swarm" }), { spotLabel: "capacity" });
    const rs = renderSwarm(ctx);
    // The worker gives spot: prefer and no arch: the spread, and no architecture constraint.
    expect(body(rs, "service", "shop_worker").TaskTemplate.Placement).toEqual({ Preferences: [{ Spread: { SpreadDescriptor: "node.labels.capacity" } }] });
    const only = renderSwarm(withService(ctx, "web", { placement: { spot: "only", minOnDemand: 0, arch: "arm64", constraints: { zone: "a" } } }));
    expect(body(only, "service", "shop_web").TaskTemplate.Placement.Constraints).toEqual(["node.labels.capacity==spot", "node.platform.arch==aarch64", "node.labels.zone==a"]);
    const never = renderSwarm(withService(ctx, "web", { placement: { spot: "never", minOnDemand: 0, arch: "amd64", constraints: {} } }));
    expect(body(never, "service", "shop_web").TaskTemplate.Placement).toEqual({ Constraints: ["node.labels.capacity!=spot", "node.platform.arch==x86_64"] });
  });

  it("adds no spot or architecture constraint the app did not give", async () => {
    const ctx = withTarget(await exampleContext<SwarmTarget>("shop", { kind: "swarm" }), { spotLabel: "capacity" });
    // shop's web names no placement: spot "never" and arch "amd64" are priced, not enforced.
    expect(ctx.app.services.find((s) => s.name === "web")!.placement.defaulted).toEqual(["spot", "arch"]);
    expect(body(renderSwarm(ctx), "service", "shop_web").TaskTemplate.Placement).toEqual({});
    const archOnly = renderSwarm(withService(ctx, "web", { placement: { spot: "never", minOnDemand: 0, arch: "arm64", constraints: { zone: "a" }, defaulted: ["spot"] } }));
    expect(body(archOnly, "service", "shop_web").TaskTemplate.Placement).toEqual({ Constraints: ["node.platform.arch==aarch64", "node.labels.zone==a"] });
    const spotOnly = renderSwarm(withService(ctx, "web", { placement: { spot: "never", minOnDemand: 0, arch: "amd64", constraints: {}, defaulted: ["arch"] } }));
    expect(body(spotOnly, "service", "shop_web").TaskTemplate.Placement).toEqual({ Constraints: ["node.labels.capacity!=spot"] });
  });

  it("publishes ingress ports on the container port, host ports on an engine-chosen one with DNS round-robin", async () => {
    const ctx = await exampleContext<SwarmTarget>("hello", { kind: "swarm" });
    expect(body(renderSwarm(ctx), "service", "hello_web").EndpointSpec).toEqual({ Mode: "vip", Ports: [{ Protocol: "tcp", TargetPort: 8080, PublishedPort: 8080, PublishMode: "ingress" }] });
    expect(body(renderSwarm(withTarget(ctx, { publishMode: "host" })), "service", "hello_web").EndpointSpec).toEqual({ Mode: "dnsrr", Ports: [{ Protocol: "tcp", TargetPort: 8080, PublishMode: "host" }] });
  });

  it("maps resources, replicas and rollout", async () => {
    const ctx = await exampleContext<SwarmTarget>("shop", { kind: "swarm" });
    const web = body(renderSwarm(ctx), "service", "shop_web");
    // Requests given, no limits: reservations only, never a memory limit the model does not state.
    expect(web.TaskTemplate.Resources).toEqual({ Reservations: { NanoCPUs: 500_000_000, MemoryBytes: 512 * 2 ** 20 } });
    expect(web.Mode).toEqual({ Replicated: { Replicas: 2 } }); // autoscale min
    expect(web.UpdateConfig).toEqual({ Parallelism: 1, Delay: 0, FailureAction: "rollback", Monitor: 15e9, MaxFailureRatio: 0, Order: "start-first" });
    expect(web.RollbackConfig).toMatchObject({ FailureAction: "pause", Order: "start-first" });
    const recreate = renderSwarm(withService(ctx, "web", { rollout: { strategy: "recreate", maxSurge: 0, maxUnavailable: 0, autoRollback: false, timeoutSeconds: 60 } }));
    expect(body(recreate, "service", "shop_web").UpdateConfig).toMatchObject({ Parallelism: 0, Order: "stop-first", FailureAction: "pause" });
    const limits = renderSwarm(withService(ctx, "web", { resources: { cpuMillis: 250, memoryMiB: 128, limits: { cpuMillis: 1000, memoryMiB: 256 } } }));
    expect(body(limits, "service", "shop_web").TaskTemplate.Resources).toEqual({ Limits: { MemoryBytes: 256 * 2 ** 20, NanoCPUs: 1e9 }, Reservations: { NanoCPUs: 250_000_000, MemoryBytes: 128 * 2 ** 20 } });
    const memoryCap = renderSwarm(withService(ctx, "web", { resources: { cpuMillis: 500, memoryMiB: 512, limits: { memoryMiB: 1024 } } }));
    expect(body(memoryCap, "service", "shop_web").TaskTemplate.Resources.Limits).toEqual({ MemoryBytes: 1024 * 2 ** 20 });
  });

  it("reserves only the requests the app gave and sets no default limit", async () => {
    const ctx = await exampleContext<SwarmTarget>("shop", { kind: "swarm" });
    const none = renderSwarm(withService(ctx, "web", { resources: { cpuMillis: 250, memoryMiB: 256, defaulted: ["cpu", "memory"] } }));
    expect(body(none, "service", "shop_web").TaskTemplate).not.toHaveProperty("Resources");
    const memory = renderSwarm(withService(ctx, "web", { resources: { cpuMillis: 250, memoryMiB: 1024, defaulted: ["cpu"] } }));
    expect(body(memory, "service", "shop_web").TaskTemplate.Resources).toEqual({ Reservations: { MemoryBytes: 1024 * 2 ** 20 } });
  });

  it("maps volumes: ephemeral to tmpfs, persistent to a labelled named volume", async () => {
    const ctx = withService(await exampleContext<SwarmTarget>("hello", { kind: "swarm" }), "web", {
      volumes: [
        { name: "scratch", path: "/tmp/x", kind: "ephemeral", sizeMiB: 64, readOnly: false },
        { name: "data", path: "/data", kind: "persistent", readOnly: true },
      ],
    });
    expect(body(renderSwarm(ctx), "service", "hello_web").TaskTemplate.ContainerSpec.Mounts).toEqual([
      { Type: "tmpfs", Target: "/tmp/x", TmpfsOptions: { SizeBytes: 64 * 2 ** 20 } },
      { Type: "volume", Source: "hello_web_data", Target: "/data", ReadOnly: true, VolumeOptions: { Labels: expect.objectContaining({ "sdx.dev/app": "hello", "com.docker.stack.namespace": "hello" }) } },
    ]);
  });
});

describe("healthTest", () => {
  it("runs exec probes as they are and turns tcp/http into nc one-liners", () => {
    expect(healthTest({ kind: "exec", command: ["test", "-f", "/ok"] }, 2)).toEqual(["CMD", "test", "-f", "/ok"]);
    expect(healthTest({ kind: "tcp", port: 9090 }, 2)).toEqual(["CMD-SHELL", "nc -w 2 127.0.0.1 9090 </dev/null >/dev/null || exit 1"]);
    const http = healthTest({ kind: "http", path: "/it's", port: 80 }, 3);
    expect(http[0]).toBe("CMD-SHELL");
    expect(http[1]).toContain(`printf 'GET /it'\\''s HTTP/1.0`);
    expect(http[1]).toContain("nc -w 3 127.0.0.1 80");
  });
});
