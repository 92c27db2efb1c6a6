import { SdxError, isSdxError } from "@sdx/sdk";
import type { HostSpec } from "../hosts-target.js";
import type { HostKeyVerdict } from "./known-hosts.js";

/** Node socket error codes that mean the host did not answer. */
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "EHOSTDOWN", "ENETDOWN", "ECONNRESET", "EPIPE", "ECONNABORTED"]);
/** Name resolution failures: most often a typo in the address, so the user's to fix. */
const DNS_CODES = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_FAIL", "EAI_NONAME"]);

/** Where an SSH failure happened, for the message. */
export interface SshErrorContext {
  readonly host: Pick<HostSpec, "name" | "address" | "user" | "port">;
  /** `connect`: before the session was ready; `exec`: the connection was up. */
  readonly phase: "connect" | "exec";
  /** The authentication methods offered, as people read them (e.g. `identity file /k`, `ssh-agent at /s`). @default [] */
  readonly authMethods?: readonly string[];
  /** The connect timeout in force, for its message. @default 10000 */
  readonly connectTimeoutMs?: number;
  /** The command running, at most its first two words (`docker run`), never its arguments. */
  readonly command?: string;
}

/** `user@address:port`, as messages name a host. */
export function sshDestination(host: SshErrorContext["host"]): string {
  return `${host.user}@${host.address}:${host.port}`;
}

function hostLabel(host: SshErrorContext["host"]): string {
  return host.name === host.address ? `${host.address}:${host.port}` : `${host.name} (${host.address}:${host.port})`;
}

/**
 * Maps an ssh2 client or socket error to an SdxError, by Node's `err.code` and
 * ssh2's `err.level` only (never by message text). SdxErrors pass through.
 */
export function mapSshError(e: unknown, ctx: SshErrorContext): SdxError {
  if (isSdxError(e)) return e;
  if (e instanceof Error && e.name === "AbortError") return new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user", cause: e });
  const where = hostLabel(ctx.host);
  const code = (e as { code?: unknown } | undefined)?.code;
  const level = (e as { level?: unknown } | undefined)?.level;
  const during = ctx.command ? ` while running \`${ctx.command}\`` : "";
  const details = { host: ctx.host.name, address: ctx.host.address, port: ctx.host.port, phase: ctx.phase, ...(typeof code === "string" || typeof code === "number" ? { code } : {}), ...(typeof level === "string" ? { level } : {}) };

  if (typeof code === "string" && DNS_CODES.has(code)) {
    return new SdxError("SDX_BACKEND_UNREACHABLE", `cannot resolve the address of host ${where} (${code})`, {
      fault: "user", cause: e, details, hint: "Check the host's address in the target; `getent hosts <address>` should print it.",
    });
  }
  if (level === "client-authentication") {
    const tried = ctx.authMethods?.length ? ctx.authMethods.join(", ") : "none";
    return new SdxError("SDX_BACKEND_AUTH", `SSH authentication as ${sshDestination(ctx.host)} was refused (tried: ${tried})`, {
      fault: "user", cause: e, details: { ...details, tried: ctx.authMethods ?? [] },
      hint: `Add the public key to ~${ctx.host.user}/.ssh/authorized_keys on the host, or set the target's identityFile / load the key into ssh-agent; \`ssh -p ${ctx.host.port} ${ctx.host.user}@${ctx.host.address} true\` should work.`,
    });
  }
  if (level === "client-timeout") {
    // Before the session is ready it is ssh2's readyTimeout; afterwards its keepalives went unanswered.
    return ctx.phase === "connect"
      ? new SdxError("SDX_BACKEND_UNREACHABLE", `timed out after ${ctx.connectTimeoutMs ?? 10_000} ms connecting over SSH to ${where}`, {
          fault: "backend", cause: e, details, hint: "Check that the host is up and its SSH port is open from here, or raise the target's connectTimeoutSeconds.",
        })
      : new SdxError("SDX_BACKEND_UNREACHABLE", `lost the SSH connection to ${where}${during}: the host stopped answering keepalives`, {
          fault: "backend", cause: e, details, hint: "Check that the host is up and reachable, then re-run.",
        });
  }
  if (typeof code === "string" && UNREACHABLE_CODES.has(code)) {
    return ctx.phase === "connect"
      ? new SdxError("SDX_BACKEND_UNREACHABLE", `cannot connect over SSH to ${where} (${code})`, {
          fault: "backend", cause: e, details, hint: "Check that the host is up, sshd listens on that port and no firewall blocks it.",
        })
      : new SdxError("SDX_BACKEND_UNREACHABLE", `lost the SSH connection to ${where}${during} (${code})`, {
          fault: "backend", cause: e, details, hint: "Check that the host is up and reachable, then re-run.",
        });
  }
  if (level === "client-socket") {
    return new SdxError("SDX_BACKEND_UNREACHABLE", `lost the SSH connection to ${where}${during}`, { fault: "backend", cause: e, details, hint: "Check that the host is up and reachable, then re-run." });
  }
  const reason = (e as { reason?: unknown } | undefined)?.reason;
  if (typeof reason === "number" || reason === "") {
    // ssh2's channel-open failure: the server refused a session (RFC 4254 reason code), or closed it at once.
    return new SdxError("SDX_BACKEND_ERROR", `the SSH server at ${where} refused to open a session${during}${typeof reason === "number" ? ` (channel open failure reason ${reason})` : ""}`, {
      fault: "backend", cause: e, details: { ...details, reason },
      hint: "Check sshd's MaxSessions on the host (sdx opens up to 8 sessions per connection) and its log.",
    });
  }
  if (typeof code === "number") {
    // An SSH_MSG_DISCONNECT from the server: its reason code is in `code`.
    return new SdxError("SDX_BACKEND_ERROR", `the SSH server at ${where} disconnected${during} (SSH disconnect reason ${code})`, {
      fault: "backend", cause: e, details, hint: "Check sshd's log on the host (MaxStartups, MaxSessions, AllowUsers).",
    });
  }
  if (level === "handshake" || level === "protocol") {
    return new SdxError("SDX_BACKEND_ERROR", `SSH handshake with ${where} failed: ${e instanceof Error ? e.message : String(e)}`, {
      fault: "backend", cause: e, details, hint: "The server and sdx share no key exchange, cipher or host key algorithm; check sshd_config on the host.",
    });
  }
  return new SdxError("SDX_BACKEND_ERROR", `SSH to ${where} failed${during}`, { fault: "backend", cause: e, details });
}

/** The error for a host key that is not trusted: `SDX_HOST_KEY_UNKNOWN` or `SDX_HOST_KEY_MISMATCH`. */
export function hostKeyError(verdict: Exclude<HostKeyVerdict, { kind: "trusted" }>, host: SshErrorContext["host"], knownHostsLine: string, knownHostsFile: string): SdxError {
  const where = hostLabel(host);
  const details = { host: host.name, address: host.address, port: host.port, fingerprint: verdict.fingerprint, knownHostsLine, knownHostsFile };
  switch (verdict.kind) {
    case "unknown":
      return new SdxError("SDX_HOST_KEY_UNKNOWN", `the SSH host key of ${where} is not known: ${verdict.fingerprint}`, {
        fault: "user", details,
        hint: `Check the fingerprint on the host (\`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\`), then add \`fingerprints: { "${host.address}": "${verdict.fingerprint}" }\` to the target, or this line to ${knownHostsFile}: ${knownHostsLine}`,
      });
    case "mismatch":
      return new SdxError("SDX_HOST_KEY_MISMATCH", `the SSH host key of ${where} is ${verdict.fingerprint}, but ${verdict.source === "fingerprints" ? "the target's fingerprints" : knownHostsFile} expect ${verdict.expected.join(" or ")}: possible man-in-the-middle attack`, {
        fault: "user", details: { ...details, expected: verdict.expected, source: verdict.source },
        hint: `Do not connect until you know why the key changed. If the host was reinstalled, check its new key on the console and update ${verdict.source === "fingerprints" ? "the target's fingerprints" : knownHostsFile}.`,
      });
    case "revoked":
      return new SdxError("SDX_HOST_KEY_MISMATCH", `the SSH host key of ${where} (${verdict.fingerprint}) is marked @revoked in ${knownHostsFile}`, {
        fault: "user", details: { ...details, revoked: true },
        hint: "The host presents a key that was revoked; do not connect until the host has a new key.",
      });
    default: {
      const never: never = verdict;
      return never;
    }
  }
}
