import type { Readable } from "node:stream";
import type { HostSpec } from "../hosts-target.js";

/** Options for {@link HostConnection.exec}. */
export interface ExecOptions {
  /** Sent on the command's standard input, then closed. Secrets travel here, never in argv. @default nothing (stdin closed) */
  readonly stdin?: string | Uint8Array | Readable;
  /** Stops waiting, asks sshd to send SIGHUP and closes the channel (OpenSSH ignores the signal for root sessions without privilege separation, so the remote command may keep running). */
  readonly signal?: AbortSignal;
  /** Milliseconds before the command is abandoned with `SDX_BACKEND_ERROR`. @default no limit */
  readonly timeoutMs?: number;
  /** Receives stdout as it arrives (then `stdout` in the result is empty). @default buffered */
  readonly onStdout?: (chunk: Buffer) => void;
}

/** How a remote command ended. A non-zero `code` is a result, not an exception. */
export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * One open SSH connection to one host. `exec` takes an argv that the
 * implementation quotes for the remote POSIX shell, so no argument is ever
 * interpreted by it; `script` runs a fixed `sh -c` program with arguments
 * passed as `$1…` (for pipelines and redirections sdx writes itself).
 */
export interface HostConnection {
  readonly host: HostSpec;
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  script(program: string, args: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Closes the connection; safe to call twice. */
  close(): void;
}

/** Opens one connection per host. Injected into the backend so fault-injection tests can replace SSH. */
export type ConnectHost = (host: HostSpec, options: ConnectHostOptions) => Promise<HostConnection>;

/** What {@link ConnectHost} needs besides the host. */
export interface ConnectHostOptions {
  /** Absolute path of a private key file. @default none */
  readonly identityFile?: string;
  /** Offer the keys of the agent at `agentSocket`. @default true */
  readonly agent?: boolean;
  /** @default $SSH_AUTH_SOCK */
  readonly agentSocket?: string;
  /** Absolute path of an OpenSSH known_hosts file. @default ~/.ssh/known_hosts */
  readonly knownHosts?: string;
  /** `SHA256:…` fingerprints by host address or name, checked before known_hosts. */
  readonly fingerprints?: Readonly<Record<string, string>>;
  /** @default 10000 */
  readonly connectTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** Quotes one argument for a POSIX shell: `'…'` with embedded quotes escaped. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}
