import { createServer } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exampleContext, renderFor } from "@sdx/sdk/testing";
import { describe, expect, it } from "vitest";
import { K8sBackend } from "../k8s-backend.js";
import { HttpK8sClient, loadKubeConfig } from "./k8s-client.js";
import { conflictManagers, K8sApiError, mapK8sError } from "./map-k8s-error.js";
import type { K8sTarget } from "../k8s-target.js";

const req = { verb: "patch" as const, kind: "Deployment", name: "api", namespace: "shop" };

describe("mapK8sError", () => {
  it("401 → SDX_BACKEND_AUTH", () => {
    expect(mapK8sError(new K8sApiError(req, 401, { reason: "Unauthorized" }), req).code).toBe("SDX_BACKEND_AUTH");
  });
  it("403 names the verb and resource from the request, not from the server's text", () => {
    const e = mapK8sError(new K8sApiError(req, 403, { reason: "Forbidden", message: "whatever the server says" }), req);
    expect(e.code).toBe("SDX_BACKEND_FORBIDDEN");
    expect(e.message).toBe('forbidden: cannot "patch" deployments.apps in namespace "shop"');
    const core = mapK8sError(new K8sApiError({ verb: "list", kind: "Node" }, 403, undefined), { verb: "list", kind: "Node" });
    expect(core.message).toBe('forbidden: cannot "list" nodes at cluster scope');
  });
  it("409 from server-side apply names the conflicting managers and fields", () => {
    // The Status body as kube-apiserver 1.36 returns it (captured from the test cluster).
    const body = {
      kind: "Status", status: "Failure", reason: "Conflict", code: 409,
      message: 'Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas',
      details: { causes: [{ reason: "FieldManagerConflict", message: 'conflict with "kubectl" with subresource "scale" using apps/v1', field: ".spec.replicas" }] },
    };
    const e = mapK8sError(new K8sApiError(req, 409, body), req);
    expect(e.code).toBe("SDX_BACKEND_CONFLICT");
    expect(e.details).toMatchObject({ managers: ["kubectl"], fields: [".spec.replicas"] });
    expect(e.message).toContain('"kubectl"');
    expect(e.hint).toMatch(/--force-conflicts/);
    expect(conflictManagers([{ reason: "FieldManagerConflict", message: 'conflict with "ops-team" using apps/v1' }, { reason: "FieldManagerConflict", message: 'conflict with "ops-team" using apps/v1' }])).toEqual(["ops-team"]);
  });
  it("422 lists the field causes; Secret causes never carry the server's message", () => {
    const body = { reason: "Invalid", details: { causes: [{ reason: "FieldValueInvalid", message: 'Invalid value: "Bad": a lowercase RFC 1123 label', field: "spec.template.spec.containers[0].name" }] } };
    const e = mapK8sError(new K8sApiError(req, 422, body), req);
    expect(e.code).toBe("SDX_BACKEND_REJECTED");
    expect(e.message).toContain("spec.template.spec.containers[0].name: Invalid value");
    const sreq = { verb: "patch" as const, kind: "Secret", name: "s", namespace: "shop" };
    const s = mapK8sError(new K8sApiError(sreq, 422, { details: { causes: [{ reason: "FieldValueInvalid", message: "Invalid value: hunter2", field: "data" }] } }), sreq);
    expect(s.message).not.toContain("hunter2");
  });
  it("connection refused → SDX_BACKEND_UNREACHABLE", () => {
    const err = new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }) });
    expect(mapK8sError(err, req).code).toBe("SDX_BACKEND_UNREACHABLE");
  });
});

function kubeconfigAt(server: string): string {
  const dir = mkdtempSync(join(tmpdir(), "sdx-k8s-"));
  const file = join(dir, "config.json");
  writeFileSync(file, JSON.stringify({
    apiVersion: "v1", kind: "Config", "current-context": "c",
    clusters: [{ name: "c", cluster: { server } }], users: [{ name: "u", user: { token: "t" } }],
    contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
  }));
  return file;
}

describe("unreachable clusters fail fast", () => {
  it("no kubeconfig at all", () => {
    const saved = { KUBECONFIG: process.env.KUBECONFIG, HOME: process.env.HOME };
    process.env.HOME = mkdtempSync(join(tmpdir(), "sdx-home-"));
    delete process.env.KUBECONFIG;
    try {
      expect(() => loadKubeConfig({})).toThrow(expect.objectContaining({ code: "SDX_BACKEND_UNREACHABLE" }));
    } finally {
      process.env.HOME = saved.HOME;
      if (saved.KUBECONFIG !== undefined) process.env.KUBECONFIG = saved.KUBECONFIG;
    }
  });
  it("an unknown context", () => {
    expect(() => loadKubeConfig({ kubeconfig: kubeconfigAt("https://127.0.0.1:1"), context: "prod" })).toThrow(expect.objectContaining({ code: "SDX_BACKEND_UNREACHABLE", message: 'the kubeconfig has no context "prod"' }));
  });
  it("connection refused: plan throws SDX_BACKEND_UNREACHABLE", async () => {
    const ctx = await exampleContext<K8sTarget>("shop", { kind: "kubernetes" });
    const target = { ...ctx.target, kubeconfig: kubeconfigAt("https://127.0.0.1:1") };
    const backend = new K8sBackend();
    const t0 = Date.now();
    await expect(backend.plan({ ...ctx, target }, renderFor(backend, { ...ctx, target }), {})).rejects.toMatchObject({ code: "SDX_BACKEND_UNREACHABLE" });
    expect(Date.now() - t0).toBeLessThan(3000);
  });
  it("a server that accepts but never answers: the probe gives up within its deadline", async () => {
    const server = createServer(() => undefined); // holds connections open, says nothing
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const client = new HttpK8sClient(loadKubeConfig({ kubeconfig: kubeconfigAt(`https://127.0.0.1:${port}`) }), { probeTimeoutMs: 300 });
      const t0 = Date.now();
      await expect(client.probe()).rejects.toMatchObject({ code: "SDX_BACKEND_UNREACHABLE" });
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      server.close();
    }
  });
});

describe("sdx plan without a cluster", () => {
  it("falls back to a render-only plan that says why", async () => {
    const { plan } = await import("@sdx/sdk");
    const ctx = await exampleContext<K8sTarget>("shop", { kind: "kubernetes" });
    const app = { ...ctx.app, targets: ctx.app.targets.map((t) => (t.kind === "kubernetes" ? { ...t, kubeconfig: kubeconfigAt("https://127.0.0.1:1") } : t)) };
    const t0 = Date.now();
    const result = await plan(app, { target: "k8s", estimate: false, baseDir: ctx.baseDir, env: { SHOP_DB_PASSWORD: "x", SHOP_QUEUE_TOKEN: "y" } });
    expect(Date.now() - t0).toBeLessThan(3000);
    const p = result.plans[0]!.plan;
    expect(p.mode).toBe("render-only");
    expect(p.unreachable?.code).toBe("SDX_BACKEND_UNREACHABLE");
    expect(p.actions.every((a) => a.kind === "create")).toBe(true);
  });
});
