import { posix } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { SdxError, throwIfAborted, toSdxError, type Fault, type SdxErrorCode } from "@sdx/sdk";
import type { HostSpec } from "../hosts-target.js";
import type { AuditEntry, ContainerSpec, DockerHost, HostFile, HostInfo, ObservedContainer } from "./docker-host.js";
import { shellQuote, type ExecResult, type HostConnection } from "./host-connection.js";

/** The label every container and network of an app carries; `listContainers` selects by it. */
export const APP_LABEL = "sdx.dev/app";

/**
 * Above this many bytes of quoted `docker run` argv, plain env values move into
 * a temporary env file: the command travels in one SSH channel request, and
 * servers cap packet sizes (OpenSSH at 256 KiB).
 * @default 65536
 */
export const RUN_ARGV_LIMIT = 64 * 1024;

/** How many health check outputs {@link ObservedContainer.healthLog} keeps. */
const HEALTH_LOG_KEEP = 3;

/** Exit code of the lock program when another process holds the lock (BSD's EX_TEMPFAIL). */
const LOCK_BUSY = 75;
/** Exit code of the engine probe when `docker` runs but its engine does not answer (EX_UNAVAILABLE). */
const ENGINE_DOWN = 69;
/** The shell's exit code for a command it cannot find. */
const NOT_FOUND = 127;

/** Docker's zero time, which it reports for "never" (a container not started yet). */
const ZERO_TIME = "0001-01-01T";

/** Container names Docker accepts; anything else cannot exist, so it is never asked for. */
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** App names become a directory under the data dir: one path segment, never `.` or `..`. */
const APP_DIR_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Docker on one host, driven with the docker CLI over an SSH connection: every
 * engine answer is `docker inspect` JSON, never a `--format` template filled
 * with user data, and a failure is classified by exit code and a follow-up
 * question to the engine (does the name exist, does the engine answer), never
 * by docker's message text, which only goes into messages for people.
 */
export function createDockerHost(connection: HostConnection): DockerHost {
  return new CliDockerHost(connection);
}

class CliDockerHost implements DockerHost {
  readonly host: HostSpec;

  constructor(readonly connection: HostConnection) {
    this.host = connection.host;
  }

  async info(signal?: AbortSignal): Promise<HostInfo> {
    // A fixed template: the whole info object as JSON, no user data in it.
    const r = await this.docker(["info", "--format", "{{json .}}"], signal);
    if (r.code === 0) {
      const info = tryParseHostInfo(r.stdout);
      if (info) return info;
    }
    throw await this.failure("info", r, signal);
  }

  async listContainers(app: string, names: readonly string[] = [], signal?: AbortSignal): Promise<ObservedContainer[]> {
    // Filters of one key are OR'ed by Docker, so all names go in one `docker ps`; the label one is separate (different keys AND).
    const nameFilters = [...new Set(names)].filter((n) => CONTAINER_NAME.test(n)).flatMap((n) => ["--filter", `name=^/${n.replaceAll(".", "\\.")}$`]);
    const ps = await this.connection.script(
      'docker ps -a -q --no-trunc --filter "$1" || exit; shift; [ "$#" -eq 0 ] || docker ps -a -q --no-trunc "$@"',
      [`label=${APP_LABEL}=${app}`, ...nameFilters],
      { signal },
    );
    if (ps.code !== 0) throw await this.failure("ps", ps, signal);
    const ids = [...new Set(ps.stdout.split("\n").map((l) => l.trim()).filter(Boolean))];
    if (ids.length === 0) return [];
    const r = await this.docker(["container", "inspect", "--", ...ids], signal);
    // A container removed between `ps` and `inspect` makes docker exit 1 with the others still printed.
    if (r.code !== 0) await this.requireEngine("container inspect", r, signal);
    return parseContainers(r.stdout.trim() === "" ? "[]" : r.stdout);
  }

  async inspectContainer(nameOrId: string, signal?: AbortSignal): Promise<ObservedContainer | undefined> {
    const r = await this.docker(["container", "inspect", "--", nameOrId], signal);
    if (r.code === 0) return parseContainers(r.stdout)[0];
    await this.requireEngine("container inspect", r, signal);
    return undefined;
  }

  async hasImage(image: string, signal?: AbortSignal): Promise<boolean> {
    const r = await this.docker(["image", "inspect", "--", image], signal);
    if (r.code === 0) return parseJsonArray(r.stdout).length > 0;
    await this.requireEngine("image inspect", r, signal);
    return false;
  }

  async pull(image: string, signal?: AbortSignal): Promise<void> {
    const r = await this.docker(["pull", "-q", image], signal);
    if (r.code === 0) return;
    // Docker exits 1 for a missing manifest, a refused login and an unreachable registry alike: no robust way to tell them apart.
    throw await this.failure("pull", r, signal, {
      hint: `Check that ${image} exists in its registry, that the host reaches the registry, and that it is logged in there (\`docker login\` on the host) if the repository is private.`,
      details: { image },
    });
  }

  async load(archive: Readable, signal?: AbortSignal): Promise<string[]> {
    const r = await this.docker(["load"], signal, archive);
    if (r.code !== 0) throw await this.failure("load", r, signal);
    const loaded = parseLoadOutput(r.stdout);
    const ids = [...loaded.ids];
    if (loaded.names.length) {
      const named = await this.docker(["image", "inspect", "--", ...loaded.names], signal);
      if (named.code !== 0) throw await this.failure("image inspect", named, signal);
      ids.push(...parseJsonArray(named.stdout).map((i) => String((i as { Id?: unknown }).Id)));
    }
    const unique = [...new Set(ids)];
    if (unique.length === 0) {
      throw this.error("SDX_BACKEND_ERROR", "backend", `docker load on ${this.where()} reported no image`, { details: { stdout: lastLine(r.stdout) } });
    }
    return unique;
  }

  async ensureNetwork(name: string, labels: Readonly<Record<string, string>>, signal?: AbortSignal): Promise<void> {
    if (await this.networkExists(name, signal)) return;
    const argv = ["network", "create", "--driver", "bridge", ...sortedEntries(labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]), name];
    const r = await this.docker(argv, signal);
    if (r.code === 0) return;
    // Another deploy created it meanwhile: the network is there, which is what was asked.
    if (await this.networkExists(name, signal)) return;
    throw await this.failure("network create", r, signal, { details: { network: name } });
  }

  async removeNetwork(name: string, signal?: AbortSignal): Promise<void> {
    const r = await this.docker(["network", "rm", name], signal);
    if (r.code === 0) return;
    const net = await this.inspectNetwork(name, signal);
    if (!net) return;
    const attached = Object.values(net.Containers ?? {}).map((c) => c.Name).filter((n): n is string => typeof n === "string");
    if (attached.length) {
      throw this.error("SDX_BACKEND_CONFLICT", "user", `docker network rm ${name} on ${this.where()} refused: containers are still attached (${attached.join(", ")})`, {
        hint: "Remove those containers first (they may belong to something other than sdx), then re-run.",
        details: { network: name, attached, stderr: lastLine(r.stderr) },
      });
    }
    throw await this.failure("network rm", r, signal, { details: { network: name } });
  }

  async writeFiles(files: readonly HostFile[], signal?: AbortSignal): Promise<void> {
    for (const f of files) requireAbsolute(f.path, "file path");
    // One command per file keeps the protocol trivial; the content (secrets too) only ever travels on stdin.
    for (const f of files) {
      throwIfAborted(signal);
      const mode = (f.mode & 0o7777).toString(8).padStart(3, "0");
      const r = await this.connection.script(WRITE_FILE, [f.path, mode], { stdin: f.content, signal });
      if (r.code !== 0) {
        throw this.error("SDX_BACKEND_ERROR", "backend", `writing ${f.path} on ${this.where()} failed (exit ${r.code}): ${lastLine(r.stderr) || "no message"}`, {
          hint: "Check free space and permissions under the target's dataDir on the host.",
          details: { path: f.path, exitCode: r.code, stderr: lastLine(r.stderr) },
        });
      }
    }
  }

  async ensureDirs(paths: readonly string[], signal?: AbortSignal): Promise<void> {
    if (paths.length === 0) return;
    for (const p of paths) requireAbsolute(p, "directory");
    const r = await this.connection.script('umask 077; mkdir -p -- "$@"', paths, { signal });
    if (r.code !== 0) {
      throw this.error("SDX_BACKEND_ERROR", "backend", `mkdir -p on ${this.where()} failed (exit ${r.code}): ${lastLine(r.stderr) || "no message"}`, {
        hint: "Check free space and permissions under the target's dataDir on the host.",
        details: { paths, exitCode: r.code, stderr: lastLine(r.stderr) },
      });
    }
  }

  async removePaths(paths: readonly string[], underDir: string, signal?: AbortSignal): Promise<void> {
    const outside = paths.filter((p) => !isStrictlyUnder(p, underDir));
    if (outside.length) {
      throw new SdxError("SDX_INTERNAL", `refusing to remove ${outside.join(", ")} on ${this.where()}: not strictly under ${underDir}`, {
        fault: "internal", details: { paths: outside, underDir, host: this.host.name },
      });
    }
    if (paths.length === 0) return;
    const r = await this.connection.script('rm -rf -- "$@"', paths, { signal });
    if (r.code !== 0) {
      throw this.error("SDX_BACKEND_ERROR", "backend", `rm -rf on ${this.where()} failed (exit ${r.code}): ${lastLine(r.stderr) || "no message"}`, {
        details: { paths, exitCode: r.code, stderr: lastLine(r.stderr) },
      });
    }
  }

  async listDir(path: string, signal?: AbortSignal): Promise<string[]> {
    requireAbsolute(path, "directory");
    const r = await this.connection.script(LIST_DIR, [path], { signal });
    if (r.code !== 0) {
      throw this.error("SDX_BACKEND_ERROR", "backend", `listing ${path} on ${this.where()} failed (exit ${r.code}): ${lastLine(r.stderr) || "no message"}`, {
        details: { path, exitCode: r.code, stderr: lastLine(r.stderr) },
      });
    }
    return r.stdout.split("\0").filter(Boolean).sort();
  }

  async run(spec: ContainerSpec, signal?: AbortSignal): Promise<string> {
    const plain = dockerRunArgv(spec);
    let r: ExecResult;
    if (argvBytes(plain) <= RUN_ARGV_LIMIT) {
      r = await this.connection.exec(plain, { signal });
    } else {
      const { inFile, onArgv } = splitEnvForFile(spec.env);
      // The script puts the temp env file before these flags: later --env-file / --env flags win in Docker, as on argv.
      r = await this.connection.script(RUN_WITH_ENV_FILE, dockerRunArgv({ ...spec, env: onArgv }).slice(2), {
        stdin: envFileContent(inFile), signal,
      });
    }
    const id = lastLine(r.stdout);
    if (r.code === 0 && /^[0-9a-f]{64}$/.test(id)) return id;
    throw await this.runFailure(spec, r, /^[0-9a-f]{64}$/.test(id) ? id : undefined, signal);
  }

  async start(nameOrId: string, signal?: AbortSignal): Promise<void> {
    const r = await this.docker(["start", "--", nameOrId], signal);
    if (r.code === 0) return;
    const c = await this.inspectContainer(nameOrId, signal);
    if (!c) {
      throw this.error("SDX_BACKEND_CONFLICT", "backend", `docker start on ${this.where()}: container ${nameOrId} no longer exists`, {
        hint: "Something else removed it; re-run to re-plan.", details: { container: nameOrId, stderr: lastLine(r.stderr) },
      });
    }
    throw this.error("SDX_BACKEND_REJECTED", "user", `docker start of ${c.name} on ${this.where()} failed: ${c.error || lastLine(r.stderr) || `exit ${r.code}`}`, {
      hint: "Check the service's command, user and published ports (a host port may already be in use on that host).",
      details: { container: c.name, exitCode: r.code, stderr: lastLine(r.stderr), ...(c.error ? { containerError: c.error } : {}) },
    });
  }

  async stop(nameOrId: string, timeoutSeconds: number, signal?: AbortSignal): Promise<void> {
    const r = await this.docker(["stop", "-t", String(Math.max(0, Math.round(timeoutSeconds))), "--", nameOrId], signal);
    if (r.code === 0) return;
    // Stopping a container that is gone leaves it as stopped as it can be.
    if (!(await this.inspectContainer(nameOrId, signal))) return;
    throw await this.failure("stop", r, signal, { details: { container: nameOrId } });
  }

  async remove(nameOrId: string, signal?: AbortSignal): Promise<void> {
    // -v: ephemeral volumes are anonymous ones, which would otherwise outlive every replaced container.
    const r = await this.docker(["rm", "-f", "-v", "--", nameOrId], signal);
    if (r.code === 0) return;
    if (!(await this.inspectContainer(nameOrId, signal))) return;
    throw await this.failure("rm", r, signal, { details: { container: nameOrId } });
  }

  async logs(nameOrId: string, tail: number, signal?: AbortSignal): Promise<string> {
    // 2>&1 in the container's order: docker writes the container's stderr to its own.
    const r = await this.connection.script('docker logs --tail "$1" -- "$2" 2>&1', [String(Math.max(0, Math.floor(tail))), nameOrId], { signal });
    if (r.code === 0) return r.stdout;
    throw await this.failure("logs", { ...r, stderr: r.stdout + r.stderr }, signal, { details: { container: nameOrId } });
  }

  lock(dataDir: string, app: string, holder: string, signal?: AbortSignal): Promise<() => Promise<void>> {
    const dir = appDir(dataDir, app);
    throwIfAborted(signal);
    // The remote process holds the flock for as long as its stdin is open: ending it (release) or losing the
    // connection (sdx killed, network gone) ends `cat`, and with it the lock.
    const stdin = new PassThrough();
    let out = "";
    let onLocked: () => void = () => undefined;
    const done = this.connection.script(LOCK, [dir, holder.replaceAll("\n", " ")], {
      stdin,
      onStdout: (chunk) => {
        out += chunk.toString("utf8");
        if (/^locked$/m.test(out)) onLocked();
      },
    });
    const heartbeat = setInterval(() => stdin.write("."), LOCK_HEARTBEAT_MS);
    heartbeat.unref();
    void done.finally(() => clearInterval(heartbeat)).catch(() => undefined);
    const release = async (): Promise<void> => {
      clearInterval(heartbeat);
      stdin.end();
      await done.catch(() => undefined);
    };
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        fn();
      };
      const onAbort = (): void => settle(() => {
        stdin.end();
        reject(new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user", cause: signal?.reason }));
      });
      signal?.addEventListener("abort", onAbort, { once: true });
      onLocked = () => settle(() => resolve(release));
      done.then(
        (r) => settle(() => reject(this.lockFailure(r, dir, app))),
        (e: unknown) => settle(() => reject(toSdxError(e, "SDX_BACKEND_ERROR", "backend"))),
      );
    });
  }

  async audit(dataDir: string, entry: AuditEntry, signal?: AbortSignal): Promise<void> {
    const dir = appDir(dataDir, entry.app);
    // JSON.stringify never emits a raw newline, so one entry is one line; entries hold no secrets, so argv is fine.
    const r = await this.connection.script(AUDIT, [dir, JSON.stringify(entry)], { signal });
    if (r.code !== 0) {
      throw this.error("SDX_BACKEND_ERROR", "backend", `appending to ${dir}/audit.log on ${this.where()} failed (exit ${r.code}): ${lastLine(r.stderr) || "no message"}`, {
        details: { path: `${dir}/audit.log`, exitCode: r.code, stderr: lastLine(r.stderr) },
      });
    }
  }

  async readAudit(dataDir: string, app: string, signal?: AbortSignal): Promise<AuditEntry[]> {
    const dir = appDir(dataDir, app);
    const r = await this.connection.script('[ -e "$1/audit.log" ] || exit 0; cat -- "$1/audit.log"', [dir], { signal });
    if (r.code !== 0) {
      throw this.error("SDX_BACKEND_ERROR", "backend", `reading ${dir}/audit.log on ${this.where()} failed (exit ${r.code}): ${lastLine(r.stderr) || "no message"}`, {
        details: { path: `${dir}/audit.log`, exitCode: r.code, stderr: lastLine(r.stderr) },
      });
    }
    return parseAuditLog(r.stdout);
  }

  // ---- helpers ----

  private docker(args: readonly string[], signal: AbortSignal | undefined, stdin?: Readable): Promise<ExecResult> {
    return this.connection.exec(["docker", ...args], { signal, stdin });
  }

  /** `host <name> (<address>)`, as every message names the host. */
  private where(): string {
    return hostLabel(this.host);
  }

  private error(code: SdxErrorCode, fault: Fault, message: string, o: { hint?: string; details?: Record<string, unknown>; cause?: unknown } = {}): SdxError {
    return new SdxError(code, message, {
      fault,
      ...(o.hint ? { hint: o.hint } : {}),
      ...(o.cause === undefined ? {} : { cause: o.cause }),
      details: { host: this.host.name, address: this.host.address, ...o.details },
    });
  }

  /**
   * Why a docker command failed when its exit code alone cannot say: asks the
   * host whether `docker` exists and its engine answers. `undefined` when both hold.
   */
  private async engineProblem(subcommand: string, signal: AbortSignal | undefined): Promise<SdxError | undefined> {
    const p = await this.connection.script(ENGINE_PROBE, [], { signal });
    if (p.code === 0) return undefined;
    if (p.code === NOT_FOUND) {
      return this.error("SDX_BACKEND_UNSUPPORTED", "user", `docker ${subcommand} on ${this.where()}: the docker CLI is not installed (or not on PATH for ${this.host.user})`, {
        hint: "Install Docker Engine on the host (Debian/Ubuntu: apt-get install docker.io), or put docker on the SSH user's PATH.",
        details: { subcommand },
      });
    }
    return this.error("SDX_BACKEND_UNREACHABLE", "user", `docker ${subcommand} on ${this.where()}: the Docker Engine does not answer \`docker version\``, {
      hint: `Start it (systemctl start docker) and make sure ${this.host.user} may use its socket (root or the docker group); \`ssh ${this.host.user}@${this.host.address} docker version\` should print a Server section.`,
      details: { subcommand, stderr: lastLine(p.stderr) },
    });
  }

  /** Throws when a failed read (inspect of something that may not exist) was really an engine failure. */
  private async requireEngine(subcommand: string, r: ExecResult, signal: AbortSignal | undefined): Promise<void> {
    const problem = await this.engineProblem(subcommand, signal);
    if (problem) throw withStderr(problem, r);
  }

  /** A docker command failed for a reason only its message tells: SDX_BACKEND_ERROR, unless the engine itself is down. */
  private async failure(subcommand: string, r: ExecResult, signal: AbortSignal | undefined, o: { hint?: string; details?: Record<string, unknown> } = {}): Promise<SdxError> {
    const problem = await this.engineProblem(subcommand, signal);
    if (problem) return withStderr(problem, r);
    const said = lastLine(r.stderr);
    return this.error("SDX_BACKEND_ERROR", "backend", `docker ${subcommand} on ${this.where()} failed (exit ${r.code})${said ? `: ${said}` : ""}`, {
      ...(o.hint ? { hint: o.hint } : {}),
      details: { subcommand, exitCode: r.code, stderr: said, ...o.details },
    });
  }

  /**
   * `docker run` exits 125 when the engine refused the request (bad flag, name
   * taken, image missing, port taken after create), 126/127 when the container
   * was created but its command could not start. A created container is
   * removed again: a failed run leaves nothing behind.
   */
  private async runFailure(spec: ContainerSpec, r: ExecResult, createdId: string | undefined, signal: AbortSignal | undefined): Promise<SdxError> {
    const said = lastLine(r.stderr);
    const base = { container: spec.name, image: spec.image, exitCode: r.code, stderr: said };
    if (createdId) {
      const created = await this.inspectContainer(createdId, signal).catch(() => undefined);
      await this.remove(createdId, signal).catch(() => undefined);
      const why = created?.error || said || `exit ${r.code}`;
      return this.error("SDX_BACKEND_REJECTED", "user", `docker run of ${spec.name} on ${this.where()}: the container was created but could not start: ${why}`, {
        hint: "Check the service's command, entrypoint and user, and that its published ports are free on that host.",
        details: { ...base, ...(created?.error ? { containerError: created.error } : {}) },
      });
    }
    if (r.code === 125) {
      const existing = await this.inspectContainer(spec.name, signal);
      if (existing) {
        return this.error("SDX_BACKEND_CONFLICT", "user", `docker run on ${this.where()}: a container named ${spec.name} already exists (${existing.id.slice(0, 12)}, ${existing.state})`, {
          hint: existing.labels[APP_LABEL] ? "Another deploy may be running; re-run to re-plan." : `Remove or rename that container on the host (docker rm -f ${spec.name}), it is not sdx's.`,
          details: { ...base, existingId: existing.id },
        });
      }
      const problem = await this.engineProblem("run", signal);
      if (problem) return withStderr(problem, r);
      return this.error("SDX_BACKEND_REJECTED", "user", `docker run of ${spec.name} on ${this.where()} was refused${said ? `: ${said}` : ""}`, {
        hint: "Check the service's settings and overrides (image present on the host, ports, mounts, limits); the Docker version on the host may also lack a flag.",
        details: base,
      });
    }
    return this.failure("run", r, signal, { details: base });
  }

  private lockFailure(r: ExecResult, dir: string, app: string): SdxError {
    if (r.code === LOCK_BUSY) {
      const holder = r.stderr.trim() || "holder unknown";
      return this.error("SDX_BACKEND_CONFLICT", "user", `another deploy of ${app} holds the lock on ${this.where()} (${holder})`, {
        hint: "Wait for the other deploy to finish, or check that it is still running; the lock is freed when its process or SSH connection ends.",
        details: { app, lock: `${dir}/lock`, holder },
      });
    }
    if (r.code === NOT_FOUND) {
      return this.error("SDX_BACKEND_UNSUPPORTED", "user", `flock is not installed on ${this.where()}`, {
        hint: "Install util-linux (Debian/Ubuntu: apt-get install util-linux), or busybox with its flock applet.",
        details: { app },
      });
    }
    return this.error("SDX_BACKEND_ERROR", "backend", `taking the lock ${dir}/lock on ${this.where()} failed (exit ${r.code}): ${lastLine(r.stderr) || "no message"}`, {
      details: { app, lock: `${dir}/lock`, exitCode: r.code, stderr: lastLine(r.stderr) },
    });
  }

  private async inspectNetwork(name: string, signal: AbortSignal | undefined): Promise<{ Containers?: Record<string, { Name?: string }> } | undefined> {
    const r = await this.docker(["network", "inspect", "--", name], signal);
    if (r.code === 0) return parseJsonArray(r.stdout)[0] as { Containers?: Record<string, { Name?: string }> } | undefined;
    await this.requireEngine("network inspect", r, signal);
    return undefined;
  }

  private async networkExists(name: string, signal: AbortSignal | undefined): Promise<boolean> {
    return (await this.inspectNetwork(name, signal)) !== undefined;
  }
}

// ---- remote programs (fixed text; every value arrives as $1…) ----

/** Exits 127 without a docker CLI, 69 when its engine does not answer, else 0. */
const ENGINE_PROBE = `command -v docker >/dev/null 2>&1 || exit ${NOT_FOUND}; docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || exit ${ENGINE_DOWN}; exit 0`;

/** $1 path, $2 octal mode, content on stdin: written beside the target, then renamed over it (atomic). */
const WRITE_FILE = [
  "umask 077",
  'mkdir -p -- "$(dirname -- "$1")" || exit 1',
  't="$1.tmp.$$"',
  'if cat >"$t" && chmod "$2" "$t" && mv -f -- "$t" "$1"; then exit 0; fi',
  'rm -f -- "$t"; exit 1',
].join("\n");

/** Entry names of $1, NUL-separated (names may hold newlines); nothing when it is not a directory. */
const LIST_DIR = [
  '[ -d "$1" ] || exit 0',
  'cd "$1" || exit 1',
  "for f in .* *; do",
  '  case "$f" in .|..) continue ;; esac',
  '  [ -e "$f" ] || [ -L "$f" ] || continue',
  "  printf '%s\\0' \"$f\"",
  "done",
].join("\n");

/** `docker run --env-file <tmp> "$@"`, the env file read from stdin into a private temp file that is removed afterwards. */
const RUN_WITH_ENV_FILE = [
  'f=$(umask 077; mktemp) || exit 1',
  "trap 'rm -f \"$f\"' EXIT",
  'cat >"$f" || exit 1',
  'docker run --env-file "$f" "$@"',
].join("\n");

/** How often sdx tells a held lock it is still there. */
const LOCK_HEARTBEAT_MS = 5_000;
/** Seconds without a heartbeat after which a host frees the lock by itself. */
const LOCK_STALE_SECONDS = 30;

/** $1 app dir, $2 holder. Prints `locked` once it holds the flock, then holds it while heartbeats arrive. */
const LOCK = [
  `command -v flock >/dev/null 2>&1 || exit ${NOT_FOUND}`,
  "umask 077",
  'mkdir -p -- "$1" || exit 1',
  'exec 9>>"$1/lock" || exit 1',
  `if ! flock -n 9; then cat -- "$1/lock.holder" >&2 2>/dev/null; exit ${LOCK_BUSY}; fi`,
  "printf '%s\\n' \"$2\" >\"$1/lock.holder\"",
  "echo locked",
  // Held while sdx sends a heartbeat byte every LOCK_HEARTBEAT_MS: a clean release (EOF) frees it at once,
  // and a partitioned or killed sdx within LOCK_STALE_SECONDS, even when sshd has not noticed the
  // connection is gone (it sends no keepalives by default, so a session can outlive its client for hours).
  "command -v timeout >/dev/null 2>&1 || exec cat >/dev/null",
  `while [ "$(timeout ${LOCK_STALE_SECONDS} dd bs=1 count=1 2>/dev/null | wc -c)" -eq 1 ]; do :; done`,
].join("\n");

/** $1 app dir, $2 one JSON line; the dir is private (it holds secrets' files), the log group-readable. */
const AUDIT = [
  'umask 077; mkdir -p -- "$1" || exit 1',
  "umask 027; printf '%s\\n' \"$2\" >>\"$1/audit.log\"",
].join("\n");

// ---- pure parts (exported for tests) ----

/** `host <name> (<address>)`, or `host <address>` when the name is the address. */
export function hostLabel(host: Pick<HostSpec, "name" | "address">): string {
  return host.name === host.address ? `host ${host.address}` : `host ${host.name} (${host.address})`;
}

/**
 * The `docker run -d` argv for a spec. Docker's health check `CMD` (exec) form
 * can only be set in an image: `--health-cmd` always means `CMD-SHELL`, which
 * Docker runs with `/bin/sh -c`. So the argv is shell-quoted into one string
 * that the shell splits back into exactly those arguments; the image needs a
 * `/bin/sh` for its health check to run.
 */
export function dockerRunArgv(spec: ContainerSpec): string[] {
  const a = ["docker", "run", "-d", "--name", spec.name];
  for (const [k, v] of sortedEntries(spec.labels)) a.push("--label", `${k}=${v}`);
  for (const [k, v] of sortedEntries(spec.env)) a.push("--env", `${k}=${v}`);
  for (const f of spec.envFiles) a.push("--env-file", f);
  a.push("--restart", spec.restart);
  for (const p of spec.ports) a.push("-p", `${p.host}:${p.container}/${p.protocol}`);
  for (const m of spec.mounts) {
    const fields = m.source === undefined ? ["type=volume", `dst=${m.target}`] : ["type=bind", `src=${m.source}`, `dst=${m.target}`];
    if (m.readOnly) fields.push("readonly");
    a.push("--mount", fields.map(csvField).join(","));
  }
  a.push("--network", spec.network);
  for (const alias of spec.aliases) a.push("--network-alias", alias);
  if (spec.health) {
    const h = spec.health;
    a.push(
      "--health-cmd", healthShellCommand(h.test),
      "--health-interval", `${h.intervalSeconds}s`,
      "--health-timeout", `${h.timeoutSeconds}s`,
      "--health-retries", String(h.retries),
      "--health-start-period", `${h.startPeriodSeconds}s`,
    );
  }
  if (spec.cpuLimitMillis !== undefined) a.push("--cpus", String(spec.cpuLimitMillis / 1000));
  if (spec.memoryLimitMiB !== undefined) a.push("--memory", `${spec.memoryLimitMiB}m`);
  if (spec.user !== undefined) a.push("--user", spec.user);
  // --entrypoint takes one executable; the rest of the entrypoint argv leads the command.
  const [entry, ...entryRest] = spec.entrypoint ?? [];
  if (spec.entrypoint !== undefined) a.push(`--entrypoint=${entry ?? ""}`);
  a.push(spec.image, ...entryRest, ...(spec.command ?? []));
  return a;
}

/** The `CMD-SHELL` string `/bin/sh -c` splits back into exactly `test`. */
export function healthShellCommand(test: readonly string[]): string {
  return test.map(shellQuote).join(" ");
}

/** Docker parses `--mount` as CSV: a field holding `,` or `"` is quoted, with `"` doubled. */
function csvField(field: string): string {
  return /[",\n\r]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field;
}

/** Bytes of the command line a connection sends for `argv` (each argument quoted, space-separated). */
export function argvBytes(argv: readonly string[]): number {
  return argv.reduce((n, a) => n + Buffer.byteLength(shellQuote(a)) + 1, 0);
}

/** Env values Docker's env-file format can carry (one `K=V` per line) go to the file; values with line breaks stay on argv. */
function splitEnvForFile(env: Readonly<Record<string, string>>): { inFile: [string, string][]; onArgv: Record<string, string> } {
  const inFile: [string, string][] = [];
  const onArgv: Record<string, string> = {};
  for (const [k, v] of sortedEntries(env)) {
    if (/[\n\r]/.test(v)) onArgv[k] = v;
    else inFile.push([k, v]);
  }
  return { inFile, onArgv };
}

/** Docker's env-file format: `KEY=VALUE` lines, taken literally (no quotes, no expansion). */
export function envFileContent(entries: readonly (readonly [string, string])[]): string {
  return entries.map(([k, v]) => `${k}=${v}\n`).join("");
}

function sortedEntries(r: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The last line worth showing of docker's output: not blank, not its "Run 'docker … --help'" trailer. */
export function lastLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !/^(Run|See) 'docker .*--help'/.test(l));
  const last = lines.at(-1) ?? "";
  return last.length > 500 ? `${last.slice(0, 497)}...` : last;
}

function withStderr(e: SdxError, r: ExecResult): SdxError {
  const said = lastLine(r.stderr);
  if (!said) return e;
  return new SdxError(e.code, e.message, {
    fault: e.fault, ...(e.hint ? { hint: e.hint } : {}), details: { ...e.details, exitCode: r.code, stderr: said },
  });
}

function parseJsonArray(text: string): unknown[] {
  const v: unknown = JSON.parse(text);
  if (!Array.isArray(v)) throw new SdxError("SDX_BACKEND_ERROR", "docker printed something other than a JSON array", { fault: "backend" });
  return v;
}

interface InspectedContainer {
  Id: string;
  Name: string;
  Image: string;
  RestartCount?: number;
  Config?: { Image?: string; Labels?: Record<string, string> | null };
  Mounts?: { Type?: string; Source?: string }[] | null;
  State?: {
    Status?: string;
    ExitCode?: number;
    Error?: string;
    StartedAt?: string;
    FinishedAt?: string;
    Health?: { Status?: string; Log?: { Output?: string }[] | null } | null;
  };
}

/** `docker container inspect` JSON → what sdx observes of each container. */
export function parseContainers(json: string): ObservedContainer[] {
  return (parseJsonArray(json) as InspectedContainer[]).map((c): ObservedContainer => {
    const s = c.State ?? {};
    const time = (t: string | undefined): string | undefined => (t && !t.startsWith(ZERO_TIME) ? t : undefined);
    const startedAt = time(s.StartedAt);
    const finishedAt = time(s.FinishedAt);
    const health = s.Health?.Status && s.Health.Status !== "none" ? s.Health.Status : undefined;
    return {
      id: c.Id,
      name: c.Name.replace(/^\//, ""),
      image: c.Config?.Image ?? "",
      imageId: c.Image,
      labels: c.Config?.Labels ?? {},
      state: s.Status ?? "unknown",
      ...(health ? { health } : {}),
      exitCode: s.ExitCode ?? 0,
      restartCount: c.RestartCount ?? 0,
      ...(startedAt ? { startedAt } : {}),
      ...(finishedAt ? { finishedAt } : {}),
      ...(s.Error ? { error: s.Error } : {}),
      healthLog: (s.Health?.Log ?? []).slice(-HEALTH_LOG_KEEP).map((l) => (l.Output ?? "").trim()).filter(Boolean),
      mounts: (c.Mounts ?? []).flatMap((m) => (m.Type === "bind" && m.Source ? [m.Source] : [])),
    };
  });
}

const ARCH: Readonly<Record<string, string>> = { x86_64: "amd64", amd64: "amd64", aarch64: "arm64", arm64: "arm64", armv7l: "arm" };

/** `docker info --format '{{json .}}'` → the facts placement needs; undefined when the engine did not answer (empty ID). */
export function tryParseHostInfo(json: string): HostInfo | undefined {
  let v: { ID?: string; NCPU?: number; MemTotal?: number; Architecture?: string; ServerVersion?: string };
  try {
    v = JSON.parse(json) as typeof v;
  } catch {
    return undefined;
  }
  if (!v.ID) return undefined;
  return {
    engineId: v.ID,
    cpuMillis: (v.NCPU ?? 0) * 1000,
    memoryMiB: Math.floor((v.MemTotal ?? 0) / 2 ** 20),
    arch: ARCH[v.Architecture ?? ""] ?? v.Architecture ?? "",
    serverVersion: v.ServerVersion ?? "",
  };
}

/** `docker load` output: "Loaded image ID: sha256:…" (untagged) and "Loaded image: name:tag" lines (Docker's documented output). */
export function parseLoadOutput(stdout: string): { ids: string[]; names: string[] } {
  const ids: string[] = [];
  const names: string[] = [];
  for (const line of stdout.split("\n").map((l) => l.trim())) {
    const id = /^Loaded image ID: (sha256:[0-9a-f]{64})$/.exec(line);
    if (id) ids.push(id[1]!);
    else {
      const name = /^Loaded image: (\S+)$/.exec(line);
      if (name) names.push(name[1]!);
    }
  }
  return { ids, names };
}

/** JSON Lines of audit entries, oldest first; a line that is not an entry (torn write, hand edit) is skipped. */
export function parseAuditLog(text: string): AuditEntry[] {
  const out: AuditEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const v: unknown = JSON.parse(line);
      const e = v as Partial<AuditEntry> | null;
      if (e && typeof e === "object" && typeof e.at === "string" && typeof e.action === "string" && typeof e.app === "string") out.push(e as AuditEntry);
    } catch {
      // skipped: see above
    }
  }
  return out;
}

/** True when `path` is absolute, has no `..` segment, and lies strictly below `dir` (not `dir` itself). */
export function isStrictlyUnder(path: string, dir: string): boolean {
  if (!path.startsWith("/") || !dir.startsWith("/")) return false;
  if (path.split("/").includes("..") || dir.split("/").includes("..")) return false;
  const base = posix.normalize(dir).replace(/\/+$/, "");
  const p = posix.normalize(path).replace(/\/+$/, "");
  return base !== "" && p.startsWith(`${base}/`) && p.length > base.length + 1;
}

function requireAbsolute(path: string, what: string): void {
  if (!path.startsWith("/") || path.split("/").includes("..")) {
    throw new SdxError("SDX_INTERNAL", `${what} ${path} is not an absolute path without ..`, { fault: "internal", details: { path } });
  }
}

/** `<dataDir>/<app>`, refusing an app name that is not one plain path segment. */
function appDir(dataDir: string, app: string): string {
  requireAbsolute(dataDir, "data dir");
  if (!APP_DIR_NAME.test(app) || app === "." || app === "..") {
    throw new SdxError("SDX_INTERNAL", `app name ${JSON.stringify(app)} cannot name a directory`, { fault: "internal", details: { app } });
  }
  return `${posix.normalize(dataDir).replace(/\/+$/, "")}/${app}`;
}
