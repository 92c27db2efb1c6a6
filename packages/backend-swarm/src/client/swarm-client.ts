/**
 * The thin port between the backend and the Docker Engine API. Only the fields
 * sdx reads are typed; everything else passes through untouched.
 */

/** A Swarm object's version, for optimistic concurrency. */
export interface SwarmVersion {
  readonly Index: number;
}

/** `UpdateStatus` of a service (absent until its first update). */
export interface SwarmUpdateStatus {
  readonly State?: "updating" | "paused" | "completed" | "rollback_started" | "rollback_paused" | "rollback_completed" | string;
  readonly StartedAt?: string;
  readonly CompletedAt?: string;
  readonly Message?: string;
}

/** A service as `GET /services` returns it. */
export interface SwarmService {
  readonly ID: string;
  readonly Version: SwarmVersion;
  readonly Spec: Record<string, unknown> & { readonly Name: string; readonly Labels?: Record<string, string> };
  readonly PreviousSpec?: Record<string, unknown>;
  readonly UpdateStatus?: SwarmUpdateStatus;
  readonly Endpoint?: { readonly Ports?: readonly { readonly TargetPort?: number; readonly PublishedPort?: number; readonly PublishMode?: string }[] };
}

/** A task as `GET /tasks` returns it. */
export interface SwarmTask {
  readonly ID: string;
  readonly ServiceID: string;
  readonly Slot?: number;
  readonly NodeID?: string;
  readonly DesiredState: string;
  readonly Status: {
    readonly Timestamp?: string;
    readonly State: string;
    readonly Message?: string;
    readonly Err?: string;
    readonly ContainerStatus?: { readonly ExitCode?: number };
    readonly PortStatus?: { readonly Ports?: readonly { readonly TargetPort?: number; readonly PublishedPort?: number; readonly Protocol?: string }[] };
  };
  readonly CreatedAt?: string;
  /** The task's own copy of the service's task template: which secrets and configs its container mounts. */
  readonly Spec?: { readonly ContainerSpec?: ContainerRefs };
}

/** The secret and config references of a container spec, as services and tasks carry them. */
export interface ContainerRefs {
  readonly Secrets?: readonly { readonly SecretID?: string; readonly SecretName?: string }[];
  readonly Configs?: readonly { readonly ConfigID?: string; readonly ConfigName?: string }[];
}

/** A secret or config (their list shapes are the same for what sdx reads). */
export interface SwarmObject {
  readonly ID: string;
  readonly Version?: SwarmVersion;
  readonly Spec: { readonly Name: string; readonly Labels?: Record<string, string> };
}

/** A network as `GET /networks` returns it. */
export interface SwarmNetwork {
  readonly Id: string;
  readonly Name: string;
  readonly Driver?: string;
  readonly Scope?: string;
  readonly Attachable?: boolean;
  readonly Labels?: Record<string, string>;
}

/** Filters for task listing. */
export interface TaskFilter {
  readonly service: string;
  /** Only tasks running the service's current spec (the engine's `_up-to-date` filter, as `docker service ps` uses). */
  readonly upToDate?: boolean;
}

/** What the backend needs from a Docker Engine in swarm mode. */
export interface SwarmClient {
  /** The API version requests use, e.g. `1.41`. */
  readonly apiVersion: string;
  listServices(labelFilter?: string): Promise<SwarmService[]>;
  /** By ID or name; undefined when absent. */
  inspectService(idOrName: string): Promise<SwarmService | undefined>;
  /** Creates a service without registry resolution. Returns its ID. */
  createService(spec: Record<string, unknown>): Promise<string>;
  /** Updates a service at `version`; with `rollback` asks the engine to return to the previous spec. */
  updateService(id: string, version: number, spec: Record<string, unknown>, options?: { rollback?: boolean }): Promise<void>;
  removeService(id: string): Promise<void>;
  listTasks(filter: TaskFilter): Promise<SwarmTask[]>;
  listSecrets(): Promise<SwarmObject[]>;
  /** `data` is the plain value; the client encodes it. */
  createSecret(spec: { Name: string; Labels: Record<string, string>; data: string }): Promise<string>;
  removeSecret(id: string): Promise<void>;
  listConfigs(): Promise<SwarmObject[]>;
  createConfig(spec: { Name: string; Labels: Record<string, string>; data: string }): Promise<string>;
  removeConfig(id: string): Promise<void>;
  listNetworks(): Promise<SwarmNetwork[]>;
  createNetwork(spec: Record<string, unknown>): Promise<string>;
  removeNetwork(id: string): Promise<void>;
}
