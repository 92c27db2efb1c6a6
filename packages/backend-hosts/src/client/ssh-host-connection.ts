import { readFile } from "node:fs/promises";
import { constants as osConstants, homedir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import ssh2 from "ssh2";
import type { ClientChannel, ConnectConfig } from "ssh2";
import { SdxError, throwIfAborted } from "@sdx/sdk";
import type { HostSpec } from "../hosts-target.js";
import { shellQuote, type ConnectHost, type ConnectHostOptions, type ExecOptions, type ExecResult, type HostConnection } from "./host-connection.js";
import { checkHostKey, knownHostsLine, knownKeyTypes, parseKnownHosts, type HostKeyVerdict, type KnownHostEntry } from "./known-hosts.js";
import { hostKeyError, mapSshError, sshDestination, type SshErrorContext } from "./map-ssh-error.js";

const { Client, utils } = ssh2;

/** OpenSSH's MaxSessions defaults to 10 channels per connection; 8 leaves room for the server's own. */
export const MAX_CHANNELS = 8;
/** Each of stdout and stderr is kept up to this many bytes; the rest is dropped with a note. */
export const OUTPUT_CAP_BYTES = 16 * 2 ** 20;
/** Keepalives every 5 s, 3 unanswered: a host gone mid-command fails its exec in about 20 s. */
const KEEPALIVE_INTERVAL_MS = 5_000;
const KEEPALIVE_COUNT_MAX = 3;

/** ssh2's host key algorithms, in its default order (ed25519 is always there on Node ≥ 22). */
const HOST_KEY_ALGORITHMS = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] as const;

/**
 * Host key algorithms with the types known_hosts holds for the host first, as
 * OpenSSH orders them: otherwise a host known by its RSA key that also offers
 * ed25519 would present a key nobody checked and look unknown.
 */
function hostKeyAlgorithms(knownTypes: readonly string[]): string[] | undefined {
  if (!knownTypes.length) return undefined;
  const first = knownTypes.flatMap((t) => (t === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : (HOST_KEY_ALGORITHMS as readonly string[]).includes(t) ? [t] : []));
  return [...new Set([...first, ...HOST_KEY_ALGORITHMS])];
}

/**
 * Whether a private key file is passphrase-protected, read from its structure
 * (the OpenSSH cipher name, PEM's `Proc-Type`, PKCS#8's label, PuTTY's
 * `Encryption:`), not from a parser's error text.
 */
export function isEncryptedPrivateKey(text: string): boolean {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text) || /^Proc-Type:\s*4,ENCRYPTED/m.test(text)) return true;
  const ppk = /^Encryption:\s*(\S+)/m.exec(text);
  if (ppk) return ppk[1] !== "none";
  const openssh = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text);
  if (!openssh) return false;
  const blob = Buffer.from(openssh[1]!.replace(/\s+/g, ""), "base64");
  const magic = "openssh-key-v1\0";
  if (blob.length < magic.length + 4 || blob.toString("latin1", 0, magic.length) !== magic) return false;
  const len = blob.readUInt32BE(magic.length);
  return blob.toString("latin1", magic.length + 4, magic.length + 4 + len) !== "none";
}

function authError(message: string, hint: string, details: Record<string, unknown>, cause?: unknown): SdxError {
  return new SdxError("SDX_BACKEND_AUTH", message, { fault: "user", hint, details, ...(cause === undefined ? {} : { cause }) });
}

/** Reads and checks the identity file; the key never appears in an error. */
async function loadIdentity(file: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw authError(`cannot read the SSH identity file ${file}${typeof code === "string" ? ` (${code})` : ""}`, "Set the target's identityFile to a readable private key file (relative to the app file), or use ssh-agent.", { identityFile: file }, e);
  }
  if (isEncryptedPrivateKey(bytes.toString("latin1"))) {
    throw authError(`the SSH identity file ${file} is protected by a passphrase, which sdx does not ask for`, `Load the key into ssh-agent (\`ssh-add ${file}\`) and remove identityFile from the target; sdx uses the agent at $SSH_AUTH_SOCK.`, { identityFile: file });
  }
  const parsed = utils.parseKey(bytes) as ReturnType<typeof utils.parseKey> | ReturnType<typeof utils.parseKey>[];
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key === undefined || key instanceof Error || !key.isPrivateKey()) {
    throw authError(`the SSH identity file ${file} is not a private key sdx can read`, "Point identityFile at an OpenSSH, PEM or PuTTY private key (ed25519, ECDSA or RSA), e.g. one made by `ssh-keygen -t ed25519`.", { identityFile: file });
  }
  return bytes;
}

/** Reads known_hosts; a missing file counts as empty (then every key is unknown). */
async function loadKnownHosts(file: string): Promise<KnownHostEntry[]> {
  try {
    return parseKnownHosts(await readFile(file, "utf8"));
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === "ENOENT") return [];
    throw authError(`cannot read the known_hosts file ${file}${typeof code === "string" ? ` (${code})` : ""}`, "Set the target's knownHosts to a readable OpenSSH known_hosts file.", { knownHosts: file }, e);
  }
}

/** An SSH exit: the status, or 128 + the signal number as a shell reports it, or -1 when neither came. */
function exitCode(code: number | null | undefined, signal: string | undefined): number {
  if (typeof code === "number") return code;
  const n = signal === undefined ? undefined : (osConstants.signals as Record<string, number | undefined>)[signal];
  return n === undefined ? -1 : 128 + n;
}

/** Collects a stream's bytes up to the cap, counting what it drops. */
class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;
  push(chunk: Buffer): void {
    const room = OUTPUT_CAP_BYTES - this.size;
    if (room <= 0) {
      this.dropped += chunk.length;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(kept);
    this.size += kept.length;
    this.dropped += chunk.length - kept.length;
  }
  text(): string {
    const s = Buffer.concat(this.chunks, this.size).toString("utf8");
    return this.dropped ? `${s}\n[sdx: output truncated, ${this.dropped} more bytes after the first ${OUTPUT_CAP_BYTES} dropped]\n` : s;
  }
}

/** At most `max` holders at once, first come first served. */
class Slots {
  private used = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly max: number) {}
  /** Resolves when a slot is free; `cancel` takes the request back if it is still waiting. */
  acquire(): { ready: Promise<void>; cancel: () => void } {
    if (this.used < this.max) {
      this.used++;
      return { ready: Promise.resolve(), cancel: () => {} };
    }
    let grant!: () => void;
    const ready = new Promise<void>((r) => (grant = r));
    const waiter = (): void => {
      this.used++;
      grant();
    };
    this.waiting.push(waiter);
    return {
      ready,
      cancel: () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
      },
    };
  }
  release(): void {
    this.used--;
    this.waiting.shift()?.();
  }
}

/**
 * Asks sshd to send a signal to the remote command (RFC 4254 6.9, honoured by
 * OpenSSH ≥ 7.9). Closing the channel alone leaves a command without a pty
 * running, and ssh2's own `signal()` only works while stdin is open, which sdx
 * ends at once; so this sends the request on the channel's protocol directly.
 */
function signalRemote(ch: ClientChannel, name: string): void {
  const internal = ch as unknown as { outgoing?: { id?: number; state?: string }; _client?: { _protocol?: { signal?: (id: number, name: string) => void } } };
  const state = internal.outgoing?.state;
  const id = internal.outgoing?.id;
  if ((state === "open" || state === "eof") && id !== undefined) internal._client?._protocol?.signal?.(id, name);
}

/** The first two words of a command, the most an error may show of it (arguments may be secret). */
function commandLabel(words: readonly string[]): string {
  return words.slice(0, 2).join(" ");
}

/** One ssh2 connection: execs are queued onto at most {@link MAX_CHANNELS} channels. */
class SshHostConnection implements HostConnection {
  private readonly slots = new Slots(MAX_CHANNELS);
  /** Rejecters of every exec not settled yet, so a lost connection fails them all at once. */
  private readonly pending = new Set<(e: SdxError) => void>();
  private closed = false;
  private lost: SdxError | undefined;
  private lastError: unknown;

  constructor(
    readonly host: HostSpec,
    private readonly client: InstanceType<typeof Client>,
  ) {
    client.on("error", (e: unknown) => (this.lastError = e));
    client.on("close", () => {
      if (this.closed) return;
      this.closed = true;
      this.lost = mapSshError(this.lastError ?? Object.assign(new Error("connection closed"), { level: "client-socket" }), { host, phase: "exec" });
      for (const fail of [...this.pending]) fail(this.lost);
    });
  }

  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (!argv.length) return Promise.reject(new SdxError("SDX_INTERNAL", "exec needs a command", { fault: "internal" }));
    return this.run(argv.map(shellQuote).join(" "), commandLabel(argv), options);
  }

  script(program: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    // `sdx` is $0; the arguments are $1… and never pass through the shell's parser.
    const command = ["sh", "-c", program, "sdx", ...args].map(shellQuote).join(" ");
    return this.run(command, commandLabel(program.trim().split(/\s+/)), options);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const e = new SdxError("SDX_ABORTED", `the SSH connection to ${this.host.name} was closed`, { fault: "user", details: { host: this.host.name } });
    for (const fail of [...this.pending]) fail(e);
    this.client.end();
  }

  private run(command: string, label: string, options: ExecOptions): Promise<ExecResult> {
    const ctx: SshErrorContext = { host: this.host, phase: "exec", command: label };
    if (this.closed) {
      return Promise.reject(this.lost ?? new SdxError("SDX_INTERNAL", `\`${label}\` on ${this.host.name}: the SSH connection is already closed`, { fault: "internal", details: { host: this.host.name } }));
    }
    try {
      throwIfAborted(options.signal);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<ExecResult>((resolve, reject) => {
      let settled = false;
      let channel: ClientChannel | undefined;
      let holdsSlot = false;
      const slot = this.slots.acquire();
      const stdout = new CappedBuffer();
      const stderr = new CappedBuffer();
      let code: number | null | undefined;
      let signalName: string | undefined;

      const cleanup = (): void => {
        settled = true;
        this.pending.delete(fail);
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        if (options.stdin instanceof Readable && channel) options.stdin.unpipe(channel);
      };
      function fail(e: SdxError): void {
        if (settled) return;
        cleanup();
        slot.cancel();
        // The slot comes back when the server confirms the close.
        if (channel) {
          signalRemote(channel, "HUP");
          channel.close();
        }
        reject(e);
      }
      const onAbort = (): void => fail(new SdxError("SDX_ABORTED", `\`${label}\` on ${this.host.name} was aborted`, { fault: "user", cause: options.signal?.reason, details: { host: this.host.name } }));
      const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
        fail(new SdxError("SDX_BACKEND_ERROR", `\`${label}\` on ${this.host.name} timed out after ${options.timeoutMs} ms`, { fault: "backend", details: { host: this.host.name, timeoutMs: options.timeoutMs } }));
      }, options.timeoutMs);
      this.pending.add(fail);
      options.signal?.addEventListener("abort", onAbort, { once: true });

      void slot.ready.then(() => {
        holdsSlot = true;
        const release = (): void => {
          if (holdsSlot) {
            holdsSlot = false;
            this.slots.release();
          }
        };
        if (settled) return release();
        try {
          this.client.exec(command, (err, ch) => {
            if (err) {
              release();
              // ssh2 calls back with an error when the server refuses the channel or the connection dropped.
              return fail(this.lost ?? mapSshError(err, ctx));
            }
            channel = ch;
            ch.on("close", () => {
              release();
              if (settled) return;
              cleanup();
              resolve({ code: exitCode(code, signalName), stdout: stdout.text(), stderr: stderr.text() });
            });
            if (settled) return void ch.close();
            ch.on("exit", (c: number | null, s?: string) => {
              code = c;
              signalName = s;
            });
            ch.on("data", (chunk: Buffer) => {
              if (!options.onStdout) return stdout.push(chunk);
              try {
                options.onStdout(chunk);
              } catch (e) {
                fail(new SdxError("SDX_INTERNAL", `the stdout handler of \`${label}\` on ${this.host.name} threw`, { fault: "internal", cause: e }));
              }
            });
            ch.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
            ch.on("error", (e: unknown) => fail(mapSshError(e, ctx)));
            const input = options.stdin;
            if (input === undefined) ch.end();
            else if (input instanceof Readable) {
              input.once("error", (e) => fail(new SdxError("SDX_BACKEND_ERROR", `reading the input of \`${label}\` for ${this.host.name} failed`, { fault: "backend", cause: e, details: { host: this.host.name } })));
              input.pipe(ch);
            } else ch.end(typeof input === "string" ? Buffer.from(input) : input);
          });
        } catch (e) {
          // ssh2 throws "Not connected" when the socket went away between the check and the call.
          release();
          fail(this.lost ?? mapSshError(Object.assign(e instanceof Error ? e : new Error(String(e)), { level: "client-socket" }), ctx));
        }
      });
    });
  }
}

/**
 * Opens an SSH connection to one host with ssh2: key from `identityFile`
 * and/or the agent, host key checked against the pinned fingerprints or
 * known_hosts (never trusted on first use), keepalives so a vanished host
 * fails its commands instead of hanging them.
 */
export const connectHost: ConnectHost = async (host: HostSpec, options: ConnectHostOptions): Promise<HostConnection> => {
  throwIfAborted(options.signal);
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const agentSocket = options.agent === false ? undefined : (options.agentSocket ?? process.env.SSH_AUTH_SOCK) || undefined;
  const privateKey = options.identityFile === undefined ? undefined : await loadIdentity(options.identityFile);
  if (privateKey === undefined && agentSocket === undefined) {
    throw authError(`no SSH key to log in to ${sshDestination(host)} with: no identityFile, and ${options.agent === false ? "the agent is turned off (agent: false)" : "no ssh-agent ($SSH_AUTH_SOCK is not set)"}`,
      "Set identityFile in the target to a private key file, or start ssh-agent and `ssh-add` your key.", { host: host.name });
  }
  const authMethods = [...(privateKey ? [`identity file ${options.identityFile}`] : []), ...(agentSocket ? [`ssh-agent at ${agentSocket}`] : [])];
  const knownHostsFile = options.knownHosts ?? join(homedir(), ".ssh", "known_hosts");
  const knownHosts = await loadKnownHosts(knownHostsFile);
  const fingerprint = options.fingerprints?.[host.address] ?? options.fingerprints?.[host.name];
  throwIfAborted(options.signal);

  const client = new Client();
  let verdict: HostKeyVerdict | undefined;
  let hostKey: Buffer | undefined;
  const serverHostKey = fingerprint === undefined ? hostKeyAlgorithms(knownKeyTypes(knownHosts, host.address, host.port)) : undefined;
  const config: ConnectConfig = {
    host: host.address,
    port: host.port,
    username: host.user,
    ...(privateKey ? { privateKey } : {}),
    ...(agentSocket ? { agent: agentSocket } : {}),
    // Only the methods set up here, in this order; ssh2's default adds "none" and keyboard-interactive.
    authHandler: [...(privateKey ? ["publickey" as const] : []), ...(agentSocket ? ["agent" as const] : [])],
    readyTimeout: connectTimeoutMs,
    keepaliveInterval: KEEPALIVE_INTERVAL_MS,
    keepaliveCountMax: KEEPALIVE_COUNT_MAX,
    ...(serverHostKey ? { algorithms: { serverHostKey: serverHostKey as NonNullable<ConnectConfig["algorithms"]>["serverHostKey"] } } : {}),
    // The callback form: ssh2 passes the raw host key blob (SSH wire format) and waits for verify().
    hostVerifier: (key: Buffer, verify: (valid: boolean) => void): void => {
      hostKey = Buffer.from(key);
      verdict = checkHostKey(hostKey, { knownHosts, address: host.address, port: host.port, ...(fingerprint === undefined ? {} : { fingerprint }) });
      verify(verdict.kind === "trusted");
    },
  };

  return new Promise<HostConnection>((resolve, reject) => {
    let settled = false;
    const agentFailures: string[] = [];
    const ctx = (): SshErrorContext => ({
      host, phase: "connect", connectTimeoutMs,
      authMethods: authMethods.map((m) => (m.startsWith("ssh-agent") && agentFailures.length ? `${m} (unusable: ${agentFailures.join(", ")})` : m)),
    });
    const settle = (e: SdxError | undefined): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener("abort", onAbort);
      client.removeListener("ready", onReady);
      if (e) {
        client.removeListener("close", onClose);
        // Keep a listener: ssh2 may still emit errors while the socket winds down.
        client.on("error", () => {});
        client.removeListener("error", onError);
        client.end();
        reject(e);
      } else {
        client.removeListener("error", onError);
        client.removeListener("close", onClose);
        resolve(new SshHostConnection(host, client));
      }
    };
    // ssh2 reports a rejected host key as a generic handshake error: the verdict says why.
    const rejection = (e: unknown): SdxError =>
      verdict && verdict.kind !== "trusted" && hostKey
        ? hostKeyError(verdict, host, knownHostsLine(host.address, host.port, hostKey), knownHostsFile)
        : mapSshError(e, ctx());
    const onReady = (): void => settle(undefined);
    const onError = (e: unknown): void => {
      // ssh2 goes on to the next method after an agent failure; only remember it for the message.
      if ((e as { level?: unknown }).level === "agent") {
        const code = (e as { code?: unknown }).code;
        agentFailures.push(typeof code === "string" ? code : "the agent failed");
        return;
      }
      settle(rejection(e));
    };
    const onClose = (): void => settle(rejection(Object.assign(new Error("connection closed before the session was ready"), { level: "client-socket" })));
    const onAbort = (): void => settle(new SdxError("SDX_ABORTED", `connecting to ${host.name} was aborted`, { fault: "user", cause: options.signal?.reason, details: { host: host.name } }));
    client.on("ready", onReady).on("error", onError).on("close", onClose);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      client.connect(config);
    } catch (e) {
      settle(mapSshError(e, ctx()));
    }
  });
};
