import type { HostSpec } from "../hosts-target.js";
import type { HostConnection } from "./host-connection.js";

/**
 * A container as sdx asks Docker to run it: everything `docker run` needs,
 * with no secret value (secrets reach the host as files first, see
 * {@link HostFile}; env secrets through an env file named in `envFiles`).
 */
export interface ContainerSpec {
  /** Docker container name, unique on the host. */
  readonly name: string;
  /** `repo@sha256:…` to pull by digest, or `sha256:<config digest>` for an image streamed over SSH. */
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string>>;
  /** Absolute paths on the host of env files (0400) holding secret variables. */
  readonly envFiles: readonly string[];
  /** Replaces the image's entrypoint. */
  readonly entrypoint?: readonly string[];
  /** Replaces the image's command. */
  readonly command?: readonly string[];
  /** `-p hostPort:containerPort/proto` on every address of the host. */
  readonly ports: readonly { readonly host: number; readonly container: number; readonly protocol: "tcp" | "udp" }[];
  /** Bind mounts (files and persistent directories under the app's data dir) and anonymous volumes (ephemeral, `source` absent). */
  readonly mounts: readonly { readonly source?: string; readonly target: string; readonly readOnly: boolean }[];
  /** The app's network on this host (a user-defined bridge), with network aliases. */
  readonly network: string;
  readonly aliases: readonly string[];
  readonly health?: {
    /** Docker's `CMD` form: argv run inside the container. */
    readonly test: readonly string[];
    readonly intervalSeconds: number;
    readonly timeoutSeconds: number;
    readonly retries: number;
    readonly startPeriodSeconds: number;
  };
  /** `--cpus` (millicores / 1000), only when the model sets a limit. */
  readonly cpuLimitMillis?: number;
  /** `--memory`, only when the model sets a limit. */
  readonly memoryLimitMiB?: number;
  /** @default "unless-stopped" */
  readonly restart: "unless-stopped" | "no";
  readonly user?: string;
}

/** A container sdx sees on a host (any container with this app's ownership labels, or with a name sdx wants). */
export interface ObservedContainer {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  /** Image ID the container runs (`sha256:…`, the config digest). */
  readonly imageId: string;
  readonly labels: Readonly<Record<string, string>>;
  /** `created`, `running`, `exited`, `restarting`, `paused`, `dead`… as Docker reports it. */
  readonly state: string;
  /** `healthy`, `unhealthy`, `starting`, or undefined without a health check. */
  readonly health?: string;
  readonly exitCode: number;
  readonly restartCount: number;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  /** Docker's error when the container could not start (bad command, port in use). */
  readonly error?: string;
  /** The last health check outputs, newest last (for a failure's reason). */
  readonly healthLog: readonly string[];
  /** Host paths bind-mounted into the container (files and volume directories), for garbage collection. */
  readonly mounts: readonly string[];
}

/** A file sdx writes on a host before containers mount it. */
export interface HostFile {
  /** Absolute path on the host. */
  readonly path: string;
  /** The content; a secret's content is revealed only here, on its way into stdin. */
  readonly content: string | Uint8Array;
  /** 0o400 for secrets, 0o444 for config files. */
  readonly mode: number;
}

/** Facts about one host's engine, for placement and images. */
export interface HostInfo {
  readonly engineId: string;
  readonly cpuMillis: number;
  readonly memoryMiB: number;
  /** `amd64` or `arm64` (from Docker's `x86_64` / `aarch64`). */
  readonly arch: string;
  readonly serverVersion: string;
}

/** One line of a host's audit log (JSON Lines, append-only, `<dataDir>/<app>/audit.log`). */
export interface AuditEntry {
  /** ISO 8601. */
  readonly at: string;
  readonly action: "deploy" | "rollback" | "destroy";
  readonly outcome: "started" | "succeeded" | "failed" | "rolled-back" | "aborted";
  readonly app: string;
  /** The app revision deployed (12 hex). */
  readonly revision?: string;
  /** Who ran it: `user@machine`. */
  readonly by: string;
  /** Service → service revision, on this host. */
  readonly services?: Readonly<Record<string, string>>;
  readonly message?: string;
}

/**
 * Docker on one host, driven over an SSH connection with the docker CLI.
 * Every method throws `SdxError` (code `SDX_BACKEND_*`) on failure; the
 * message names the host.
 */
export interface DockerHost {
  readonly host: HostSpec;
  readonly connection: HostConnection;
  info(signal?: AbortSignal): Promise<HostInfo>;
  /** Containers with label `sdx.dev/app=<app>` plus any named in `names`, stopped ones too. */
  listContainers(app: string, names?: readonly string[], signal?: AbortSignal): Promise<ObservedContainer[]>;
  inspectContainer(nameOrId: string, signal?: AbortSignal): Promise<ObservedContainer | undefined>;
  /** True when the image (by `repo@digest` or `sha256:` ID) is present on the host. */
  hasImage(image: string, signal?: AbortSignal): Promise<boolean>;
  /** `docker pull repo@sha256:…`. */
  pull(image: string, signal?: AbortSignal): Promise<void>;
  /** `docker load` of a docker-archive tar read from `archive`; returns the loaded image IDs (`sha256:…`). */
  load(archive: import("node:stream").Readable, signal?: AbortSignal): Promise<string[]>;
  /** Creates the app network if missing (labelled as the app's). */
  ensureNetwork(name: string, labels: Readonly<Record<string, string>>, signal?: AbortSignal): Promise<void>;
  removeNetwork(name: string, signal?: AbortSignal): Promise<void>;
  /** Writes files atomically with their mode, creating parent directories (0700). Content goes through stdin. */
  writeFiles(files: readonly HostFile[], signal?: AbortSignal): Promise<void>;
  /** Creates directories (0700) for persistent volumes; existing ones are kept with their data. */
  ensureDirs(paths: readonly string[], signal?: AbortSignal): Promise<void>;
  /** Removes paths under the data dir (`rm -rf`); refuses anything outside `underDir`. */
  removePaths(paths: readonly string[], underDir: string, signal?: AbortSignal): Promise<void>;
  /** Lists the entries of a directory (names only); [] when it does not exist. */
  listDir(path: string, signal?: AbortSignal): Promise<string[]>;
  /** `docker run -d` with the spec; returns the container ID. */
  run(spec: ContainerSpec, signal?: AbortSignal): Promise<string>;
  start(nameOrId: string, signal?: AbortSignal): Promise<void>;
  /** `docker stop -t <seconds>`; a container already stopped is fine. */
  stop(nameOrId: string, timeoutSeconds: number, signal?: AbortSignal): Promise<void>;
  /** `docker rm -f`; a missing container is fine. */
  remove(nameOrId: string, signal?: AbortSignal): Promise<void>;
  /** Last lines of a container's output (stdout and stderr), for a failure's reason. */
  logs(nameOrId: string, tail: number, signal?: AbortSignal): Promise<string>;
  /**
   * Takes the app's lock on this host (`flock` on `<dataDir>/<app>/lock`, held
   * by a remote process for as long as the returned release is not called and
   * the SSH connection lives: a killed sdx releases it). Throws
   * `SDX_BACKEND_CONFLICT` naming the holder when another deploy holds it.
   */
  lock(dataDir: string, app: string, holder: string, signal?: AbortSignal): Promise<() => Promise<void>>;
  /** Appends one line to `<dataDir>/<app>/audit.log` (0640, O_APPEND). */
  audit(dataDir: string, entry: AuditEntry, signal?: AbortSignal): Promise<void>;
  /** The audit log's entries, oldest first ([] when none). */
  readAudit(dataDir: string, app: string, signal?: AbortSignal): Promise<AuditEntry[]>;
}
