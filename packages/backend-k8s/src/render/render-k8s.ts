import {
  LABEL_REVISION,
  boundedName,
  canonicalJson,
  ownershipLabels,
  secretKey,
  sha256,
  type BackendContext,
  type HealthCheck,
  type HealthProbe,
  type Resource,
  type Service,
} from "@sdx/sdk";
import type { K8sTarget } from "../k8s-target.js";
import { deploymentStrategy } from "./deployment-strategy.js";
import { capacityPlacement, DEFAULT_SPOT_LABELS, mainPool, onDemandReplicas, type CapacityPool } from "./spot-placement.js";

/** Pod label that tells a service's main Deployment from its on-demand one; part of every selector. */
export const LABEL_POOL = "sdx.dev/pool";
/** Old ReplicaSets each Deployment keeps (Kubernetes' default is 10): the previous revision, and one more. */
export const REVISION_HISTORY_LIMIT = 2;

/** Deployment annotation holding the replicas to start with when an HPA owns `spec.replicas`. */
export const ANNOTATION_INITIAL_REPLICAS = "sdx.dev/initial-replicas";
/** A service label that turns off the container securityContext defaults, for images that need root powers. */
export const LABEL_RELAX_SECURITY = "sdx.dev/k8s-security-context";

type Obj = Record<string, unknown>;

/**
 * Renders an app into Kubernetes objects. Pure and deterministic: the same
 * context always gives the same objects in the same order. Secret values stay
 * `Redacted` inside Secret `stringData`.
 */
export function renderK8s(ctx: BackendContext<K8sTarget>): Resource[] {
  const out: Resource[] = [];
  for (const svc of ctx.app.services) out.push(...renderService(ctx, svc));
  return out;
}

function renderService(ctx: BackendContext<K8sTarget>, svc: Service): Resource[] {
  const target = ctx.target;
  const ns = target.namespace;
  const app = ctx.app.name;
  // Only the Deployment carries the revision: on the Service, ConfigMap, Secret,
  // HPA and PDB it would turn every change of the service into label-only
  // updates of objects that did not change.
  const labels = objectLabels(ctx, svc);
  const others = stableLabels(ctx, svc);
  const meta = (kind: string, name: string, extra: Obj = {}): Obj => ({ name, namespace: ns, labels: kind === "Deployment" ? labels : others, ...extra });
  const res = (kind: string, name: string, apiVersion: string, rest: Obj, metaExtra: Obj = {}): Resource => ({
    kind, name, service: svc.name, body: { apiVersion, kind, metadata: meta(kind, name, metaExtra), ...rest },
  });
  const out: Resource[] = [];

  // Files: one immutable ConfigMap whose name carries a hash of the content, so a
  // change creates a new object, changes the pod template and rolls the pods.
  const fileKeys = uniqueKeys(svc.files.map((f) => f.path));
  let configMapName: string | undefined;
  if (svc.files.length > 0) {
    const hash = sha256(canonicalJson(svc.files.map((f, i) => ({ key: fileKeys[i], mode: f.mode, sha: sha256(f.content) }))), 10);
    configMapName = boundedName(`${svc.name}-files-${hash}`, 253);
    const data: Record<string, string> = {};
    svc.files.forEach((f, i) => (data[fileKeys[i]!] = f.content));
    out.push(res("ConfigMap", configMapName, "v1", { immutable: true, data }));
  }

  // Secrets sdx delivers itself go into one immutable Secret named by the digests
  // of the values (never the values), for the same rolling reason.
  const delivered = svc.secrets.filter((s) => s.source.kind === "env" || s.source.kind === "file");
  let secretName: string | undefined;
  if (delivered.length > 0) {
    const digests = delivered.map((s) => ({ name: s.name, digest: ctx.secrets.get(secretKey(svc.name, s.name))?.digest ?? "unresolved" }));
    secretName = boundedName(`${svc.name}-secrets-${sha256(canonicalJson(digests), 10)}`, 253);
    const stringData: Record<string, unknown> = {};
    for (const s of delivered) {
      const v = ctx.secrets.get(secretKey(svc.name, s.name))?.value;
      // An unresolved secret (plan without the value) renders as an empty
      // placeholder; deploy refuses to run before that point.
      stringData[s.name] = v ?? "";
    }
    out.push(res("Secret", secretName, "v1", { type: "Opaque", immutable: true, stringData }));
  }

  for (const v of svc.volumes) {
    if (v.kind !== "persistent") continue;
    out.push(res("PersistentVolumeClaim", pvcName(svc.name, v.name), "v1", {
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: `${v.sizeMiB ?? 1024}Mi` } } },
    }));
  }

  const selector = { "app.kubernetes.io/instance": app, "app.kubernetes.io/name": svc.name };
  if (svc.ports.length > 0) {
    out.push(res("Service", svc.name, "v1", {
      spec: { type: "ClusterIP", selector, ports: svc.ports.map((p) => servicePort(p)) },
    }));
    const publicPorts = svc.ports.filter((p) => p.public);
    const viaIngress = target.expose === "ingress" ? publicPorts.filter((p) => p.appProtocol !== "tcp" && p.protocol === "tcp") : [];
    const viaService = publicPorts.filter((p) => !viaIngress.includes(p));
    if (viaService.length > 0) {
      out.push(res("Service", boundedName(`${svc.name}-public`), "v1", {
        spec: { type: target.expose === "node-port" ? "NodePort" : "LoadBalancer", selector, ports: viaService.map((p) => servicePort(p)) },
      }));
    }
    const first = viaIngress[0];
    if (first) {
      out.push(res("Ingress", svc.name, "networking.k8s.io/v1", {
        spec: {
          ...(target.ingressClass ? { ingressClassName: target.ingressClass } : {}),
          rules: [{ http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: svc.name, port: { name: first.name } } } }] } }],
        },
      }));
    }
  }

  // Replicas: with minOnDemand, a second Deployment pinned to on-demand nodes
  // carries those replicas and the main one the rest (see README).
  const pinned = onDemandReplicas(svc.placement);
  const scale = svc.scale;
  const podSpec = (pool: CapacityPool): Obj => podSpecFor(ctx, svc, pool, configMapName, fileKeys, secretName);
  const deployment = (name: string, poolLabel: string, pool: CapacityPool, replicas: number | undefined, initial?: number): Resource =>
    res("Deployment", name, "apps/v1", {
      spec: {
        ...(replicas === undefined ? {} : { replicas }),
        selector: { matchLabels: { ...selector, [LABEL_POOL]: poolLabel } },
        strategy: deploymentStrategy(svc),
        progressDeadlineSeconds: svc.rollout.timeoutSeconds,
        // Old ReplicaSets pin the content-named ConfigMaps and Secrets they mount
        // (sdx never prunes what a rollback target uses); a short history keeps
        // old secret values from lingering for ten revisions.
        revisionHistoryLimit: REVISION_HISTORY_LIMIT,
        template: { metadata: { labels: podLabels(ctx, svc, poolLabel) }, spec: podSpec(pool) },
      },
    }, initial === undefined ? {} : { annotations: { [ANNOTATION_INITIAL_REPLICAS]: String(initial) } });

  if (scale.kind === "fixed") {
    out.push(deployment(svc.name, "main", mainPool(svc.placement), Math.max(0, scale.replicas - pinned)));
  } else {
    // The HPA owns spec.replicas: sdx never applies it, or every deploy would
    // reset the autoscaler's choice. The annotation seeds a new Deployment.
    const min = Math.max(1, scale.min - pinned);
    out.push(deployment(svc.name, "main", mainPool(svc.placement), undefined, min));
    out.push(res("HorizontalPodAutoscaler", svc.name, "autoscaling/v2", {
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: svc.name },
        minReplicas: min,
        maxReplicas: Math.max(min, scale.max - pinned),
        metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: scale.targetCpuPercent } } }],
      },
    }));
  }
  if (pinned > 0) out.push(deployment(boundedName(`${svc.name}-on-demand`), "on-demand", "on-demand-only", pinned));

  const total = scale.kind === "fixed" ? scale.replicas : scale.min;
  if (total > 1) {
    out.push(res("PodDisruptionBudget", svc.name, "policy/v1", { spec: { maxUnavailable: 1, selector: { matchLabels: selector } } }));
  }
  return out;
}

/** Labels of a service's Deployment (its other objects drop the revision): the recommended app.kubernetes.io set, user labels, then sdx ownership (which users cannot override). */
export function objectLabels(ctx: BackendContext, svc: Service): Record<string, string> {
  return { ...stableLabels(ctx, svc), [LABEL_REVISION]: ctx.revision.services[svc.name]! };
}

/** Everything but the revision, which changes on a mere scale. */
function stableLabels(ctx: BackendContext, svc: Service): Record<string, string> {
  return {
    ...ctx.app.labels,
    ...svc.labels,
    "app.kubernetes.io/name": svc.name,
    "app.kubernetes.io/instance": ctx.app.name,
    "app.kubernetes.io/part-of": ctx.app.name,
    ...ownershipLabels(ctx.app.name, svc.name),
  };
}

/** Pod labels leave out the revision (a scale must not restart pods) and add the capacity pool. */
function podLabels(ctx: BackendContext, svc: Service, pool: string): Record<string, string> {
  return { ...stableLabels(ctx, svc), [LABEL_POOL]: pool };
}

function podSpecFor(ctx: BackendContext<K8sTarget>, svc: Service, pool: CapacityPool, configMapName: string | undefined, fileKeys: readonly string[], secretName: string | undefined): Obj {
  const target = ctx.target;
  const volumes: Obj[] = [];
  const mounts: Obj[] = [];
  const env: Obj[] = Object.entries(svc.env).map(([name, value]) => ({ name, value }));

  if (configMapName) {
    volumes.push({ name: "sdx-files", configMap: { name: configMapName, items: svc.files.map((f, i) => ({ key: fileKeys[i], path: fileKeys[i], mode: f.mode })) } });
    // subPath mounts one file without hiding the rest of its directory.
    svc.files.forEach((f, i) => mounts.push({ name: "sdx-files", mountPath: f.path, subPath: fileKeys[i], readOnly: true }));
  }
  const secretFiles: Obj[] = [];
  for (const s of svc.secrets) {
    const src = s.source;
    if (src.kind === "env" || src.kind === "file") {
      if (s.asEnv) env.push({ name: s.asEnv, valueFrom: { secretKeyRef: { name: secretName, key: s.name } } });
      if (s.asFile) {
        secretFiles.push({ key: s.name, path: s.name });
        mounts.push({ name: "sdx-secrets", mountPath: s.asFile, subPath: s.name, readOnly: true });
      }
    } else if (src.kind === "kubernetes-secret") {
      if (s.asEnv) env.push({ name: s.asEnv, valueFrom: { secretKeyRef: { name: src.name, key: src.key } } });
      if (s.asFile) {
        const vol = boundedName(`secret-${s.name}`);
        volumes.push({ name: vol, secret: { secretName: src.name, items: [{ key: src.key, path: src.key }] } });
        mounts.push({ name: vol, mountPath: s.asFile, subPath: src.key, readOnly: true });
      }
    }
    // AWS sources are refused by check(); nothing to render.
  }
  if (secretName && secretFiles.length > 0) volumes.push({ name: "sdx-secrets", secret: { secretName, items: secretFiles } });
  for (const v of svc.volumes) {
    const name = boundedName(`vol-${v.name}`);
    volumes.push(v.kind === "ephemeral"
      ? { name, emptyDir: v.sizeMiB === undefined ? {} : { sizeLimit: `${v.sizeMiB}Mi` } }
      : { name, persistentVolumeClaim: { claimName: pvcName(svc.name, v.name) } });
    mounts.push({ name, mountPath: v.path, ...(v.readOnly ? { readOnly: true } : {}) });
  }

  const r = svc.resources;
  const limits = r.limits && (r.limits.memoryMiB !== undefined || r.limits.cpuMillis !== undefined)
    ? { ...(r.limits.memoryMiB === undefined ? {} : { memory: `${r.limits.memoryMiB}Mi` }), ...(r.limits.cpuMillis === undefined ? {} : { cpu: `${r.limits.cpuMillis}m` }) }
    : undefined;
  const container: Obj = {
    name: svc.name,
    image: svc.image.ref,
    ...(svc.command ? { command: [...svc.command] } : {}),
    ...(svc.args ? { args: [...svc.args] } : {}),
    ...(env.length > 0 ? { env } : {}),
    ...(svc.ports.length > 0 ? { ports: svc.ports.map((p) => ({ name: p.name, containerPort: p.port, protocol: p.protocol === "udp" ? "UDP" : "TCP" })) } : {}),
    resources: {
      // Requests, defaulted or not: they only place pods and weigh CPU shares (the
      // autoscaler needs the CPU one), never stop a process; check() reports defaulted ones.
      requests: { cpu: `${r.cpuMillis}m`, memory: `${r.memoryMiB}Mi` },
      // Limits only where the model states them: a memory limit kills the process.
      ...(limits ? { limits } : {}),
    },
    ...(svc.health ? probes(svc.health) : {}),
    ...(mounts.length > 0 ? { volumeMounts: mounts } : {}),
    ...(svc.labels[LABEL_RELAX_SECURITY] === "relaxed" ? {} : { securityContext: containerSecurity(svc) }),
  };
  // A spot policy or architecture the app left out was only priced: no affinity or selector for it.
  const left = new Set(svc.placement.defaulted ?? []);
  const placement = left.has("spot") ? {} : capacityPlacement(pool, target.spotLabels ?? DEFAULT_SPOT_LABELS);
  const nodeSelector = { ...(left.has("arch") ? {} : { "kubernetes.io/arch": svc.placement.arch }), ...svc.placement.constraints };
  return {
    // Service links inject one env var per Service in the namespace; the model's env is exactly what the app declared.
    enableServiceLinks: false,
    securityContext: { seccompProfile: { type: "RuntimeDefault" } },
    ...(Object.keys(nodeSelector).length > 0 ? { nodeSelector } : {}),
    ...(placement.affinity ? { affinity: placement.affinity } : {}),
    ...(placement.tolerations ? { tolerations: placement.tolerations } : {}),
    containers: [container],
    ...(volumes.length > 0 ? { volumes } : {}),
  };
}

/**
 * No privilege escalation and no capabilities, except NET_BIND_SERVICE when the
 * service listens below 1024. `runAsNonRoot` is not set: sdx cannot know an
 * image's user, and forcing it would stop every root image from starting.
 */
function containerSecurity(svc: Service): Obj {
  const lowPort = svc.ports.some((p) => p.port < 1024);
  return { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"], ...(lowPort ? { add: ["NET_BIND_SERVICE"] } : {}) } };
}

function handler(p: HealthProbe): Obj {
  switch (p.kind) {
    case "http":
      return { httpGet: { path: p.path, port: p.port } };
    case "tcp":
      return { tcpSocket: { port: p.port } };
    case "exec":
      return { exec: { command: [...p.command] } };
    default: {
      const never: never = p;
      throw new Error(`unhandled probe ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Readiness and liveness share the check; a start period becomes a startup
 * probe that allows the period plus the usual retries before liveness takes over.
 */
function probes(h: HealthCheck): Obj {
  const base = { ...handler(h.probe), periodSeconds: h.intervalSeconds, timeoutSeconds: h.timeoutSeconds, failureThreshold: h.retries };
  return {
    readinessProbe: base,
    livenessProbe: base,
    ...(h.startPeriodSeconds > 0
      ? { startupProbe: { ...base, failureThreshold: Math.ceil(h.startPeriodSeconds / h.intervalSeconds) + h.retries } }
      : {}),
  };
}

function servicePort(p: Service["ports"][number]): Obj {
  const appProtocol = p.appProtocol === "http" ? "http" : p.appProtocol === "grpc" ? "kubernetes.io/h2c" : undefined;
  return { name: p.name, port: p.port, targetPort: p.port, protocol: p.protocol === "udp" ? "UDP" : "TCP", ...(appProtocol ? { appProtocol } : {}) };
}

function pvcName(svc: string, vol: string): string {
  return boundedName(`${svc}-${vol}`);
}

/** ConfigMap keys from file paths: the base name, made valid and unique. */
function uniqueKeys(paths: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return paths.map((p) => {
    const base = (p.split("/").pop() || "file").replace(/[^-._a-zA-Z0-9]/g, "_");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return n === 0 ? base : `${n}-${base}`;
  });
}
