import { deploy, hasChanges, isSdxError, type BackendContext } from "@sdx/sdk";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXAMPLE_SECRET_ENV, renderFor, requireTestenv } from "@sdx/sdk/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { K8sBackend } from "../src/index.js";
import { FIELD_MANAGER } from "../src/client/field-manager.js";
import { ctxFor, deleteNamespace, editService, k8sEnv, kubectl, kubectlJson, planAndApply, randomNs, SHOP_DIR, shopApp, type K8sEnv } from "./k8s-helpers.js";
import type { K8sTarget } from "../src/k8s-target.js";

const te = requireTestenv("k8s");

describe.skipIf(!te.env)("kubernetes backend: deploy lifecycle on a real control plane", () => {
  const e: K8sEnv = te.env ? k8sEnv(te.env) : (undefined as never);
  const ns = randomNs("sdx-it");
  const backend = new K8sBackend();
  let ctx: BackendContext<K8sTarget>;

  const deployments = (): any[] => kubectlJson(e, ["-n", ns, "get", "deployments"]).items;
  const rsNames = (dep: string): string[] =>
    kubectlJson(e, ["-n", ns, "get", "rs", "-l", `app.kubernetes.io/name=${dep}`]).items.map((r: any) => r.metadata.name).sort();

  beforeAll(async () => {
    ctx = await ctxFor(await shopApp(e, ns));
  });
  afterAll(async () => {
    if (ctx) await backend.destroy({ appName: ctx.app.name, target: ctx.target }, {}).catch(() => undefined);
    deleteNamespace(e, ns);
  });

  it("deploys shop: every Deployment becomes Available", async () => {
    const events: any[] = [];
    const { plan, result } = await planAndApply(backend, ctx, { onEvent: (ev) => events.push(ev) });
    expect(plan.mode).toBe("live");
    expect(plan.actions[0]).toMatchObject({ kind: "create", resource: { kind: "Namespace", name: ns } });
    expect(result.status, JSON.stringify(result.error)).toBe("succeeded");
    const deps = deployments();
    expect(deps.map((d) => d.metadata.name).sort()).toEqual(["api", "quotes", "web", "worker", "worker-on-demand"]);
    for (const d of deps) {
      const available = d.status.conditions.find((c: any) => c.type === "Available");
      expect(available?.status, d.metadata.name).toBe("True");
      expect(d.status.readyReplicas).toBe(d.spec.replicas);
    }
    expect(deps.find((d) => d.metadata.name === "web").spec.replicas).toBe(2); // seeded for the HPA
    expect(events.some((ev) => ev.kind === "rollout-progress" && ev.service === "api")).toBe(true);
    expect(result.rollouts.map((r) => r.service).sort()).toEqual(["api", "quotes", "web", "worker"]);
    // on-demand pods only on on-demand nodes
    const od = kubectlJson(e, ["-n", ns, "get", "pods", "-l", "sdx.dev/pool=on-demand"]).items;
    const nodes = kubectlJson(e, ["get", "nodes"]).items;
    for (const p of od) {
      const node = nodes.find((n: any) => n.metadata.name === p.spec.nodeName);
      expect(node.metadata.labels["karpenter.sh/capacity-type"]).toBe("on-demand");
    }
  });

  it("re-plans an unchanged app with zero changes", async () => {
    const plan = await backend.plan(ctx, renderFor(backend, ctx), {});
    const changed = plan.actions.filter((a) => a.kind !== "no-op");
    expect(changed, JSON.stringify(changed.map((a) => [a.kind, a.resource, a.changes]), null, 1)).toEqual([]);
    expect(hasChanges(plan)).toBe(false);
  });

  it("changing one env var changes only that Deployment and rolls only it", async () => {
    const before = { api: rsNames("api"), worker: rsNames("worker"), web: rsNames("web") };
    const next = await ctxFor(editService(ctx.app, "web", (s) => ({ ...s, env: { ...s.env, LOG_LEVEL: "debug" } })));
    const { plan, result } = await planAndApply(backend, next);
    const changed = plan.actions.filter((a) => a.kind !== "no-op");
    // Exactly one object changes: the web Deployment.
    expect(changed.map((a) => `${a.kind} ${a.resource.kind}/${a.resource.name}`)).toEqual(["update Deployment/web"]);
    const depChanges = changed.filter((a) => a.resource.kind === "Deployment");
    expect(depChanges[0]!.changes.map((c) => c.path)).toContain("spec.template.spec.containers[name=web].env[name=LOG_LEVEL].value");
    expect(result.status, JSON.stringify(result.error)).toBe("succeeded");
    expect(rsNames("web")).not.toEqual(before.web); // rolled
    expect(rsNames("api")).toEqual(before.api);
    expect(rsNames("worker")).toEqual(before.worker);
    const env = kubectlJson(e, ["-n", ns, "get", "deployment", "web"]).spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: "LOG_LEVEL", value: "debug" });
    ctx = next;
  });

  it("changing a secret's content rolls its pods; the old Secret stays while its ReplicaSet is a rollback target", async () => {
    const oldSecret = kubectlJson(e, ["-n", ns, "get", "secrets", "-l", "sdx.dev/service=api"]).items.map((x: any) => x.metadata.name);
    const before = rsNames("api");
    const next = await ctxFor(ctx.app, { ...EXAMPLE_SECRET_ENV, SHOP_DB_PASSWORD: "rotated-password" });
    const { plan, result } = await planAndApply(backend, next);
    expect(JSON.stringify(plan.actions.map((a) => a.changes))).not.toContain("rotated-password");
    expect(result.status, JSON.stringify(result.error)).toBe("succeeded");
    expect(rsNames("api").length).toBeGreaterThan(before.length);
    const now = kubectlJson(e, ["-n", ns, "get", "secrets", "-l", "sdx.dev/service=api"]).items;
    const mounted = kubectlJson(e, ["-n", ns, "get", "deployment", "api"]).spec.template.spec.volumes.find((v: any) => v.secret).secret.secretName;
    expect(oldSecret).not.toContain(mounted);
    expect(Buffer.from(now.find((x: any) => x.metadata.name === mounted).data["db-password"], "base64").toString()).toBe("rotated-password");
    // The previous ReplicaSet (kept in the history, revisionHistoryLimit 2) still mounts the old Secret: it stays.
    expect(now.map((x: any) => x.metadata.name).sort()).toEqual([...oldSecret, mounted].sort());
    const replan = await backend.plan(next, renderFor(backend, next), {});
    expect(replan.actions.find((a) => a.resource.name === oldSecret[0])).toMatchObject({ kind: "no-op", reason: expect.stringMatching(/^kept: still used by ReplicaSet\/api-/) });
    expect(hasChanges(replan)).toBe(false);
    ctx = next;
  });

  it("scales a service without restarting its pods", async () => {
    const before = rsNames("api");
    const next = await ctxFor(editService(ctx.app, "api", (s) => ({ ...s, scale: { kind: "fixed", replicas: 3 } })));
    const { result } = await planAndApply(backend, next);
    expect(result.status, JSON.stringify(result.error)).toBe("succeeded");
    const api = kubectlJson(e, ["-n", ns, "get", "deployment", "api"]);
    expect(api.spec.replicas).toBe(3);
    expect(api.status.readyReplicas).toBe(3);
    expect(rsNames("api")).toEqual(before);
    ctx = next;
  });

  it("names the field manager on a conflict, and takes the field over only with forceConflicts", async () => {
    kubectl(e, ["-n", ns, "patch", "deployment", "api", "--type", "merge", "-p", '{"spec":{"replicas":5}}', "--field-manager=ops-team"]);
    const plan = await backend.plan(ctx, renderFor(backend, ctx), {});
    const conflict = plan.diagnostics.find((d) => d.code === "SDX_BACKEND_CONFLICT");
    expect(conflict?.severity).toBe("error");
    expect(conflict?.message).toMatch(/"ops-team".*\.spec\.replicas/);
    expect(kubectlJson(e, ["-n", ns, "get", "deployment", "api"]).spec.replicas).toBe(5);
    const forced = await backend.plan(ctx, renderFor(backend, ctx), { forceConflicts: true });
    expect(forced.diagnostics).toEqual([]);
    const upd = forced.actions.find((a) => a.resource.kind === "Deployment" && a.resource.name === "api")!;
    expect(upd.kind).toBe("update");
    expect(upd.changes).toEqual([{ path: "spec.replicas", before: 5, after: 3 }]);
    const result = await backend.apply(ctx, forced, { forceConflicts: true });
    expect(result.status, JSON.stringify(result.error)).toBe("succeeded");
    expect(kubectlJson(e, ["-n", ns, "get", "deployment", "api"]).spec.replicas).toBe(3);
  });

  it("prunes a service removed from the app", async () => {
    const next = await ctxFor({ ...ctx.app, services: ctx.app.services.filter((s) => s.name !== "worker") });
    const { plan, result } = await planAndApply(backend, next);
    expect(plan.actions.filter((a) => a.kind === "delete").map((a) => `${a.resource.kind}/${a.resource.name}`).sort()).toEqual([
      "Deployment/worker", "Deployment/worker-on-demand", "PodDisruptionBudget/worker", expect.stringMatching(/^Secret\/worker-secrets-/),
    ].sort());
    expect(result.status).toBe("succeeded");
    expect(deployments().map((d) => d.metadata.name).sort()).toEqual(["api", "quotes", "web"]);
    expect(kubectl(e, ["-n", ns, "get", "secrets,pdb", "-l", "sdx.dev/service=worker", "-o", "name"]).trim()).toBe("");
    ctx = next;
  });

  it("rolls back an unschedulable rollout and says why", async () => {
    const template = JSON.stringify(kubectlJson(e, ["-n", ns, "get", "deployment", "api"]).spec.template);
    const broken = await ctxFor(editService(ctx.app, "api", (s) => ({
      ...s, env: { ...s.env, BROKEN: "1" }, resources: { ...s.resources, cpuMillis: 64_000 }, rollout: { ...s.rollout, timeoutSeconds: 8 },
    })));
    const events: any[] = [];
    const { result } = await planAndApply(backend, broken, { onEvent: (ev) => events.push(ev) });
    expect(result.status).toBe("rolled-back");
    const api = result.rollouts.find((r) => r.service === "api")!;
    expect(api.status).toBe("rolled-back");
    expect(api.reason).toMatch(/^unschedulable: .*Insufficient cpu/);
    expect(result.error).toMatchObject({ code: "SDX_ROLLOUT_FAILED" });
    expect(events.map((x) => x.kind)).toEqual(expect.arrayContaining(["rollout-failed", "rollback-started", "rollback-finished"]));
    const live = kubectlJson(e, ["-n", ns, "get", "deployment", "api"]);
    expect(JSON.stringify(live.spec.template)).toBe(template);
    expect(live.status.availableReplicas).toBe(3);
    expect(live.metadata.labels["sdx.dev/revision"]).toBe(ctx.revision.services.api);
    const st = await backend.status({ appName: ctx.app.name, target: ctx.target }, {});
    const apiStatus = st.services.find((x) => x.service === "api")!;
    expect(apiStatus).toMatchObject({ desired: 3, ready: 3, updated: 3, state: "healthy" });
    expect(apiStatus.messages.join("\n")).toMatch(/FailedScheduling/);
    // The previous config is still deployable and converges.
    const again = await planAndApply(backend, ctx);
    expect(again.result.status).toBe("succeeded");
  });

  it("refuses to take over a same-named object without sdx labels, and leaves it untouched", async () => {
    kubectl(e, ["-n", ns, "create", "deployment", "cache", "--image=example/foreign:1"]);
    const foreign = kubectlJson(e, ["-n", ns, "get", "deployment", "cache"]);
    const cache = { ...ctx.app.services.find((s) => s.name === "api")!, name: "cache", secrets: [], ports: [], health: undefined };
    const app = { ...ctx.app, services: [...ctx.app.services, cache] };
    const withCache = await ctxFor(app);
    const plan = await backend.plan(withCache, renderFor(backend, withCache), {});
    expect(plan.diagnostics).toContainEqual(expect.objectContaining({ code: "SDX_NOT_OWNED", severity: "error", path: "services.cache" }));
    const err = await deploy(app, { env: EXAMPLE_SECRET_ENV, baseDir: SHOP_DIR, estimate: false } as any).catch((x: unknown) => x);
    expect(isSdxError(err) && err.code).toBe("SDX_NOT_OWNED");
    const after = kubectlJson(e, ["-n", ns, "get", "deployment", "cache"]);
    // Not resourceVersion: the Deployment controller keeps writing the foreign object's status.
    // What sdx must not touch is its spec, its labels and its field ownership.
    expect(after.metadata.generation).toBe(foreign.metadata.generation);
    expect(after.spec).toEqual(foreign.spec);
    expect(after.metadata.labels["sdx.dev/app"]).toBeUndefined();
    expect((after.metadata.managedFields ?? []).map((m: { manager: string }) => m.manager)).not.toContain(FIELD_MANAGER);
  });

  it("names the verb and resource when RBAC forbids the user", async () => {
    kubectl(e, ["-n", ns, "create", "serviceaccount", "nobody"]);
    kubectl(e, ["-n", ns, "create", "serviceaccount", "reader"]);
    kubectl(e, ["-n", ns, "create", "role", "reader", "--verb=get,list",
      "--resource=configmaps,secrets,services,persistentvolumeclaims,deployments.apps,horizontalpodautoscalers.autoscaling,poddisruptionbudgets.policy,ingresses.networking.k8s.io"]);
    kubectl(e, ["-n", ns, "create", "rolebinding", "reader", "--role=reader", `--serviceaccount=${ns}:reader`]);
    const raw = JSON.parse(kubectl(e, ["config", "view", "--raw", "--minify", "-o", "json"]));
    const cluster = raw.clusters[0].cluster;
    const kubeconfigFor = (sa: string): string => {
      // A token minted through the TokenRequest API (what `kubectl create token` calls).
      const token = kubectl(e, ["-n", ns, "create", "token", sa, "--duration=10m"]).trim();
      const file = join(tmpdir(), `${ns}-${sa}.kubeconfig.json`);
      writeFileSync(file, JSON.stringify({
        apiVersion: "v1", kind: "Config", "current-context": "sa",
        clusters: [{ name: "c", cluster }], users: [{ name: sa, user: { token } }],
        contexts: [{ name: "sa", context: { cluster: "c", user: sa, namespace: ns } }],
      }));
      return file;
    };
    const asUser = async (sa: string): Promise<unknown> => {
      const app = { ...ctx.app, targets: [{ ...ctx.target, kubeconfig: kubeconfigFor(sa), context: "sa" }] };
      const c = await ctxFor(app as any);
      return backend.plan(c, renderFor(backend, c), {}).catch((x: unknown) => x);
    };
    const none = await asUser("nobody");
    expect(isSdxError(none) && none.code).toBe("SDX_BACKEND_FORBIDDEN");
    expect((none as Error).message).toMatch(new RegExp(`^forbidden: cannot "list" [a-z0-9.]+ in namespace "${ns}"$`));
    const reader = await asUser("reader");
    expect(isSdxError(reader) && reader.code).toBe("SDX_BACKEND_FORBIDDEN");
    expect((reader as Error).message).toMatch(new RegExp(`^forbidden: cannot "patch" [a-z0-9.]+ in namespace "${ns}"$`));
  });

  it("discovers pricing facts from node labels", async () => {
    const p = await backend.discoverPricing({ appName: ctx.app.name, target: ctx.target }, {});
    expect(p).toMatchObject({ nodeTypes: ["m6i.large", "m6i.xlarge"], region: "us-east-1", spot: true });
  });

  it("destroy removes only sdx's objects", async () => {
    kubectl(e, ["-n", ns, "create", "configmap", "foreign-settings", "--from-literal=a=b"]);
    const result = await backend.destroy({ appName: ctx.app.name, target: ctx.target }, {});
    expect(result.failed).toEqual([]);
    expect(result.deleted.map((r) => r.kind)).toEqual(expect.arrayContaining(["Deployment", "Service", "Secret", "ConfigMap", "HorizontalPodAutoscaler"]));
    const left = kubectl(e, ["-n", ns, "get", "deployments,services,configmaps,secrets,hpa,pdb", "-l", "sdx.dev/app=shop", "-o", "name"]).trim();
    expect(left).toBe("");
    expect(kubectl(e, ["-n", ns, "get", "configmap", "foreign-settings", "-o", "name"]).trim()).toBe("configmap/foreign-settings");
    expect(kubectl(e, ["-n", ns, "get", "deployment", "cache", "-o", "name"]).trim()).toBe("deployment.apps/cache");
  });
});

describe.skipIf(!te.env)("kubernetes backend: interrupted apply", () => {
  const e: K8sEnv = te.env ? k8sEnv(te.env) : (undefined as never);
  const ns = randomNs("sdx-it-abort");
  const backend = new K8sBackend();
  let ctx: BackendContext<K8sTarget>;
  afterAll(async () => {
    if (ctx) await backend.destroy({ appName: ctx.app.name, target: ctx.target }, {}).catch(() => undefined);
    deleteNamespace(e, ns);
  });

  it("an apply aborted midway can be re-run and converges", async () => {
    ctx = await ctxFor(await shopApp(e, ns));
    const ac = new AbortController();
    let done = 0;
    const { plan, result } = await planAndApply(backend, ctx, {
      signal: ac.signal,
      onEvent: (ev) => {
        if (ev.kind === "action-succeeded" && ++done === 3) ac.abort();
      },
    });
    expect(result.status).toBe("aborted");
    expect(result.completed.length).toBeGreaterThanOrEqual(3);
    expect(result.completed.length).toBeLessThan(plan.actions.length);
    expect(result.remaining.length).toBeGreaterThan(0);
    const again = await planAndApply(backend, ctx);
    expect(again.plan.summary.create).toBeGreaterThan(0);
    expect(again.result.status, JSON.stringify(again.result.error)).toBe("succeeded");
    const replan = await backend.plan(ctx, renderFor(backend, ctx), {});
    expect(replan.actions.filter((a) => a.kind !== "no-op")).toEqual([]);
    const deps = kubectlJson(e, ["-n", ns, "get", "deployments"]).items;
    expect(deps).toHaveLength(5);
    for (const d of deps) expect(d.status.availableReplicas).toBe(d.spec.replicas);
  });
});
