/**
 * An in-memory Docker on several hosts, for unit and fault-injection tests of
 * the hosts backend. It is ONE object whose async methods take the host name
 * first, so `injectFaults` can wrap it and fail any call on any host; the
 * backend reaches it through {@link dockerHostFor} (the DockerHost contract)
 * and {@link fakeConnect} (the HostConnection contract: the backend runs no
 * command outside the DockerHost port, so `exec` refuses all). It behaves as Docker
 * does where sdx depends on it: container names are unique per host, a run
 * needs its image, network, mounted files and env files, a published port is
 * bound once per host, a removed network must have no container on it, a
 * container with a health check is `starting` until its next inspect, and the
 * app lock is exclusive while its SSH session lives.
 */
import type { Readable } from "node:stream";
import { isOwnedBy, SdxError } from "@sdx/sdk";
import type { AuditEntry, ContainerSpec, DockerHost, HostFile, HostInfo, ObservedContainer } from "../src/client/docker-host.js";
import type { ConnectHost, ExecOptions, ExecResult, HostConnection } from "../src/client/host-connection.js";
import type { HostSpec } from "../src/hosts-target.js";

/** What a scripted container does once started. */
export type FakeOutcome =
  /** Its health check fails (a container without one keeps running). */
  | "unhealthy"
  /** It exits with code 1 at once, printing `boom`. */
  | "exit"
  /** Its health check never passes nor fails (for timeouts). */
  | "hang";

/** A scripted failure: containers matching it (on `host`, or on any host) end with `outcome`. */
export interface FakeRule {
  readonly host?: string;
  readonly match: (spec: ContainerSpec) => boolean;
  readonly outcome: FakeOutcome;
}

/** One container as the fake keeps it. */
export interface FakeContainer {
  id: string;
  name: string;
  image: string;
  imageId: string;
  labels: Record<string, string>;
  state: string;
  health?: string;
  exitCode: number;
  restartCount: number;
  startedAt?: string;
  finishedAt?: string;
  healthLog: string[];
  /** How it was run (absent for containers a test made by hand). */
  spec?: ContainerSpec;
  outcome?: FakeOutcome;
  network?: string;
  ports: readonly string[];
}

/** One host's Docker engine and file system. */
export interface FakeHost {
  readonly name: string;
  readonly containers: Map<string, FakeContainer>;
  readonly images: Set<string>;
  readonly networks: Map<string, Record<string, string>>;
  /** Files by absolute path, with their content as text and mode. */
  readonly files: Map<string, { content: string; mode: number }>;
  readonly dirs: Set<string>;
  /** Lock path → holder and the SSH session that holds it. */
  readonly locks: Map<string, { holder: string; session: number; token: string }>;
}

const clone = <T>(x: T): T => structuredClone(x);

function notFound(host: string, what: string): SdxError {
  return new SdxError("SDX_BACKEND_ERROR", `host ${host}: ${what}`, { fault: "backend" });
}

function checkSignal(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user" });
}

const under = (path: string, dir: string): boolean => path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);

/**
 * SSH sessions, kept apart from the Docker calls: closing a connection is not
 * a Docker call, cannot fail, and releases the locks its session held (the
 * remote `flock` process dies with the connection).
 */
export class FakeSessions {
  #next = 0;
  readonly open = new Set<number>();
  constructor(private readonly hosts: Map<string, FakeHost>) {}

  connect(): number {
    const id = ++this.#next;
    this.open.add(id);
    return id;
  }

  close(id: number): void {
    this.open.delete(id);
    for (const h of this.hosts.values()) for (const [path, l] of h.locks) if (l.session === id) h.locks.delete(path);
  }
}

/** Docker on every host of a test target, in memory (see the top of this file). */
export class FakeDockerHosts {
  readonly hosts = new Map<string, FakeHost>();
  readonly sessions: FakeSessions;
  /** What happened on the hosts, in order: `run h1 <name>`, `stop h1 <name>`, `start …`, `remove …`. */
  readonly ops: string[] = [];
  /** Scripted failures, checked at each run and start. */
  readonly rules: FakeRule[] = [];
  /** Images no registry has: a pull of one fails. */
  readonly missingImages = new Set<string>();
  #n = 0;
  #clock = 0;

  constructor(hostNames: readonly string[]) {
    for (const name of hostNames) {
      this.hosts.set(name, { name, containers: new Map(), images: new Set(), networks: new Map([["bridge", {}]]), files: new Map(), dirs: new Set(), locks: new Map() });
    }
    this.sessions = new FakeSessions(this.hosts);
  }

  #host(name: string): FakeHost {
    const h = this.hosts.get(name);
    if (!h) throw new SdxError("SDX_BACKEND_UNREACHABLE", `host ${name} is not known to the fake`, { fault: "backend" });
    return h;
  }

  #ts(): string {
    return new Date(Date.UTC(2026, 0, 1) + ++this.#clock * 1000).toISOString();
  }

  #find(h: FakeHost, nameOrId: string): FakeContainer | undefined {
    return h.containers.get(nameOrId) ?? [...h.containers.values()].find((c) => c.name === nameOrId || c.id.startsWith(nameOrId));
  }

  #observed(c: FakeContainer): ObservedContainer {
    return clone({
      id: c.id, name: c.name, image: c.image, imageId: c.imageId, labels: c.labels, state: c.state,
      ...(c.health ? { health: c.health } : {}), exitCode: c.exitCode, restartCount: c.restartCount,
      ...(c.startedAt ? { startedAt: c.startedAt } : {}), ...(c.finishedAt ? { finishedAt: c.finishedAt } : {}),
      healthLog: c.healthLog,
      mounts: (c.spec?.mounts ?? []).flatMap((m) => (m.source ? [m.source] : [])),
    });
  }

  #outcomeOf(host: string, spec: ContainerSpec | undefined): FakeOutcome | undefined {
    if (!spec) return undefined;
    return this.rules.find((r) => (r.host === undefined || r.host === host) && r.match(spec))?.outcome;
  }

  /** Starts a container as Docker would: the port must be free on the host, then it runs (and, scripted, exits). */
  #start(h: FakeHost, c: FakeContainer): void {
    for (const p of c.ports) {
      const holder = [...h.containers.values()].find((o) => o !== c && o.state === "running" && o.ports.includes(p));
      if (holder) throw new SdxError("SDX_BACKEND_CONFLICT", `host ${h.name}: cannot start ${c.name}: port ${p} is already allocated (by ${holder.name})`, { fault: "backend" });
    }
    c.outcome = this.#outcomeOf(h.name, c.spec);
    c.startedAt = this.#ts();
    c.healthLog = [];
    if (c.outcome === "exit") {
      c.state = "exited";
      c.exitCode = 1;
      c.finishedAt = this.#ts();
      delete c.health;
      return;
    }
    c.state = "running";
    c.exitCode = 0;
    if (c.spec?.health) c.health = "starting";
  }

  /** Adds a container by hand (a neighbour sdx must not touch, or a leftover of a deploy). */
  addContainer(host: string, c: { name: string; image?: string; labels?: Record<string, string>; state?: string; ports?: string[]; network?: string }): FakeContainer {
    const h = this.#host(host);
    const id = (++this.#n).toString(16).padStart(64, "f");
    const image = c.image ?? "docker.io/library/busybox:1.36";
    h.images.add(image);
    const fc: FakeContainer = {
      id, name: c.name, image, imageId: `sha256:${"b".repeat(64)}`, labels: c.labels ?? {}, state: c.state ?? "running",
      exitCode: 0, restartCount: 0, startedAt: this.#ts(), healthLog: [], ports: c.ports ?? [], ...(c.network ? { network: c.network } : {}),
    };
    h.containers.set(id, fc);
    return fc;
  }

  /** The containers on a host, by name (for assertions). */
  containersOn(host: string): FakeContainer[] {
    return [...this.#host(host).containers.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The app's containers on every host (owned by its labels), as `host/name state`. */
  appContainers(app: string): string[] {
    return [...this.hosts.values()].flatMap((h) => [...h.containers.values()].filter((c) => isOwnedBy(c.labels, app)).map((c) => `${h.name}/${c.name} ${c.state}`)).sort();
  }

  /** Everything on the hosts that is not `app`'s (containers, networks, files, locks), comparable as JSON. */
  foreign(app: string, dataDir = "/var/lib/sdx"): unknown {
    const mine = `${dataDir}/${app}`;
    return [...this.hosts.values()].map((h) => ({
      host: h.name,
      containers: [...h.containers.values()].filter((c) => !isOwnedBy(c.labels, app))
        .map((c) => ({ name: c.name, id: c.id, state: c.state, labels: c.labels, image: c.image })).sort((a, b) => a.name.localeCompare(b.name)),
      networks: [...h.networks].filter(([n]) => n !== `sdx-${app}`).sort(([a], [b]) => a.localeCompare(b)),
      files: [...h.files].filter(([p]) => !under(p, mine)).sort(([a], [b]) => a.localeCompare(b)),
      dirs: [...h.dirs].filter((d) => !under(d, mine)).sort(),
      locks: [...h.locks].filter(([p]) => !under(p, mine)).map(([p, l]) => [p, l.holder]).sort(),
    }));
  }

  // ---- The Docker calls (faultable: each is async and takes the host first) ----

  async info(host: string, signal?: AbortSignal): Promise<HostInfo> {
    checkSignal(signal);
    this.#host(host);
    return { engineId: `engine-${host}`, cpuMillis: 4000, memoryMiB: 8192, arch: "amd64", serverVersion: "28.0.0" };
  }

  async listContainers(host: string, app: string, names: readonly string[] = [], signal?: AbortSignal): Promise<ObservedContainer[]> {
    checkSignal(signal);
    const h = this.#host(host);
    return [...h.containers.values()].filter((c) => c.labels["sdx.dev/app"] === app || names.includes(c.name)).map((c) => this.#observed(c));
  }

  async inspectContainer(host: string, nameOrId: string, signal?: AbortSignal): Promise<ObservedContainer | undefined> {
    checkSignal(signal);
    const c = this.#find(this.#host(host), nameOrId);
    if (!c) return undefined;
    // The health check runs between two inspects: a starting container is decided now.
    if (c.state === "running" && c.health === "starting" && c.outcome !== "hang") {
      if (c.outcome === "unhealthy") {
        c.health = "unhealthy";
        c.healthLog = ["connection refused", "connection refused", "connection refused"];
      } else c.health = "healthy";
      return { ...this.#observed(c), health: "starting" };
    }
    return this.#observed(c);
  }

  async hasImage(host: string, image: string, signal?: AbortSignal): Promise<boolean> {
    checkSignal(signal);
    return this.#host(host).images.has(image);
  }

  async pull(host: string, image: string, signal?: AbortSignal): Promise<void> {
    checkSignal(signal);
    const h = this.#host(host);
    if (this.missingImages.has(image)) throw new SdxError("SDX_IMAGE_NOT_FOUND", `host ${host}: pull ${image}: manifest unknown`, { fault: "user" });
    h.images.add(image);
  }

  async load(host: string, archive: Readable, signal?: AbortSignal): Promise<string[]> {
    checkSignal(signal);
    const h = this.#host(host);
    for await (const _ of archive) {
      // Drained, as `docker load` reads all of it.
    }
    const id = `sha256:${(++this.#n).toString(16).padStart(64, "c")}`;
    h.images.add(id);
    return [id];
  }

  async ensureNetwork(host: string, name: string, labels: Readonly<Record<string, string>>, signal?: AbortSignal): Promise<void> {
    checkSignal(signal);
    const h = this.#host(host);
    if (!h.networks.has(name)) h.networks.set(name, { ...labels });
  }

  async removeNetwork(host: string, name: string, signal?: AbortSignal): Promise<void> {
    checkSignal(signal);
    const h = this.#host(host);
    const on = [...h.containers.values()].filter((c) => c.network === name);
    if (on.length) throw new SdxError("SDX_BACKEND_CONFLICT", `host ${host}: network ${name} has active endpoints (${on.map((c) => c.name).join(", ")})`, { fault: "backend" });
    h.networks.delete(name);
  }

  async writeFiles(host: string, files: readonly HostFile[], signal?: AbortSignal): Promise<void> {
    checkSignal(signal);
    const h = this.#host(host);
    for (const f of files) {
      h.files.set(f.path, { content: typeof f.content === "string" ? f.content : Buffer.from(f.content).toString("utf8"), mode: f.mode });
    }
  }

  async ensureDirs(host: string, paths: readonly string[], signal?: AbortSignal): Promise<void> {
    checkSignal(signal);
    const h = this.#host(host);
    for (const p of paths) h.dirs.add(p);
  }

  async removePaths(host: string, paths: readonly string[], underDir: string, signal?: AbortSignal): Promise<void> {
    checkSignal(signal);
    const h = this.#host(host);
    for (const p of paths) if (!under(p, underDir) || p === underDir) throw new SdxError("SDX_INTERNAL", `refusing to remove ${p}: not under ${underDir}`, { fault: "internal" });
    for (const p of paths) {
      for (const f of [...h.files.keys()]) if (under(f, p)) h.files.delete(f);
      for (const d of [...h.dirs]) if (under(d, p)) h.dirs.delete(d);
    }
  }

  async listDir(host: string, path: string, signal?: AbortSignal): Promise<string[]> {
    checkSignal(signal);
    const h = this.#host(host);
    const prefix = `${path.replace(/\/$/, "")}/`;
    const names = new Set<string>();
    for (const p of [...h.files.keys(), ...h.dirs]) if (p.startsWith(prefix)) names.add(p.slice(prefix.length).split("/")[0]!);
    return [...names].sort();
  }

  async run(host: string, spec: ContainerSpec, signal?: AbortSignal): Promise<string> {
    checkSignal(signal);
    const h = this.#host(host);
    const doing = `host ${host}: docker run ${spec.name}`;
    if ([...h.containers.values()].some((c) => c.name === spec.name)) {
      throw new SdxError("SDX_BACKEND_CONFLICT", `${doing}: the container name "/${spec.name}" is already in use`, { fault: "backend" });
    }
    if (!h.images.has(spec.image)) throw new SdxError("SDX_IMAGE_NOT_FOUND", `${doing}: image ${spec.image} is not on the host`, { fault: "backend" });
    if (!h.networks.has(spec.network)) throw notFound(host, `docker run ${spec.name}: network ${spec.network} not found`);
    for (const m of spec.mounts) {
      if (m.source && !h.files.has(m.source) && !h.dirs.has(m.source)) throw notFound(host, `docker run ${spec.name}: bind source path does not exist: ${m.source}`);
    }
    for (const f of spec.envFiles) if (!h.files.has(f)) throw notFound(host, `docker run ${spec.name}: open ${f}: no such file or directory`);
    const id = (++this.#n).toString(16).padStart(64, "a");
    const c: FakeContainer = {
      id, name: spec.name, image: spec.image, imageId: `sha256:${"d".repeat(64)}`, labels: { ...spec.labels }, state: "created",
      exitCode: 0, restartCount: 0, healthLog: [], spec: clone(spec), network: spec.network,
      ports: spec.ports.map((p) => `${p.host}/${p.protocol}`),
    };
    h.containers.set(id, c);
    this.ops.push(`run ${host} ${spec.name}`);
    this.#start(h, c);
    return id;
  }

  async start(host: string, nameOrId: string, signal?: AbortSignal): Promise<void> {
    checkSignal(signal);
    const h = this.#host(host);
    const c = this.#find(h, nameOrId);
    if (!c) throw notFound(host, `docker start ${nameOrId}: no such container`);
    this.ops.push(`start ${host} ${c.name}`);
    if (c.state !== "running") this.#start(h, c);
  }

  async stop(host: string, nameOrId: string, _timeoutSeconds: number, signal?: AbortSignal): Promise<void> {
    checkSignal(signal);
    const h = this.#host(host);
    const c = this.#find(h, nameOrId);
    if (!c) throw notFound(host, `docker stop ${nameOrId}: no such container`);
    this.ops.push(`stop ${host} ${c.name}`);
    if (c.state === "running") {
      c.state = "exited";
      c.exitCode = 0;
      c.finishedAt = this.#ts();
      delete c.health;
    }
  }

  async remove(host: string, nameOrId: string, signal?: AbortSignal): Promise<void> {
    checkSignal(signal);
    const h = this.#host(host);
    const c = this.#find(h, nameOrId);
    if (!c) return;
    this.ops.push(`remove ${host} ${c.name}`);
    h.containers.delete(c.id);
  }

  async logs(host: string, nameOrId: string, _tail: number, signal?: AbortSignal): Promise<string> {
    checkSignal(signal);
    const c = this.#find(this.#host(host), nameOrId);
    return c?.outcome === "exit" ? "starting\nboom\n" : "";
  }

  /** Takes `<dataDir>/<app>/lock` for `session`; returns the token that releases it. */
  async lock(host: string, dataDir: string, app: string, holder: string, session: number, signal?: AbortSignal): Promise<string> {
    checkSignal(signal);
    const h = this.#host(host);
    const path = `${dataDir}/${app}/lock`;
    const held = h.locks.get(path);
    if (held) {
      throw new SdxError("SDX_BACKEND_CONFLICT", `host ${host}: ${app} is locked by another deploy (${held.holder})`, {
        fault: "user", hint: "Wait for it to finish; a killed deploy releases the lock when its SSH connection closes.",
      });
    }
    const token = `lock-${++this.#n}`;
    h.locks.set(path, { holder, session, token });
    return token;
  }

  async unlock(host: string, token: string, signal?: AbortSignal): Promise<void> {
    checkSignal(signal);
    const h = this.#host(host);
    for (const [path, l] of h.locks) if (l.token === token) h.locks.delete(path);
  }

  async audit(host: string, dataDir: string, entry: AuditEntry, signal?: AbortSignal): Promise<void> {
    checkSignal(signal);
    const h = this.#host(host);
    const path = `${dataDir}/${entry.app}/audit.log`;
    const prev = h.files.get(path)?.content ?? "";
    h.files.set(path, { content: `${prev}${JSON.stringify(entry)}\n`, mode: 0o640 });
  }

  async readAudit(host: string, dataDir: string, app: string, signal?: AbortSignal): Promise<AuditEntry[]> {
    checkSignal(signal);
    const text = this.#host(host).files.get(`${dataDir}/${app}/audit.log`)?.content ?? "";
    return text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as AuditEntry);
  }

  /** Remote commands outside the DockerHost port: the backend runs none, so any is refused (a test sees it fail). */
  async exec(host: string, argv: readonly string[], signal?: AbortSignal): Promise<ExecResult> {
    checkSignal(signal);
    this.#host(host);
    return { code: 127, stdout: "", stderr: `fake host ${host}: command not supported: ${argv.join(" ")}\n` };
  }
}

/** A {@link ConnectHost} onto `fake` (the fake itself, or the fake wrapped by `injectFaults`): `exec` goes to its `exec`. */
export function fakeConnect(fake: FakeDockerHosts): ConnectHost {
  return async (host: HostSpec): Promise<HostConnection> => {
    const session = fake.sessions.connect();
    let open = true;
    const exec = (argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> => {
      if (!open) return Promise.reject(new SdxError("SDX_BACKEND_UNREACHABLE", `host ${host.name}: the SSH connection is closed`, { fault: "backend" }));
      return fake.exec(host.name, argv, options.signal);
    };
    const connection: HostConnection & { session: number } = {
      host,
      session,
      exec,
      script: async (program) => ({ code: 127, stdout: "", stderr: `fake host ${host.name}: scripts are not supported: ${program}\n` }),
      close: () => {
        if (!open) return;
        open = false;
        fake.sessions.close(session);
      },
    };
    return connection;
  };
}

/**
 * The DockerHost contract on `fake` for the connection's host: every call
 * delegates to the fake's method of the same name (so a fault wrapper around
 * the fake faults it). The lock is tied to the connection's SSH session.
 */
export function dockerHostFor(fake: FakeDockerHosts, connection: HostConnection): DockerHost {
  const name = connection.host.name;
  const session = (connection as HostConnection & { session?: number }).session ?? 0;
  return {
    host: connection.host,
    connection,
    info: (signal) => fake.info(name, signal),
    listContainers: (app, names, signal) => fake.listContainers(name, app, names ?? [], signal),
    inspectContainer: (id, signal) => fake.inspectContainer(name, id, signal),
    hasImage: (image, signal) => fake.hasImage(name, image, signal),
    pull: (image, signal) => fake.pull(name, image, signal),
    load: (archive, signal) => fake.load(name, archive, signal),
    ensureNetwork: (n, labels, signal) => fake.ensureNetwork(name, n, labels, signal),
    removeNetwork: (n, signal) => fake.removeNetwork(name, n, signal),
    writeFiles: (files, signal) => fake.writeFiles(name, files, signal),
    ensureDirs: (paths, signal) => fake.ensureDirs(name, paths, signal),
    removePaths: (paths, underDir, signal) => fake.removePaths(name, paths, underDir, signal),
    listDir: (path, signal) => fake.listDir(name, path, signal),
    run: (spec, signal) => fake.run(name, spec, signal),
    start: (id, signal) => fake.start(name, id, signal),
    stop: (id, timeout, signal) => fake.stop(name, id, timeout, signal),
    remove: (id, signal) => fake.remove(name, id, signal),
    logs: (id, tail, signal) => fake.logs(name, id, tail, signal),
    lock: async (dataDir, app, holder, signal) => {
      const token = await fake.lock(name, dataDir, app, holder, session, signal);
      return () => fake.unlock(name, token);
    },
    audit: (dataDir, entry, signal) => fake.audit(name, dataDir, entry, signal),
    readAudit: (dataDir, app, signal) => fake.readAudit(name, dataDir, app, signal),
  };
}

/** Host names of the test target (test/conformance.spec.ts labels h2 `role: edge`). */
export const FAKE_HOSTS = ["h1", "h2"] as const;

/**
 * A fake with neighbours sdx must never touch: another sdx app's container,
 * network and files; a hand-made container with no labels; one that claims
 * the `shop` app label without sdx's managed-by label; a stopped hand-made one.
 */
export function hostsWithNeighbours(app = "shop"): FakeDockerHosts {
  const fake = new FakeDockerHosts(FAKE_HOSTS);
  const h1 = fake.hosts.get("h1")!;
  h1.networks.set("sdx-other", { "app.kubernetes.io/managed-by": "sdx", "sdx.dev/app": "other" });
  fake.addContainer("h1", {
    name: "other-web-0-0123456789ab", network: "sdx-other", ports: ["9000/tcp"],
    labels: { "app.kubernetes.io/managed-by": "sdx", "sdx.dev/app": "other", "sdx.dev/service": "web", "sdx.dev/slot": "0", "sdx.dev/revision": "0123456789ab" },
  });
  h1.files.set("/var/lib/sdx/other/services/web/file-0011223344556677-index.html", { content: "<h1>other</h1>", mode: 0o444 });
  h1.files.set("/var/lib/sdx/other/audit.log", { content: `${JSON.stringify({ at: "2025-12-01T00:00:00.000Z", action: "deploy", outcome: "succeeded", app: "other", by: "ops@box" })}\n`, mode: 0o640 });
  h1.dirs.add("/var/lib/sdx/other/volumes/web/data");
  fake.addContainer("h1", { name: "postgres", image: "docker.io/library/postgres:17", ports: ["5432/tcp"] });
  fake.addContainer("h2", { name: `${app}-imposter`, labels: { "sdx.dev/app": app, "sdx.dev/service": "web", "sdx.dev/slot": "0" } });
  fake.addContainer("h2", { name: "nightly-cron", state: "exited" });
  fake.hosts.get("h2")!.files.set("/etc/motd", { content: "hand-made\n", mode: 0o644 });
  return fake;
}
