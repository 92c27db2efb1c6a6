import { createHash } from "node:crypto";
import { revealDeep, SdxError } from "@sdx/sdk";
import type { ApplyOptions, K8sClient, KubeObject } from "../src/client/k8s-client.js";
import { K8sApiError, mapK8sError, type K8sRequest } from "../src/client/map-k8s-error.js";
import { kindInfo } from "../src/k8s-kinds.js";

type Obj = Record<string, any>;

/** What the fake's scheduler says for a pod that does not fit (the kube-scheduler's wording, 1.30+). */
export const INSUFFICIENT_CPU = "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.";

/** One write the fake received, for "nothing foreign was touched". */
export interface FakeWrite {
  readonly verb: "apply" | "scale" | "delete";
  readonly key: string;
}

/**
 * An in-memory Kubernetes API for unit tests, behind the {@link K8sClient}
 * port: objects in the shapes the API server returns (uid, resourceVersion,
 * generation, managedFields, Secret data base64), server-side apply with
 * field ownership of `spec.replicas`, uid preconditions on delete, immutable
 * ConfigMaps/Secrets, and a small Deployment controller: every `get` of a
 * Deployment (the rollout wait's poll) advances each rollout one step (new
 * ReplicaSet and its pods first, old ones removed on the next step, history
 * trimmed to `revisionHistoryLimit`), so an interrupted deploy leaves a
 * rollout unfinished the way a real one does. Pods are Ready at once (like
 * KWOK) unless more pods exist than `podCapacity`: those stay Pending with
 * the scheduler's Unschedulable condition and a FailedScheduling event.
 */
export class FakeK8s implements K8sClient {
  readonly server = "https://fake-k8s.invalid";
  readonly objects = new Map<string, Obj>();
  readonly writes: FakeWrite[] = [];
  /** Pods that fit on the fake nodes, all namespaces together. @default Infinity */
  podCapacity = Number.POSITIVE_INFINITY;
  #seq = 0;
  #rv = 100;

  static key(kind: string, ns: string | undefined, name: string): string {
    return `${kind}/${kindInfo(kind).namespaced ? ns ?? "" : ""}/${name}`;
  }

  /** Adds an object as if someone else had created it (kubectl, another tool). */
  seed(obj: Obj): Obj {
    const o = structuredClone(obj);
    o.metadata.uid ??= this.#uid();
    o.metadata.resourceVersion = String(++this.#rv);
    o.metadata.creationTimestamp ??= this.#time();
    o.metadata.generation ??= 1;
    o.metadata.managedFields ??= [{ manager: "kubectl", operation: "Update", apiVersion: o.apiVersion, fieldsType: "FieldsV1", fieldsV1: {} }];
    this.objects.set(FakeK8s.key(o.kind, o.metadata.namespace, o.metadata.name), o);
    return o;
  }

  async probe(signal?: AbortSignal): Promise<void> {
    this.#checkAbort(signal);
  }

  async get(kind: string, name: string, namespace: string | undefined, signal?: AbortSignal): Promise<KubeObject | undefined> {
    this.#checkAbort(signal);
    if (kind === "Deployment") this.tick();
    const o = this.objects.get(FakeK8s.key(kind, namespace, name));
    return o ? structuredClone(o) as KubeObject : undefined;
  }

  async list(kind: string, namespace: string | undefined, selectors: { labelSelector?: string; fieldSelector?: string }, signal?: AbortSignal): Promise<KubeObject[]> {
    this.#checkAbort(signal);
    const labels = parseSelector(selectors.labelSelector);
    const fields = parseSelector(selectors.fieldSelector);
    return [...this.objects.values()]
      .filter((o) => o.kind === kind && (!namespace || !kindInfo(kind).namespaced || o.metadata.namespace === namespace))
      .filter((o) => Object.entries(labels).every(([k, v]) => o.metadata.labels?.[k] === v))
      .filter((o) => Object.entries(fields).every(([k, v]) => String(k.split(".").reduce((x: any, p) => x?.[p], o)) === v))
      .map((o) => structuredClone(o) as KubeObject);
  }

  async apply(obj: KubeObject, options: ApplyOptions, signal?: AbortSignal): Promise<KubeObject> {
    this.#checkAbort(signal);
    const body = revealDeep(structuredClone(obj)) as Obj;
    const kind = String(body.kind);
    const ns = body.metadata.namespace as string | undefined;
    const key = FakeK8s.key(kind, ns, body.metadata.name);
    const req: K8sRequest = { verb: "patch", kind, name: body.metadata.name, ...(ns ? { namespace: ns } : {}), ...(options.dryRun ? { dryRun: true } : {}) };
    if (kindInfo(kind).namespaced && !this.objects.has(FakeK8s.key("Namespace", undefined, ns ?? ""))) {
      throw mapK8sError(new K8sApiError(req, 404, { kind: "Status", status: "Failure", reason: "NotFound", code: 404, message: `namespaces "${ns}" not found` }), req);
    }
    const manager = options.fieldManager ?? "sdx";
    const live = this.objects.get(key);
    const next: Obj = live ? structuredClone(live) : { metadata: { uid: this.#uid(), creationTimestamp: this.#time(), generation: 1, managedFields: [] } };
    next.apiVersion = body.apiVersion;
    next.kind = kind;
    next.metadata = {
      ...next.metadata, name: body.metadata.name, ...(ns ? { namespace: ns } : {}),
      labels: { ...body.metadata.labels },
      annotations: { ...Object.fromEntries(Object.entries(live?.metadata.annotations ?? {}).filter(([k]) => k.startsWith("deployment.kubernetes.io/"))), ...body.metadata.annotations },
    };
    const owners = (next.metadata.managedFields as Obj[]).filter((e) => e.manager !== manager && e.fieldsV1?.["f:spec"]?.["f:replicas"]);
    if (kind === "Deployment" && body.spec?.replicas !== undefined && live && owners.length > 0 && live.spec.replicas !== body.spec.replicas) {
      if (!options.force) {
        throw mapK8sError(new K8sApiError(req, 409, {
          kind: "Status", status: "Failure", reason: "Conflict", code: 409, message: "Apply failed with 1 conflict",
          details: { causes: owners.map((o) => ({ reason: "FieldManagerConflict", message: `conflict with "${o.manager}"`, field: ".spec.replicas" })) },
        }), req);
      }
      for (const o of owners) delete o.fieldsV1["f:spec"]["f:replicas"];
    }
    if (kind === "Secret" || kind === "ConfigMap") {
      const data = kind === "Secret"
        ? { ...Object.fromEntries(Object.entries(body.data ?? {})), ...Object.fromEntries(Object.entries(body.stringData ?? {}).map(([k, v]) => [k, Buffer.from(String(v)).toString("base64")])) }
        : { ...body.data };
      if (live?.immutable && JSON.stringify(live.data ?? {}) !== JSON.stringify(data)) {
        throw mapK8sError(new K8sApiError(req, 422, { kind: "Status", status: "Failure", reason: "Invalid", code: 422, details: { causes: [{ reason: "FieldValueForbidden", field: "data", message: "field is immutable when `immutable` is set" }] } }), req);
      }
      next.data = data;
      if (body.type) next.type = body.type;
      if (body.immutable !== undefined) next.immutable = body.immutable;
    } else if (body.spec !== undefined) {
      const spec = structuredClone(body.spec);
      if (kind === "Deployment" && spec.replicas === undefined) {
        // Not applied: a field this manager owned and now drops is reset to the
        // default unless another manager owns it; otherwise the live value stays.
        const released = (live?.metadata.managedFields as Obj[] | undefined)?.some((e) => e.manager === manager && e.fieldsV1?.["f:spec"]?.["f:replicas"]);
        spec.replicas = !live ? 1 : released && owners.length === 0 ? 1 : live.spec.replicas;
      }
      if (kind === "Deployment" && live && JSON.stringify(live.spec) !== JSON.stringify(spec)) next.metadata.generation = (live.metadata.generation ?? 1) + 1;
      next.spec = spec;
    }
    next.metadata.managedFields = [
      ...(next.metadata.managedFields as Obj[]).filter((e) => e.manager !== manager),
      { manager, operation: "Apply", apiVersion: body.apiVersion, fieldsType: "FieldsV1", fieldsV1: kind === "Deployment" && body.spec?.replicas !== undefined ? { "f:spec": { "f:replicas": {} } } : { "f:spec": {} } },
    ];
    if (kind === "Deployment") next.status ??= { observedGeneration: 0 };
    if (options.dryRun) return structuredClone(next) as KubeObject;
    next.metadata.resourceVersion = String(++this.#rv);
    this.objects.set(key, next);
    this.writes.push({ verb: "apply", key });
    // A write that landed is reported aborted when the signal went off meanwhile, like a lost response.
    this.#checkAbort(signal);
    return structuredClone(next) as KubeObject;
  }

  async scale(kind: string, name: string, namespace: string, replicas: number, fieldManager: string, signal?: AbortSignal): Promise<void> {
    this.#checkAbort(signal);
    const key = FakeK8s.key(kind, namespace, name);
    const o = this.objects.get(key);
    const req: K8sRequest = { verb: "patch", kind, name, namespace, subresource: "scale" };
    if (!o) throw mapK8sError(new K8sApiError(req, 404, { kind: "Status", reason: "NotFound", code: 404 }), req);
    // kube-apiserver 1.36 records no managedFields entry for a scale-subresource
    // write to a field nobody owned; an owner it had keeps it only if the value stays.
    void fieldManager;
    if (o.spec.replicas !== replicas) for (const e of o.metadata.managedFields as Obj[]) if (e.fieldsV1?.["f:spec"]) delete e.fieldsV1["f:spec"]["f:replicas"];
    if (o.spec.replicas !== replicas) {
      o.spec.replicas = replicas;
      o.metadata.generation += 1;
    }
    o.metadata.resourceVersion = String(++this.#rv);
    this.writes.push({ verb: "scale", key });
    this.#checkAbort(signal);
  }

  async delete(kind: string, name: string, namespace: string | undefined, options: { uid?: string }, signal?: AbortSignal): Promise<boolean> {
    this.#checkAbort(signal);
    const key = FakeK8s.key(kind, namespace, name);
    const o = this.objects.get(key);
    if (!o) return false;
    const req: K8sRequest = { verb: "delete", kind, name, ...(namespace ? { namespace } : {}) };
    if (options.uid && o.metadata.uid !== options.uid) {
      throw mapK8sError(new K8sApiError(req, 409, { kind: "Status", reason: "Conflict", code: 409, message: "Precondition failed: UID in precondition does not match" }), req);
    }
    this.objects.delete(key);
    this.writes.push({ verb: "delete", key });
    // Background propagation: what the object owned goes too.
    for (const [k, x] of [...this.objects]) if ((x.metadata.ownerReferences as Obj[] | undefined)?.some((r) => r.uid === o.metadata.uid)) this.#cascade(k, x);
    this.#checkAbort(signal);
    return true;
  }

  /** Advances every rollout one step, as the Deployment controller would between two polls. */
  tick(): void {
    for (const [k, o] of [...this.objects]) if (o.kind === "Pod" && o.metadata.deletionTimestamp) this.objects.delete(k);
    // Pending pods get a node once capacity frees up.
    for (const p of [...this.objects.values()].filter((o) => o.kind === "Pod" && o.status.phase === "Pending")) {
      if (this.#running() >= this.podCapacity) break;
      p.status = { phase: "Running", conditions: [{ type: "PodScheduled", status: "True" }, { type: "Ready", status: "True" }], containerStatuses: [{ name: "c", ready: true, state: { running: { startedAt: this.#time() } } }] };
    }
    for (const d of [...this.objects.values()].filter((o) => o.kind === "Deployment")) this.#reconcile(d);
  }

  /** Ticks until every rollout has settled (or 20 steps). */
  settle(): void {
    for (let i = 0; i < 20; i++) this.tick();
  }

  #cascade(key: string, o: Obj): void {
    if (o.kind === "Pod") {
      // Pods terminate gracefully: they stay, marked, until the next tick.
      o.metadata.deletionTimestamp ??= this.#time();
      return;
    }
    this.objects.delete(key);
    for (const [k, x] of [...this.objects]) if ((x.metadata.ownerReferences as Obj[] | undefined)?.some((r) => r.uid === o.metadata.uid)) this.#cascade(k, x);
  }

  #reconcile(d: Obj): void {
    const ns = d.metadata.namespace as string;
    const before = JSON.stringify(d.status);
    const sets = this.#owned("ReplicaSet", d);
    const hash = createHash("sha256").update(JSON.stringify(d.spec.template)).digest("hex").slice(0, 10);
    let current = sets.find((rs) => rs.metadata.labels["pod-template-hash"] === hash);
    const maxRev = Math.max(0, ...sets.map((rs) => Number(rs.metadata.annotations["deployment.kubernetes.io/revision"])));
    const desired = d.spec.replicas ?? 1;
    const firstStep = (d.status.observedGeneration ?? 0) < d.metadata.generation;
    if (!current) {
      const template = structuredClone(d.spec.template);
      template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, "pod-template-hash": hash } };
      current = this.#put({
        apiVersion: "apps/v1", kind: "ReplicaSet",
        metadata: {
          name: `${d.metadata.name}-${hash}`, namespace: ns, uid: this.#uid(), labels: template.metadata.labels,
          annotations: { "deployment.kubernetes.io/revision": String(maxRev + 1) },
          ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: d.metadata.name, uid: d.metadata.uid, controller: true }],
        },
        spec: { replicas: 0, selector: { matchLabels: { ...d.spec.selector.matchLabels, "pod-template-hash": hash } }, template },
        status: { replicas: 0 },
      });
    } else if (Number(current.metadata.annotations["deployment.kubernetes.io/revision"]) < maxRev) {
      current.metadata.annotations["deployment.kubernetes.io/revision"] = String(maxRev + 1); // a rollback re-activates an old ReplicaSet
    }
    d.metadata.annotations = { ...d.metadata.annotations, "deployment.kubernetes.io/revision": current.metadata.annotations["deployment.kubernetes.io/revision"] };
    current.spec.replicas = desired;
    this.#syncPods(current);
    const old = this.#owned("ReplicaSet", d).filter((rs) => rs !== current && rs.metadata.uid !== current.metadata.uid);
    const ready = (rs: Obj): number => this.#owned("Pod", rs).filter((p) => p.status.phase === "Running").length;
    // Old ReplicaSets go one step after the new one is fully available (surge, then drain).
    if (!firstStep && ready(current) >= desired) {
      for (const rs of old) {
        rs.spec.replicas = 0;
        this.#syncPods(rs);
      }
    }
    const all = this.#owned("ReplicaSet", d);
    const pods = all.flatMap((rs) => this.#owned("Pod", rs));
    const available = pods.filter((p) => p.status.phase === "Running").length;
    const updated = this.#owned("Pod", current).length;
    const complete = updated === desired && pods.length === desired && available >= desired;
    if (complete) {
      const limit = d.spec.revisionHistoryLimit ?? 10;
      const idle = all.filter((rs) => rs !== current && rs.spec.replicas === 0)
        .sort((a, b) => Number(a.metadata.annotations["deployment.kubernetes.io/revision"]) - Number(b.metadata.annotations["deployment.kubernetes.io/revision"]));
      for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) this.objects.delete(FakeK8s.key("ReplicaSet", ns, rs.metadata.name));
    }
    d.status = {
      observedGeneration: d.metadata.generation, replicas: pods.length, updatedReplicas: updated, readyReplicas: available, availableReplicas: available,
      ...(desired - available > 0 ? { unavailableReplicas: desired - available } : {}),
      conditions: [
        { type: "Available", status: available >= desired ? "True" : "False", reason: available >= desired ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable", message: "" },
        { type: "Progressing", status: "True", reason: complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated", message: `ReplicaSet "${current.metadata.name}" ${complete ? "has successfully progressed." : "is progressing."}` },
      ],
    };
    if (JSON.stringify(d.status) !== before) d.metadata.resourceVersion = String(++this.#rv);
  }

  #syncPods(rs: Obj): void {
    const pods = this.#owned("Pod", rs);
    for (const p of pods.slice(rs.spec.replicas)) this.objects.delete(FakeK8s.key("Pod", p.metadata.namespace, p.metadata.name));
    for (let i = pods.length; i < rs.spec.replicas; i++) {
      const fits = this.#running() < this.podCapacity;
      const pod = this.#put({
        apiVersion: "v1", kind: "Pod",
        metadata: {
          name: `${rs.metadata.name}-${this.#uid().slice(-5)}`, namespace: rs.metadata.namespace, uid: this.#uid(), labels: { ...rs.spec.template.metadata.labels },
          ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: rs.metadata.name, uid: rs.metadata.uid, controller: true }],
        },
        spec: structuredClone(rs.spec.template.spec),
        status: fits
          ? { phase: "Running", conditions: [{ type: "PodScheduled", status: "True" }, { type: "Ready", status: "True" }], containerStatuses: [{ name: "c", ready: true, state: { running: { startedAt: this.#time() } } }] }
          : { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: INSUFFICIENT_CPU, lastTransitionTime: this.#time() }] },
      });
      if (!fits) {
        this.#put({
          apiVersion: "v1", kind: "Event", type: "Warning", reason: "FailedScheduling", message: INSUFFICIENT_CPU, lastTimestamp: this.#time(),
          involvedObject: { kind: "Pod", name: pod.metadata.name, namespace: pod.metadata.namespace, uid: pod.metadata.uid },
          metadata: { name: `${pod.metadata.name}.${this.#uid().slice(-6)}`, namespace: pod.metadata.namespace },
        });
      }
    }
    rs.status = { replicas: this.#owned("Pod", rs).length };
  }

  #running(): number {
    return [...this.objects.values()].filter((o) => o.kind === "Pod" && o.status.phase === "Running").length;
  }

  #owned(kind: string, owner: Obj): Obj[] {
    return [...this.objects.values()].filter((o) => o.kind === kind && (o.metadata.ownerReferences as Obj[] | undefined)?.some((r) => r.uid === owner.metadata.uid));
  }

  #put(o: Obj): Obj {
    o.metadata.uid ??= this.#uid();
    o.metadata.resourceVersion = String(++this.#rv);
    o.metadata.creationTimestamp ??= this.#time();
    this.objects.set(FakeK8s.key(o.kind, o.metadata.namespace, o.metadata.name), o);
    return o;
  }

  #uid(): string {
    return `00000000-0000-4000-8000-${String(++this.#seq).padStart(12, "0")}`;
  }

  #time(): string {
    return new Date(Date.UTC(2025, 0, 1, 0, 0, this.#seq)).toISOString().replace(".000Z", "Z");
  }

  #checkAbort(signal: AbortSignal | undefined): void {
    if (signal?.aborted) throw new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user" });
  }
}

function parseSelector(s: string | undefined): Record<string, string> {
  if (!s) return {};
  return Object.fromEntries(s.split(",").map((p) => p.split("=", 2) as [string, string]));
}
