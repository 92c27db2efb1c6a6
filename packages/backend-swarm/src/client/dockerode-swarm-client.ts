import { readFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { SdxError, withRetry } from "@sdx/sdk";
import type { SwarmTarget } from "../swarm-target.js";
import { BASE_API_VERSION, compareApiVersions, MAX_API_VERSION } from "./api-version.js";
import { dockerStatus, isRetryableDockerError, mapSwarmError } from "./map-swarm-error.js";
import type { SwarmClient, SwarmNetwork, SwarmObject, SwarmService, SwarmTask, TaskFilter } from "./swarm-client.js";

/** Options for {@link connectSwarm}. */
export interface ConnectSwarmOptions {
  /** Speak this API version instead of negotiating (like DOCKER_API_VERSION). @default negotiated: min(engine, MAX_API_VERSION) */
  readonly apiVersion?: string;
  /** Environment for DOCKER_HOST, DOCKER_API_VERSION. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Milliseconds to wait for the engine to accept a connection. @default 3000 */
  readonly connectTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

type DockerOptions = Docker.DockerOptions & { connectionTimeout?: number };

/** Parses a DOCKER_HOST-style address into dockerode options. */
export function dockerOptionsFor(host: string, tlsDir: string | undefined, read: (p: string) => Buffer = readFileSync): DockerOptions {
  if (host.startsWith("unix://")) return { socketPath: host.slice("unix://".length) };
  if (host.startsWith("npipe://")) return { socketPath: host.slice("npipe://".length) };
  const m = /^(tcp|http|https):\/\/([^/:]+|\[[^\]]+\]):?(\d+)?\/?$/.exec(host);
  if (!m) {
    throw new SdxError("SDX_VALIDATION", `cannot read the Docker host "${host}"`, { fault: "user", hint: "Use unix:///var/run/docker.sock, tcp://host:2376 (with tlsDir) or tcp://host:2375." });
  }
  const tls = tlsDir !== undefined || m[1] === "https";
  const opts: DockerOptions = { host: m[2]!.replace(/^\[|\]$/g, ""), port: Number(m[3] ?? (tls ? 2376 : 2375)), protocol: tls ? "https" : "http" };
  if (tlsDir) {
    try {
      return { ...opts, ca: read(join(tlsDir, "ca.pem")), cert: read(join(tlsDir, "cert.pem")), key: read(join(tlsDir, "key.pem")) };
    } catch (e) {
      throw new SdxError("SDX_BACKEND_AUTH", `cannot read TLS material in ${tlsDir}`, { fault: "user", cause: e, hint: "tlsDir must hold ca.pem, cert.pem and key.pem." });
    }
  }
  return opts;
}

/** The engine address the target names: its host, else DOCKER_HOST, else the local socket. */
export function engineAddress(target: Pick<SwarmTarget, "host">, env: Readonly<Record<string, string | undefined>>): string {
  return target.host || env.DOCKER_HOST || "unix:///var/run/docker.sock";
}

/**
 * Connects to the engine the target names and negotiates the API version:
 * reads the unversioned `/version`, speaks min(engine, {@link MAX_API_VERSION})
 * unless pinned, then checks with `/info` that the engine accepts that version
 * and is a swarm manager. Fails fast with `SDX_BACKEND_UNREACHABLE` when
 * nothing answers.
 */
export async function connectSwarm(target: Pick<SwarmTarget, "host" | "tlsDir">, options: ConnectSwarmOptions = {}): Promise<SwarmClient> {
  const env = options.env ?? process.env;
  const where = engineAddress(target, env);
  const base = { ...dockerOptionsFor(where, target.tlsDir ?? (env.DOCKER_TLS_VERIFY && env.DOCKER_CERT_PATH ? env.DOCKER_CERT_PATH : undefined)), connectionTimeout: options.connectTimeoutMs ?? 3000 };
  const probe = new Docker({ ...base, timeout: (options.connectTimeoutMs ?? 3000) + 2000 } as Docker.DockerOptions);
  let engineApi: string;
  let minApi: string;
  try {
    const v = (await (probe.version as (o: object) => Promise<unknown>).call(probe, options.signal ? { abortSignal: options.signal } : {})) as { ApiVersion: string; MinAPIVersion?: string };
    engineApi = v.ApiVersion;
    minApi = v.MinAPIVersion ?? "1.12";
  } catch (e) {
    throw mapSwarmError(e, "report its version", where);
  }
  const pinned = options.apiVersion ?? env.DOCKER_API_VERSION;
  if (!pinned && compareApiVersions(engineApi, BASE_API_VERSION) < 0) {
    throw new SdxError("SDX_BACKEND_UNSUPPORTED", `the Docker Engine at ${where} speaks API ${engineApi}; sdx needs ${BASE_API_VERSION} (Docker 20.10) or newer`, {
      fault: "user", details: { engineApiVersion: engineApi }, hint: "Upgrade the engine to Docker 20.10 or later.",
    });
  }
  const apiVersion = pinned ?? (compareApiVersions(engineApi, MAX_API_VERSION) > 0 ? MAX_API_VERSION : engineApi);
  const docker = new Docker({ ...base, version: `v${apiVersion}` } as Docker.DockerOptions);
  let info: { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } };
  try {
    info = (await docker.info()) as typeof info;
  } catch (e) {
    // `/info` takes no parameters, so a 400 here can only be the version in the path.
    if (dockerStatus(e) === 400) {
      throw new SdxError("SDX_BACKEND_UNSUPPORTED", `the Docker Engine at ${where} rejected API version ${apiVersion}: it supports ${minApi} to ${engineApi}`, {
        fault: "user", cause: e, details: { apiVersion, engineApiVersion: engineApi, minApiVersion: minApi },
        hint: pinned ? `Unset DOCKER_API_VERSION (or the pinned apiVersion) to negotiate, or pin one between ${minApi} and ${engineApi}.` : "Upgrade the engine.",
      });
    }
    throw mapSwarmError(e, "report its state", where);
  }
  const swarm = info.Swarm;
  if (swarm?.LocalNodeState !== "active") {
    throw new SdxError("SDX_BACKEND_UNSUPPORTED", `the Docker Engine at ${where} is not in swarm mode (state: ${swarm?.LocalNodeState || "unknown"})`, {
      fault: "user", details: { localNodeState: swarm?.LocalNodeState }, hint: "Run `docker swarm init` on it (or `docker swarm join` it to a swarm), then retry.",
    });
  }
  if (swarm.ControlAvailable !== true) {
    throw new SdxError("SDX_BACKEND_UNSUPPORTED", `the Docker Engine at ${where} is a swarm worker, not a manager`, { fault: "user", hint: "Point the target's host at a manager node (`docker node ls` there lists managers)." });
  }
  return new DockerodeSwarmClient(docker, apiVersion, where, options.signal);
}

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
const labelFilter = (label: string | undefined): string | undefined => (label ? JSON.stringify({ label: [label] }) : undefined);

/** {@link SwarmClient} over dockerode. Every call maps its failure to an SdxError. */
export class DockerodeSwarmClient implements SwarmClient {
  constructor(
    private readonly docker: Docker,
    readonly apiVersion: string,
    private readonly where: string,
    private readonly signal: AbortSignal | undefined,
  ) {}

  private async call<T>(doing: string, fn: () => Promise<T>, idempotent = false): Promise<T> {
    try {
      return idempotent ? await withRetry(fn, { retryable: isRetryableDockerError, attempts: 3, ...(this.signal ? { signal: this.signal } : {}) }) : await fn();
    } catch (e) {
      throw mapSwarmError(e, doing, this.where);
    }
  }

  listServices(label?: string): Promise<SwarmService[]> {
    const filters = labelFilter(label);
    return this.call("list services", async () => (await this.docker.listServices(filters ? { filters } : {})) as unknown as SwarmService[], true);
  }

  async inspectService(idOrName: string): Promise<SwarmService | undefined> {
    try {
      return (await this.docker.getService(idOrName).inspect()) as SwarmService;
    } catch (e) {
      if (dockerStatus(e) === 404) return undefined;
      throw mapSwarmError(e, `inspect service ${idOrName}`, this.where);
    }
  }

  createService(spec: Record<string, unknown>): Promise<string> {
    // No auth config: the engine (API >= 1.30) then does no registry lookup.
    return this.call(`create service ${String(spec.Name)}`, async () => (await this.docker.createService(spec as never)).id as string);
  }

  updateService(id: string, version: number, spec: Record<string, unknown>, options: { rollback?: boolean } = {}): Promise<void> {
    const _query = { version, ...(options.rollback ? { rollback: "previous" } : {}) };
    return this.call(`update service ${String(spec.Name ?? id)}`, async () => {
      await this.docker.getService(id).update({ _query, _body: spec } as never);
    });
  }

  removeService(id: string): Promise<void> {
    return this.call(`remove service ${id}`, async () => {
      await this.docker.getService(id).remove();
    });
  }

  listTasks(filter: TaskFilter): Promise<SwarmTask[]> {
    const filters = JSON.stringify({ service: [filter.service], ...(filter.upToDate ? { "_up-to-date": ["true"] } : {}) });
    return this.call("list tasks", async () => (await this.docker.listTasks({ filters })) as unknown as SwarmTask[], true);
  }

  listSecrets(): Promise<SwarmObject[]> {
    return this.call("list secrets", async () => (await this.docker.listSecrets()) as unknown as SwarmObject[], true);
  }

  createSecret(spec: { Name: string; Labels: Record<string, string>; data: string }): Promise<string> {
    return this.call(`create secret ${spec.Name}`, async () => (await this.docker.createSecret({ Name: spec.Name, Labels: spec.Labels, Data: b64(spec.data) } as never)).id as string);
  }

  removeSecret(id: string): Promise<void> {
    return this.call(`remove secret ${id}`, async () => {
      await this.docker.getSecret(id).remove();
    });
  }

  listConfigs(): Promise<SwarmObject[]> {
    return this.call("list configs", async () => (await this.docker.listConfigs()) as unknown as SwarmObject[], true);
  }

  createConfig(spec: { Name: string; Labels: Record<string, string>; data: string }): Promise<string> {
    return this.call(`create config ${spec.Name}`, async () => (await this.docker.createConfig({ Name: spec.Name, Labels: spec.Labels, Data: b64(spec.data) } as never)).id as string);
  }

  removeConfig(id: string): Promise<void> {
    return this.call(`remove config ${id}`, async () => {
      await this.docker.getConfig(id).remove();
    });
  }

  listNetworks(): Promise<SwarmNetwork[]> {
    return this.call("list networks", async () => (await this.docker.listNetworks({ filters: JSON.stringify({ driver: ["overlay"] }) })) as unknown as SwarmNetwork[], true);
  }

  createNetwork(spec: Record<string, unknown>): Promise<string> {
    return this.call(`create network ${String(spec.Name)}`, async () => (await this.docker.createNetwork({ ...spec, CheckDuplicate: true } as never)).id);
  }

  removeNetwork(id: string): Promise<void> {
    return this.call(`remove network ${id}`, async () => {
      await this.docker.getNetwork(id).remove();
    });
  }
}
