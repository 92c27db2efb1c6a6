/**
 * An in-memory Docker Engine in swarm mode behind the {@link SwarmClient}
 * port, for fault-injection tests. It answers in the Engine API's shapes
 * (Version.Index, Spec/PreviousSpec, UpdateStatus, tasks with Slot, Spec and
 * Status) and fails the way the engine does, through the real error mapping
 * (409 name conflicts, 500 "update out of sequence", 400 "secret in use" for
 * a secret a service Spec mounts, 400 "secret not found" for a spec that
 * mounts a missing one, including a rollback). Rollouts take a few polls: each
 * inspect of a service that is updating moves it one step, so a deploy cut
 * short leaves it "updating" with tasks not yet running, as on a real engine.
 */
import type { SwarmClient, SwarmNetwork, SwarmObject, SwarmService, SwarmTask, SwarmUpdateStatus, TaskFilter } from "../src/client/swarm-client.js";
import { mapSwarmError } from "../src/client/map-swarm-error.js";

type Spec = Record<string, unknown> & { Name: string; Labels?: Record<string, string> };
interface Svc {
  ID: string;
  Version: { Index: number };
  Spec: Spec;
  PreviousSpec?: Spec;
  UpdateStatus?: SwarmUpdateStatus;
  /** Inspects left before the current rollout converges. */
  pending: number;
}
interface Task {
  ID: string;
  ServiceID: string;
  Slot: number;
  DesiredState: string;
  State: string;
  template: string;
  spec: Record<string, unknown>;
  Timestamp: string;
}
interface Obj {
  ID: string;
  Version: { Index: number };
  Spec: { Name: string; Labels?: Record<string, string> };
  data: string;
}

const WHERE = "fake://swarm";
const clone = <T>(x: T): T => structuredClone(x);
const fail = (status: number, message: string, doing: string): Error => mapSwarmError({ statusCode: status, json: { message } }, doing, WHERE);

/** Steps (inspects) a rollout takes to converge. */
const ROLLOUT_STEPS = 2;

export class FakeSwarmEngine implements SwarmClient {
  readonly apiVersion = "1.41";
  readonly services = new Map<string, Svc>();
  readonly tasks: Task[] = [];
  readonly secrets = new Map<string, Obj>();
  readonly configs = new Map<string, Obj>();
  readonly networks = new Map<string, SwarmNetwork>();
  /** Rollbacks the engine could not do because the previous spec mounts a removed secret or config. */
  readonly brokenRollbacks: string[] = [];
  #n = 0;
  #clock = 0;

  #id(prefix: string): string {
    return `${prefix}${(++this.#n).toString(36).padStart(6, "0")}`;
  }

  #ts(): string {
    return new Date(Date.UTC(2026, 0, 1) + ++this.#clock * 1000).toISOString();
  }

  #index(): number {
    return ++this.#n;
  }

  #find(idOrName: string): Svc | undefined {
    return this.services.get(idOrName) ?? [...this.services.values()].find((s) => s.Spec.Name === idOrName);
  }

  #replicas(spec: Spec): number {
    return (spec.Mode as { Replicated?: { Replicas?: number } } | undefined)?.Replicated?.Replicas ?? 1;
  }

  #template(spec: Spec): string {
    return JSON.stringify(spec.TaskTemplate ?? {});
  }

  /** The engine validates every secret and config a spec mounts. */
  #checkRefs(spec: Spec, doing: string): void {
    const c = (spec.TaskTemplate as { ContainerSpec?: { Secrets?: { SecretID?: string; SecretName?: string }[]; Configs?: { ConfigID?: string; ConfigName?: string }[] } } | undefined)?.ContainerSpec;
    for (const s of c?.Secrets ?? []) if (!s.SecretID || !this.secrets.has(s.SecretID)) throw fail(400, `secret not found: ${s.SecretName ?? s.SecretID}`, doing);
    for (const s of c?.Configs ?? []) if (!s.ConfigID || !this.configs.has(s.ConfigID)) throw fail(400, `config not found: ${s.ConfigName ?? s.ConfigID}`, doing);
    for (const n of (spec.TaskTemplate as { Networks?: { Target: string }[] } | undefined)?.Networks ?? []) {
      if (![...this.networks.values()].some((x) => x.Name === n.Target || x.Id === n.Target)) throw fail(404, `network ${n.Target} not found`, doing);
    }
  }

  #startTasks(svc: Svc, count: number, fromSlot: number): void {
    const tmpl = svc.Spec.TaskTemplate as { ContainerSpec?: Record<string, unknown> } | undefined;
    for (let i = 0; i < count; i++) {
      this.tasks.push({
        ID: this.#id("task"), ServiceID: svc.ID, Slot: fromSlot + i, DesiredState: "running", State: "pending",
        template: this.#template(svc.Spec), spec: clone({ ContainerSpec: tmpl?.ContainerSpec ?? {} }), Timestamp: this.#ts(),
      });
    }
  }

  /** One step of a rollout, taken when the service is inspected. */
  #advance(svc: Svc): void {
    if (svc.pending <= 0) return;
    if (--svc.pending > 0) return;
    const tmpl = this.#template(svc.Spec);
    for (const t of this.tasks.filter((x) => x.ServiceID === svc.ID)) {
      if (t.template === tmpl && t.DesiredState === "running") t.State = "running";
      else {
        t.DesiredState = "shutdown";
        t.State = "shutdown";
      }
      t.Timestamp = this.#ts();
    }
    // Scale to the spec: extra current tasks stop.
    const live = this.tasks.filter((x) => x.ServiceID === svc.ID && x.DesiredState === "running").sort((a, b) => a.Slot - b.Slot);
    for (const t of live.slice(this.#replicas(svc.Spec))) {
      t.DesiredState = "shutdown";
      t.State = "shutdown";
    }
    const us = svc.UpdateStatus;
    if (us?.State === "updating") svc.UpdateStatus = { ...us, State: "completed", CompletedAt: this.#ts(), Message: "update completed" };
    if (us?.State === "rollback_started") svc.UpdateStatus = { ...us, State: "rollback_completed", CompletedAt: this.#ts(), Message: "rollback completed" };
  }

  #view(svc: Svc): SwarmService {
    return clone({
      ID: svc.ID, Version: svc.Version, Spec: svc.Spec,
      ...(svc.PreviousSpec ? { PreviousSpec: svc.PreviousSpec } : {}),
      ...(svc.UpdateStatus ? { UpdateStatus: svc.UpdateStatus } : {}),
    }) as SwarmService;
  }

  async listServices(labelFilter?: string): Promise<SwarmService[]> {
    const [k, v] = (labelFilter ?? "").split("=");
    return [...this.services.values()].filter((s) => !labelFilter || (v === undefined ? k! in (s.Spec.Labels ?? {}) : s.Spec.Labels?.[k!] === v)).map((s) => this.#view(s));
  }

  async inspectService(idOrName: string): Promise<SwarmService | undefined> {
    const svc = this.#find(idOrName);
    if (!svc) return undefined;
    this.#advance(svc);
    return this.#view(svc);
  }

  async createService(spec: Record<string, unknown>): Promise<string> {
    const s = clone(spec) as Spec;
    const doing = `create service ${s.Name}`;
    if (this.#find(s.Name)) throw fail(409, `service ${s.Name} already exists`, doing);
    this.#checkRefs(s, doing);
    const svc: Svc = { ID: this.#id("svc"), Version: { Index: this.#index() }, Spec: s, pending: ROLLOUT_STEPS };
    this.services.set(svc.ID, svc);
    this.#startTasks(svc, this.#replicas(s), 1);
    return svc.ID;
  }

  async updateService(id: string, version: number, spec: Record<string, unknown>, options: { rollback?: boolean } = {}): Promise<void> {
    const svc = this.services.get(id);
    const doing = `update service ${String(spec.Name ?? id)}`;
    if (!svc) throw fail(404, `service ${id} not found`, doing);
    if (version !== svc.Version.Index) throw fail(500, "rpc error: code = Unknown desc = update out of sequence", doing);
    let next: Spec;
    if (options.rollback) {
      if (!svc.PreviousSpec) throw fail(400, "service has no previous spec to roll back to", doing);
      next = clone(svc.PreviousSpec);
      try {
        this.#checkRefs(next, doing);
      } catch (e) {
        this.brokenRollbacks.push(svc.Spec.Name);
        throw e;
      }
    } else {
      next = clone(spec) as Spec;
      this.#checkRefs(next, doing);
    }
    const templateChanged = this.#template(next) !== this.#template(svc.Spec);
    svc.PreviousSpec = svc.Spec;
    svc.Spec = next;
    svc.Version = { Index: this.#index() };
    const live = this.tasks.filter((t) => t.ServiceID === svc.ID && t.DesiredState === "running");
    if (templateChanged) {
      // A new task template: Swarm starts an update that replaces every task.
      svc.UpdateStatus = { State: options.rollback ? "rollback_started" : "updating", StartedAt: this.#ts(), Message: options.rollback ? "manually requested rollback" : "update in progress" };
      this.#startTasks(svc, this.#replicas(next), 1);
      svc.pending = ROLLOUT_STEPS;
    } else if (this.#replicas(next) > live.length) {
      // A scale: new slots only, no update status.
      this.#startTasks(svc, this.#replicas(next) - live.length, live.length + 1);
      svc.pending = ROLLOUT_STEPS;
    } else if (this.#replicas(next) < live.length) svc.pending = 1;
  }

  async removeService(id: string): Promise<void> {
    if (!this.services.delete(id)) throw fail(404, `service ${id} not found`, `remove service ${id}`);
    for (let i = this.tasks.length - 1; i >= 0; i--) if (this.tasks[i]!.ServiceID === id) this.tasks.splice(i, 1);
  }

  async listTasks(filter: TaskFilter): Promise<SwarmTask[]> {
    const svc = this.#find(filter.service);
    const tmpl = svc ? this.#template(svc.Spec) : "";
    return this.tasks
      .filter((t) => t.ServiceID === svc?.ID && (!filter.upToDate || t.template === tmpl))
      .map((t) => clone({ ID: t.ID, ServiceID: t.ServiceID, Slot: t.Slot, DesiredState: t.DesiredState, Status: { State: t.State, Timestamp: t.Timestamp }, Spec: t.spec }) as SwarmTask);
  }

  #objects(kind: "secret" | "config"): Map<string, Obj> {
    return kind === "secret" ? this.secrets : this.configs;
  }

  #list(kind: "secret" | "config"): SwarmObject[] {
    return [...this.#objects(kind).values()].map((o) => clone({ ID: o.ID, Version: o.Version, Spec: o.Spec }));
  }

  #create(kind: "secret" | "config", spec: { Name: string; Labels: Record<string, string>; data: string }): string {
    const doing = `create ${kind} ${spec.Name}`;
    if ([...this.#objects(kind).values()].some((o) => o.Spec.Name === spec.Name)) throw fail(409, `${kind} ${spec.Name} already exists`, doing);
    const o: Obj = { ID: this.#id(kind), Version: { Index: this.#index() }, Spec: { Name: spec.Name, Labels: { ...spec.Labels } }, data: spec.data };
    this.#objects(kind).set(o.ID, o);
    return o.ID;
  }

  #remove(kind: "secret" | "config", id: string): void {
    const doing = `remove ${kind} ${id}`;
    const o = this.#objects(kind).get(id);
    if (!o) throw fail(404, `${kind} ${id} not found`, doing);
    // Like the engine: only a service's current Spec blocks the removal, not its PreviousSpec or old tasks.
    const field = kind === "secret" ? "Secrets" : "Configs";
    const idField = kind === "secret" ? "SecretID" : "ConfigID";
    const users = [...this.services.values()].filter((s) => ((s.Spec.TaskTemplate as { ContainerSpec?: Record<string, { [k: string]: string }[]> } | undefined)?.ContainerSpec?.[field] ?? []).some((r) => r[idField] === id));
    if (users.length) throw fail(400, `rpc error: ${kind} '${o.Spec.Name}' is in use by the following service: ${users.map((u) => u.Spec.Name).join(", ")}`, doing);
    this.#objects(kind).delete(id);
  }

  async listSecrets(): Promise<SwarmObject[]> {
    return this.#list("secret");
  }

  async createSecret(spec: { Name: string; Labels: Record<string, string>; data: string }): Promise<string> {
    return this.#create("secret", spec);
  }

  async removeSecret(id: string): Promise<void> {
    this.#remove("secret", id);
  }

  async listConfigs(): Promise<SwarmObject[]> {
    return this.#list("config");
  }

  async createConfig(spec: { Name: string; Labels: Record<string, string>; data: string }): Promise<string> {
    return this.#create("config", spec);
  }

  async removeConfig(id: string): Promise<void> {
    this.#remove("config", id);
  }

  async listNetworks(): Promise<SwarmNetwork[]> {
    return [...this.networks.values()].map(clone);
  }

  async createNetwork(spec: Record<string, unknown>): Promise<string> {
    const name = String(spec.Name);
    if ([...this.networks.values()].some((n) => n.Name === name)) throw fail(409, `network with name ${name} already exists`, `create network ${name}`);
    const n: SwarmNetwork = { Id: this.#id("net"), Name: name, Driver: String(spec.Driver ?? "overlay"), Scope: "swarm", Attachable: spec.Attachable === true, Labels: { ...(spec.Labels as Record<string, string> | undefined) } };
    this.networks.set(n.Id, n);
    return n.Id;
  }

  async removeNetwork(id: string): Promise<void> {
    const n = this.networks.get(id) ?? [...this.networks.values()].find((x) => x.Name === id);
    if (!n) throw fail(404, `network ${id} not found`, `remove network ${id}`);
    this.networks.delete(n.Id);
  }

  /** Owned services whose Spec or PreviousSpec mounts a secret or config that no longer exists. */
  danglingReferences(): string[] {
    const out: string[] = [];
    for (const s of this.services.values()) {
      for (const [which, spec] of [["Spec", s.Spec], ["PreviousSpec", s.PreviousSpec]] as const) {
        const c = (spec?.TaskTemplate as { ContainerSpec?: { Secrets?: { SecretID: string; SecretName: string }[]; Configs?: { ConfigID: string; ConfigName: string }[] } } | undefined)?.ContainerSpec;
        for (const r of c?.Secrets ?? []) if (!this.secrets.has(r.SecretID)) out.push(`${s.Spec.Name} ${which} mounts removed secret ${r.SecretName}`);
        for (const r of c?.Configs ?? []) if (!this.configs.has(r.ConfigID)) out.push(`${s.Spec.Name} ${which} mounts removed config ${r.ConfigName}`);
      }
    }
    for (const t of this.tasks) {
      if (t.State === "shutdown") continue;
      const c = t.spec.ContainerSpec as { Secrets?: { SecretID: string; SecretName: string }[] } | undefined;
      for (const r of c?.Secrets ?? []) if (!this.secrets.has(r.SecretID)) out.push(`task ${t.ID} mounts removed secret ${r.SecretName}`);
    }
    return out;
  }

  /** Everything not labelled as `app`'s, for "nothing foreign was touched" checks. */
  foreign(app: string): unknown {
    const mine = (labels: Record<string, string> | undefined): boolean => labels?.["sdx.dev/app"] === app;
    return clone({
      services: [...this.services.values()].filter((s) => !mine(s.Spec.Labels)).map((s) => ({ ID: s.ID, Version: s.Version, Spec: s.Spec })),
      tasks: this.tasks.filter((t) => { const s = this.services.get(t.ServiceID); return s && !mine(s.Spec.Labels); }).map((t) => ({ ID: t.ID, DesiredState: t.DesiredState, State: t.State })),
      secrets: [...this.secrets.values()].filter((o) => !mine(o.Spec.Labels)),
      configs: [...this.configs.values()].filter((o) => !mine(o.Spec.Labels)),
      networks: [...this.networks.values()].filter((n) => !mine(n.Labels)),
    });
  }
}

/** An engine holding another app's service (mounting its secret), secret and network, and a hand-made secret: sdx must never touch them. */
export async function engineWithNeighbour(): Promise<FakeSwarmEngine> {
  const e = new FakeSwarmEngine();
  const labels = { "sdx.dev/app": "other", "app.kubernetes.io/managed-by": "sdx" };
  await e.createNetwork({ Name: "other_default", Driver: "overlay", Labels: labels });
  const sid = await e.createSecret({ Name: "other_api_db-password-12345678", Labels: labels, data: "other-secret" });
  await e.createService({
    Name: "other_api", Labels: labels, Mode: { Replicated: { Replicas: 1 } },
    TaskTemplate: { ContainerSpec: { Image: "busybox", Secrets: [{ SecretID: sid, SecretName: "other_api_db-password-12345678", File: { Name: "/run/secrets/x" } }] }, Networks: [{ Target: "other_default" }] },
  });
  // An unlabelled (hand-made) secret too.
  await e.createSecret({ Name: "hand-made", Labels: {}, data: "x" });
  await e.inspectService("other_api");
  await e.inspectService("other_api");
  return e;
}
