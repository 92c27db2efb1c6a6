import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { BackendContext, Resource } from "@sdx/sdk";
import { exampleContext } from "@sdx/sdk/testing";
import type { HostsTarget } from "../hosts-target.js";
import { comparableBody, containerRevision, renderHosts, type ContainerBody } from "./render-hosts.js";

// Goldens, determinism and ownership of every example app: test/conformance.spec.ts.
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const SECRET = "s3cr3t-Value-for-render";
const img = `registry.test/x@sha256:${"5".repeat(64)}`;
async function context(services: string, env: Record<string, string> = { DEMO_TOKEN: SECRET }): Promise<BackendContext<HostsTarget>> {
  const dir = mkdtempSync(join(tmpdir(), "sdx-hosts-render-"));
  dirs.push(dir);
  writeFileSync(join(dir, "sdx.yaml"), `name: demo\nlabels: { team: core }\nservices:\n${services}\ntargets:
  hosts:
    kind: hosts
    hosts: [{ name: h1, address: 10.0.0.1 }, { name: h2, address: 10.0.0.2 }]\n`);
  return exampleContext<HostsTarget>(join(dir, "sdx.yaml"), { kind: "hosts" }, env);
}

const APP = `  web:
    image: "${img}"
    ports: [{ port: 8080, public: true }]
    autoscale: { min: 2, max: 5, targetCpu: 60 }
  api:
    image: "${img}"
    env: { MODE: fast }
    labels: { tier: backend }
    ports: [{ port: 9090 }]
    secrets: { token: { fromEnv: DEMO_TOKEN, asEnv: TOKEN }, cert: { fromEnv: DEMO_TOKEN, asFile: /run/cert } }
    files: [{ path: /etc/api.conf, content: "a=1" }]
    health: { exec: { command: [check] }, interval: 5s, retries: 2 }
    resources: { cpu: 250m, memory: 256Mi, limits: { memory: 512Mi } }
    replicas: 3
  db:
    image: "${img}"
    volumes: [{ name: data, path: /var/lib/db, kind: persistent }]`;

const rendered = (rs: readonly Resource[], name: string): Readonly<Record<string, unknown>> => {
  const r = rs.find((x) => x.name === name);
  if (!r) throw new Error(`no ${name} in ${rs.map((x) => x.name).join(", ")}`);
  return r.body;
};
const bodyOf = (rs: readonly Resource[], name: string): ContainerBody & { slot: number; facts: Record<string, number>; ownership: Record<string, string> } => rendered(rs, name) as never;

describe("renderHosts", () => {
  it("renders one container per replica slot, placed on a host, owned by the app and its service", async () => {
    const ctx = await context(APP);
    const rs = renderHosts(ctx);
    expect(rs.map((r) => `${r.kind}/${r.name}@${(r.body as { host: string }).host}`)).toEqual([
      "container/demo-api-0@h1", "container/demo-api-1@h2", "container/demo-api-2@h1",
      "container/demo-db-0@h1",
      // Autoscaled: hosts have no autoscaler, so the minimum runs.
      "container/demo-web-0@h1", "container/demo-web-1@h2",
    ]);
    const api = bodyOf(rs, "demo-api-2");
    expect(api).toMatchObject({
      slot: 2, facts: { replicas: 3, cpuMillis: 250, memoryMiB: 256 },
      ownership: { "app.kubernetes.io/managed-by": "sdx", "sdx.dev/app": "demo", "sdx.dev/service": "api" },
      labels: { team: "core", tier: "backend" },
      env: { MODE: "fast" }, envSecrets: { TOKEN: "token" }, secretFiles: { "/run/cert": "cert" },
      files: { "/etc/api.conf": { mode: 0o444 } }, ports: [], memoryLimitMiB: 512,
      health: { test: ["check"], intervalSeconds: 5, retries: 2 },
    });
    expect(api).not.toHaveProperty("cpuLimitMillis");
    expect(api.secretDigests.token).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.stringify(rs)).not.toContain(SECRET);
    expect(JSON.stringify(rs)).not.toContain(Buffer.from(SECRET).toString("base64"));
  });

  it("stops the old container first only for a published port, a persistent volume or a recreate rollout", async () => {
    const rs = renderHosts(await context(`${APP}\n  batch:\n    image: "${img}"\n    rollout: { strategy: recreate }`));
    expect(Object.fromEntries(["demo-web-0", "demo-api-0", "demo-db-0", "demo-batch-0"].map((n) => [n, bodyOf(rs, n).stopFirst]))).toEqual({
      "demo-web-0": true, "demo-api-0": false, "demo-db-0": true, "demo-batch-0": true,
    });
    expect(bodyOf(rs, "demo-web-0").ports).toEqual(["8080:8080/tcp"]);
  });

  it("changes no container when only the replicas change, and every container of a service when its secret changes", async () => {
    const before = renderHosts(await context(APP));
    const scaled = renderHosts(await context(APP.replace("replicas: 3", "replicas: 4")));
    const rev = (rs: readonly Resource[], name: string): string => containerRevision(comparableBody(rendered(rs, name)));
    for (const name of ["demo-api-0", "demo-api-1", "demo-api-2"]) expect(rev(scaled, name), name).toBe(rev(before, name));
    expect(bodyOf(scaled, "demo-api-0").facts.replicas).toBe(4);
    expect(scaled.map((r) => r.name)).toContain("demo-api-3");
    const rotated = renderHosts(await context(APP, { DEMO_TOKEN: "another-value" }));
    for (const name of ["demo-api-0", "demo-api-1", "demo-api-2"]) expect(rev(rotated, name), name).not.toBe(rev(before, name));
    expect(rev(rotated, "demo-web-0")).toBe(rev(before, "demo-web-0"));
  });

  it("compares bodies without the slot, the facts and the ownership labels", async () => {
    const body = rendered(renderHosts(await context(APP)), "demo-api-1");
    const c = comparableBody(body);
    expect(c).not.toHaveProperty("slot");
    expect(c).not.toHaveProperty("facts");
    expect(c).not.toHaveProperty("ownership");
    expect(c.host).toBe("h2");
  });
});
