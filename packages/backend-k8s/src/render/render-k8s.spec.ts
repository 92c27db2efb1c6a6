import { isRedacted, type BackendContext, type Resource, type Service } from "@sdx/sdk";
import type { K8sTarget } from "../k8s-target.js";
import { EXAMPLE_SECRET_ENV, exampleContext } from "@sdx/sdk/testing";
import { describe, expect, it } from "vitest";
import { checkK8s } from "../check-k8s.js";
import { renderK8s } from "./render-k8s.js";

function byKind(rs: readonly Resource[], kind: string, name?: string): Record<string, any> {
  const r = rs.find((x) => x.kind === kind && (name === undefined || x.name === name));
  if (!r) throw new Error(`no ${kind} ${name ?? ""}`);
  return r.body as Record<string, any>;
}

const withService = (ctx: BackendContext<K8sTarget>, name: string, patch: Partial<Service>): BackendContext<K8sTarget> => ({
  ...ctx, app: { ...ctx.app, services: ctx.app.services.map((s) => (s.name === name ? { ...s, ...patch } : s)) },
});

// Goldens, determinism and ownership labels of every example app: test/conformance.spec.ts.
describe("renderK8s", () => {
  it("labels every object with sdx ownership, the Deployment alone with the service revision, and keeps the revision out of pods and selectors", async () => {
    const ctx = await exampleContext<K8sTarget>("shop", { kind: "kubernetes" });
    const rs = renderK8s(ctx);
    for (const r of rs) {
      const labels = (r.body.metadata as { labels: Record<string, string> }).labels;
      expect(labels["app.kubernetes.io/managed-by"]).toBe("sdx");
      expect(labels["sdx.dev/app"]).toBe("shop");
      // Only the Deployment says which revision it runs; elsewhere the label would make every change touch every object.
      expect(labels["sdx.dev/revision"]).toBe(r.kind === "Deployment" ? ctx.revision.services[r.service!] : undefined);
      expect(labels["app.kubernetes.io/part-of"]).toBe("shop");
    }
    const web = byKind(rs, "Deployment", "web");
    expect(web.spec.selector.matchLabels).toEqual({ "app.kubernetes.io/instance": "shop", "app.kubernetes.io/name": "web", "sdx.dev/pool": "main" });
    expect(web.spec.template.metadata.labels["sdx.dev/revision"]).toBeUndefined();
  });

  it("keeps secret values Redacted in the Secret and references them by name from the pod", async () => {
    const ctx = await exampleContext<K8sTarget>("shop", { kind: "kubernetes" });
    const rs = renderK8s(ctx);
    const secret = rs.find((r) => r.kind === "Secret")!;
    expect(secret.name).toMatch(/^api-secrets-[0-9a-f]{10}$/);
    const data = secret.body.stringData as Record<string, unknown>;
    expect(isRedacted(data["db-password"])).toBe(true);
    expect((data["db-password"] as { reveal(): string }).reveal()).toBe(EXAMPLE_SECRET_ENV.SHOP_DB_PASSWORD);
    const api = byKind(rs, "Deployment", "api");
    const env = api.spec.template.spec.containers[0].env as { name: string; valueFrom?: unknown }[];
    expect(env.find((e) => e.name === "DB_PASSWORD")?.valueFrom).toEqual({ secretKeyRef: { name: secret.name, key: "db-password" } });
  });

  it("renames the Secret when a secret's content changes, and only that service's objects change", async () => {
    const a = await exampleContext<K8sTarget>("shop", { kind: "kubernetes" });
    const b = await exampleContext<K8sTarget>("shop", { kind: "kubernetes" }, { ...EXAMPLE_SECRET_ENV, SHOP_DB_PASSWORD: "another" });
    const ra = renderK8s(a);
    const rb = renderK8s(b);
    const sa = ra.find((r) => r.kind === "Secret")!.name;
    const sb = rb.find((r) => r.kind === "Secret")!.name;
    expect(sa).not.toBe(sb);
    const changed = rb.filter((r) => JSON.stringify(r.body) !== JSON.stringify(ra.find((x) => x.kind === r.kind && x.name === r.name)?.body));
    expect(new Set(changed.map((r) => r.service))).toEqual(new Set(["api"]));
  });

  it("maps health to readiness, liveness and a startup probe for the start period", async () => {
    const rs = renderK8s(await exampleContext<K8sTarget>("shop", { kind: "kubernetes" }));
    const c = byKind(rs, "Deployment", "web").spec.template.spec.containers[0];
    expect(c.readinessProbe).toEqual({ httpGet: { path: "/", port: 8080 }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 });
    expect(c.livenessProbe).toEqual(c.readinessProbe);
    expect(c.startupProbe.failureThreshold).toBe(4);
    const w = byKind(rs, "Deployment", "worker").spec.template.spec.containers[0];
    expect(w.readinessProbe.exec.command).toEqual(["sh", "-c", "test -d /proc/1"]);
    expect(w.startupProbe).toBeUndefined();
  });

  it("autoscaled services get an HPA and no replicas field, seeded by an annotation", async () => {
    const rs = renderK8s(await exampleContext<K8sTarget>("shop", { kind: "kubernetes" }));
    const web = byKind(rs, "Deployment", "web");
    expect(web.spec.replicas).toBeUndefined();
    expect(web.metadata.annotations["sdx.dev/initial-replicas"]).toBe("2");
    const hpa = byKind(rs, "HorizontalPodAutoscaler", "web");
    expect(hpa.spec).toMatchObject({ minReplicas: 2, maxReplicas: 6, scaleTargetRef: { kind: "Deployment", name: "web" } });
    expect(byKind(rs, "PodDisruptionBudget", "web").spec.maxUnavailable).toBe(1);
  });

  it("splits minOnDemand into a Deployment pinned to on-demand nodes", async () => {
    const rs = renderK8s(await exampleContext<K8sTarget>("shop", { kind: "kubernetes" }));
    const main = byKind(rs, "Deployment", "worker");
    const od = byKind(rs, "Deployment", "worker-on-demand");
    expect(main.spec.replicas).toBe(2);
    expect(od.spec.replicas).toBe(1);
    expect(main.spec.template.spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution).toHaveLength(4);
    expect(main.spec.template.spec.tolerations).toContainEqual({ key: "cloud.google.com/gke-spot", operator: "Equal", value: "true", effect: "NoSchedule" });
    const req = od.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
    expect(req).toEqual([{ matchExpressions: expect.arrayContaining([{ key: "karpenter.sh/capacity-type", operator: "NotIn", values: ["spot"] }]) }]);
    expect(od.spec.selector.matchLabels["sdx.dev/pool"]).toBe("on-demand");
  });

  it("uses the target's spotLabels when given", async () => {
    const ctx = await exampleContext<K8sTarget>("shop", { kind: "kubernetes" });
    const t = { ...ctx.target, spotLabels: [{ key: "acme/pool", value: "cheap", onDemandValue: "steady" }] } as K8sTarget;
    const rs = renderK8s({ ...ctx, target: t });
    const main = byKind(rs, "Deployment", "worker");
    expect(main.spec.template.spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution).toEqual([
      { weight: 100, preference: { matchExpressions: [{ key: "acme/pool", operator: "In", values: ["cheap"] }] } },
    ]);
  });

  it("exposes public ports per target.expose", async () => {
    const ctx = await exampleContext<K8sTarget>("shop", { kind: "kubernetes" });
    const lb = renderK8s(ctx);
    expect(byKind(lb, "Service", "web").spec.type).toBe("ClusterIP");
    expect(byKind(lb, "Service", "web-public").spec.type).toBe("LoadBalancer");
    const np = renderK8s({ ...ctx, target: { ...ctx.target, expose: "node-port" } as K8sTarget });
    expect(byKind(np, "Service", "web-public").spec.type).toBe("NodePort");
    const ing = renderK8s({ ...ctx, target: { ...ctx.target, expose: "ingress", ingressClass: "nginx" } as K8sTarget });
    expect(ing.some((r) => r.name === "web-public")).toBe(false);
    expect(byKind(ing, "Ingress", "web").spec).toMatchObject({ ingressClassName: "nginx" });
    expect(lb.some((r) => r.kind === "Service" && r.service === "worker")).toBe(false);
  });

  it("applies safe securityContext defaults, which a service can relax", async () => {
    const ctx = await exampleContext<K8sTarget>("shop", { kind: "kubernetes" });
    const c = byKind(renderK8s(ctx), "Deployment", "api").spec.template.spec.containers[0];
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
    const relaxed = {
      ...ctx,
      app: { ...ctx.app, services: ctx.app.services.map((s) => (s.name === "api" ? { ...s, labels: { ...s.labels, "sdx.dev/k8s-security-context": "relaxed" } } : s)) },
    };
    expect(byKind(renderK8s(relaxed), "Deployment", "api").spec.template.spec.containers[0].securityContext).toBeUndefined();
  });

  it("sets limits only where the model states them and keeps requests, defaulted or not", async () => {
    const ctx = await exampleContext<K8sTarget>("shop", { kind: "kubernetes" });
    const container = (resources: Service["resources"]) =>
      byKind(renderK8s(withService(ctx, "api", { resources })), "Deployment", "api").spec.template.spec.containers[0];
    // shop's api gives cpu 1 and memory 1Gi, no limits: no memory limit is invented from the request.
    expect(byKind(renderK8s(ctx), "Deployment", "api").spec.template.spec.containers[0].resources).toEqual({ requests: { cpu: "1000m", memory: "1024Mi" } });
    expect(container({ cpuMillis: 250, memoryMiB: 256, defaulted: ["cpu", "memory"] }).resources).toEqual({ requests: { cpu: "250m", memory: "256Mi" } });
    expect(container({ cpuMillis: 500, memoryMiB: 512, limits: { memoryMiB: 768 } }).resources).toEqual({ requests: { cpu: "500m", memory: "512Mi" }, limits: { memory: "768Mi" } });
    expect(container({ cpuMillis: 500, memoryMiB: 512, limits: { cpuMillis: 2000 } }).resources).toEqual({ requests: { cpu: "500m", memory: "512Mi" }, limits: { cpu: "2000m" } });
  });

  it("selects an architecture and keeps pods off spot nodes only when the app says so", async () => {
    const ctx = await exampleContext<K8sTarget>("shop", { kind: "kubernetes" });
    const pod = (placement: Service["placement"]) => byKind(renderK8s(withService(ctx, "api", { placement })), "Deployment", "api").spec.template.spec;
    // shop's api names no placement: no selector, affinity or toleration.
    const plain = byKind(renderK8s(ctx), "Deployment", "api").spec.template.spec;
    expect(plain).not.toHaveProperty("nodeSelector");
    expect(plain).not.toHaveProperty("affinity");
    expect(plain).not.toHaveProperty("tolerations");
    const given = pod({ spot: "never", minOnDemand: 0, arch: "arm64", constraints: { zone: "a" } });
    expect(given.nodeSelector).toEqual({ "kubernetes.io/arch": "arm64", zone: "a" });
    expect(given.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions)
      .toContainEqual({ key: "karpenter.sh/capacity-type", operator: "NotIn", values: ["spot"] });
    const archOnly = pod({ spot: "never", minOnDemand: 0, arch: "amd64", constraints: {}, defaulted: ["spot"] });
    expect(archOnly.nodeSelector).toEqual({ "kubernetes.io/arch": "amd64" });
    expect(archOnly).not.toHaveProperty("affinity");
  });

  it("maps rollout to the strategy and progress deadline", async () => {
    const rs = renderK8s(await exampleContext<K8sTarget>("shop", { kind: "kubernetes" }));
    const web = byKind(rs, "Deployment", "web");
    expect(web.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(web.spec.progressDeadlineSeconds).toBe(300);
  });
});

describe("checkK8s", () => {
  it("reports fidelity and no errors for shop", async () => {
    const r = checkK8s(await exampleContext<K8sTarget>("shop", { kind: "kubernetes" }));
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(r.fidelity).toContainEqual(expect.objectContaining({ service: "worker", field: "placement.minOnDemand", level: "approximated" }));
    expect(r.fidelity).toContainEqual(expect.objectContaining({ service: "web", field: "health.startPeriod", level: "approximated" }));
  });

  it("reports defaulted requests with their values, and no arch or spot line for what it does not enforce", async () => {
    const ctx = await exampleContext<K8sTarget>("shop", { kind: "kubernetes" });
    const lines = (svc: Partial<Service>) => checkK8s(withService(ctx, "api", svc)).fidelity.filter((x) => x.service === "api" && /^(resources|placement)/.test(x.field));
    expect(lines({ resources: { cpuMillis: 250, memoryMiB: 256, defaulted: ["cpu", "memory"] } })).toEqual([{
      service: "api", field: "resources", level: "approximated",
      note: "no cpu or memory request given; requests 250m CPU / 256Mi memory used (sdx default) for scheduling; requests never stop or throttle a container",
    }]);
    expect(lines({ resources: { cpuMillis: 250, memoryMiB: 1024, limits: { memoryMiB: 2048 }, defaulted: ["cpu"] } }).map((x) => [x.field, x.level, x.note])).toEqual([
      ["resources", "approximated", "no cpu request given; requests 250m CPU used (sdx default) for scheduling; requests never stop or throttle a container"],
      ["resources.limits", "exact", "limits"],
    ]);
    // shop's api gives its requests and no placement: requests exact, nothing about spot or arch.
    expect(lines({}).map((x) => [x.field, x.level])).toEqual([["resources", "exact"]]);
    expect(lines({ placement: { spot: "never", minOnDemand: 0, arch: "arm64", constraints: {} } }).map((x) => [x.field, x.level])).toEqual([
      ["resources", "exact"], ["placement.spot", "exact"], ["placement.arch", "exact"],
    ]);
  });

  it("refuses AWS secret sources", async () => {
    const ctx = await exampleContext<K8sTarget>("shop", { kind: "kubernetes" });
    const app = {
      ...ctx.app,
      services: ctx.app.services.map((s) => (s.name === "api"
        ? { ...s, secrets: [{ name: "stripe", source: { kind: "aws-secrets-manager" as const, arn: "arn:aws:secretsmanager:us-east-1:1:secret:x" }, asEnv: "STRIPE" }] }
        : s)),
    };
    const r = checkK8s({ ...ctx, app });
    expect(r.diagnostics).toContainEqual(expect.objectContaining({ code: "SDX_BACKEND_UNSUPPORTED", severity: "error", path: "services.api.secrets.stripe" }));
    expect(renderK8s({ ...ctx, app }).some((x) => x.kind === "Secret" && x.service === "api")).toBe(false);
  });
});
