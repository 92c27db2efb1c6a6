/**
 * The hosts backend's SSH connection (ssh2) against the real sshd of every
 * host in the hosts test environment (scripts/testenv/hosts.sh): auth, host key
 * checks, quoting, stdin, concurrency, timeouts and a host that vanishes.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { isSdxError, type SdxError } from "@sdx/sdk";
import { requireTestenv } from "@sdx/sdk/testing";
import type { HostSpec } from "../src/hosts-target.js";
import type { ConnectHostOptions, HostConnection } from "../src/client/host-connection.js";
import { connectHost } from "../src/client/ssh-host-connection.js";

const run = promisify(execFile);
const te = requireTestenv("hosts");

/** The SdxError a promise rejects with (fails the test when it resolves or throws something else). */
async function sdxErrorOf(p: Promise<unknown>): Promise<SdxError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(isSdxError(e), `expected an SdxError, got ${String(e)}`).toBe(true);
  return e as SdxError;
}

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

describe.skipIf(!te.env)("ssh host connection (ssh2) against the hosts testenv", () => {
  const env = te.env ?? {};
  const addresses = (env.SDX_HOSTS ?? "").split(",").filter(Boolean);
  const netns = (env.SDX_HOSTS_NETNS ?? "").split(",").filter(Boolean);
  const fingerprints = Object.fromEntries((env.SDX_HOSTS_FINGERPRINTS ?? "").split(",").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])) as Record<string, string>;
  const key = env.SDX_HOSTS_KEY ?? "";
  const knownHosts = env.SDX_HOSTS_KNOWN_HOSTS ?? "";
  const knownLines = readFileSync(knownHosts || "/dev/null", "utf8").trim().split("\n");
  const scratch = mkdtempSync(join(tmpdir(), "sdxa-ssh-"));
  const open: HostConnection[] = [];
  afterAll(() => {
    for (const c of open) c.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  const hostAt = (address: string, over: Partial<HostSpec> = {}): HostSpec => ({
    name: address, address, user: env.SDX_HOSTS_USER ?? "root", port: Number(env.SDX_HOSTS_PORT ?? 22), labels: {}, capacity: "on-demand", ...over,
  });
  /** Key file and known_hosts only: no agent, whatever $SSH_AUTH_SOCK says. */
  const keyOnly: ConnectHostOptions = { identityFile: key, agent: false, knownHosts };
  const connect = async (address: string, options: ConnectHostOptions = keyOnly, over: Partial<HostSpec> = {}): Promise<HostConnection> => {
    const c = await connectHost(hostAt(address, over), options);
    open.push(c);
    return c;
  };
  const scratchFile = (name: string, content: string): string => {
    const p = join(scratch, name);
    writeFileSync(p, content, { mode: 0o600 });
    return p;
  };

  it.each(addresses)("%s: connects with the key and known_hosts, and `docker info` exits 0 against the host's engine", async (address) => {
    const c = await connect(address);
    const r = await c.exec(["docker", "info", "--format", "{{.ServerVersion}}"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+/);
    expect((await c.exec(["hostname", "-I"])).stdout).toContain(address);
    c.close();
    c.close();
  });

  it("passes every argument verbatim: quotes, spaces, $(), backticks, globs and empty strings are never interpreted", async () => {
    const c = await connect(addresses[0]!);
    const args = ["it's", "a  b", "$(echo pwned)", "`id`", "\"q\" \\n", "*", "", "-n", "x;y|z&&w", "ünï €"];
    const viaScript = await c.script(`for a in "$@"; do printf '[%s]\\n' "$a"; done`, args);
    expect(viaScript.code, viaScript.stderr).toBe(0);
    expect(viaScript.stdout).toBe(args.map((a) => `[${a}]\n`).join(""));
    const viaExec = await c.exec(["printf", "[%s]\\n", ...args]);
    expect(viaExec.stdout).toBe(viaScript.stdout);
    // $0 is the fixed name, so $1 is the first argument.
    expect((await c.script('printf "%s|%s" "$0" "$1"', ["first"])).stdout).toBe("sdx|first");
  });

  it("reports exit codes, stderr, and a signal-killed command as 128+n, without throwing", async () => {
    const c = await connect(addresses[0]!);
    const r = await c.script("echo out; echo err >&2; exit 7", []);
    expect(r).toEqual({ code: 7, stdout: "out\n", stderr: "err\n" });
    expect((await c.script("kill -KILL $$", [])).code).toBe(137);
    const missing = await c.exec(["sdxa-no-such-command"]);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain("sdxa-no-such-command");
  });

  it("round-trips 1 MiB of binary stdin through `cat` byte for byte, from a Buffer and from a stream", async () => {
    const c = await connect(addresses[1]!);
    const data = randomBytes(1024 * 1024);
    const chunks: Buffer[] = [];
    const r = await c.exec(["cat"], { stdin: data, onStdout: (b) => chunks.push(b) });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(sha256(Buffer.concat(chunks))).toBe(sha256(data));

    const streamed = await c.exec(["sha256sum"], { stdin: Readable.from([data.subarray(0, 300_000), data.subarray(300_000)]) });
    expect(streamed.stdout).toBe(`${sha256(data)}  -\n`);
    // No stdin: it is closed at once, so `cat` ends instead of waiting.
    expect(await c.exec(["cat"], { timeoutMs: 5_000 })).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  it("runs 20 execs at once on one connection (more than sshd's 10 sessions) and every one succeeds", async () => {
    const c = await connect(addresses[0]!);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => c.script('sleep 0.3; echo "$1"', [`sdxa-${i}`])));
    expect(results.map((r) => r.code)).toEqual(Array(20).fill(0));
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 20 }, (_, i) => `sdxa-${i}\n`));
  });

  it("keeps 16 MiB of a stream's output and says how much it dropped", async () => {
    const c = await connect(addresses[0]!);
    const r = await c.script("head -c 17825792 /dev/zero | tr '\\0' a", []);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith("a".repeat(1000))).toBe(true);
    expect(r.stdout.length).toBeLessThan(16 * 2 ** 20 + 200);
    expect(r.stdout.slice(16 * 2 ** 20)).toBe(`\n[sdx: output truncated, ${2 ** 20} more bytes after the first ${16 * 2 ** 20} dropped]\n`);
  });

  it("refuses an unknown host key (empty known_hosts, no fingerprints) with SDX_HOST_KEY_UNKNOWN and the host's real fingerprint", async () => {
    const address = addresses[0]!;
    const empty = scratchFile("known_hosts.empty", "");
    const e = await sdxErrorOf(connect(address, { ...keyOnly, knownHosts: empty }));
    expect(e.code).toBe("SDX_HOST_KEY_UNKNOWN");
    expect(e.fault).toBe("user");
    expect(e.message).toContain(address);
    expect(e.message).toContain(fingerprints[address]);
    expect(e.details?.fingerprint).toBe(fingerprints[address]);
    expect(e.hint).toContain(`fingerprints: { "${address}": "${fingerprints[address]}" }`);
    // The ready-to-paste line is the one the testenv wrote for this host.
    expect(e.details?.knownHostsLine).toBe(knownLines.find((l) => l.startsWith(`${address} `)));
    // A missing known_hosts file counts as empty.
    const missing = await sdxErrorOf(connect(address, { ...keyOnly, knownHosts: join(scratch, "sdxa-no-such-file") }));
    expect(missing.code).toBe("SDX_HOST_KEY_UNKNOWN");
  });

  it("refuses a host whose key differs from the pinned fingerprint or known_hosts with SDX_HOST_KEY_MISMATCH, naming both keys", async () => {
    const [a, b] = addresses as [string, string];
    const empty = scratchFile("known_hosts.empty2", "");
    const pinned = await sdxErrorOf(connect(a, { ...keyOnly, knownHosts: empty, fingerprints: { [a]: fingerprints[b]! } }));
    expect(pinned.code).toBe("SDX_HOST_KEY_MISMATCH");
    expect(pinned.fault).toBe("user");
    expect(pinned.message).toContain(fingerprints[a]);
    expect(pinned.message).toContain(fingerprints[b]);
    expect(pinned.message).toContain("man-in-the-middle");
    expect(pinned.details?.expected).toEqual([fingerprints[b]]);

    // Host a's address listed with host b's key: the known_hosts entry decides.
    const swapped = scratchFile("known_hosts.swapped", `${a} ${knownLines.find((l) => l.startsWith(`${b} `))!.split(" ").slice(1).join(" ")}\n`);
    const known = await sdxErrorOf(connect(a, { ...keyOnly, knownHosts: swapped }));
    expect(known.code).toBe("SDX_HOST_KEY_MISMATCH");
    expect(known.details).toMatchObject({ fingerprint: fingerprints[a], expected: [fingerprints[b]] });

    // A pinned fingerprint by host name works as by address.
    const byName = await sdxErrorOf(connect(a, { ...keyOnly, knownHosts: empty, fingerprints: { "sdxa-one": fingerprints[b]! } }, { name: "sdxa-one" }));
    expect(byName.code).toBe("SDX_HOST_KEY_MISMATCH");
  });

  it("trusts a host by its pinned fingerprint alone (by address or by name), with no known_hosts entry", async () => {
    const [a, b] = addresses as [string, string];
    const empty = scratchFile("known_hosts.empty3", "");
    const c = await connect(a, { ...keyOnly, knownHosts: empty, fingerprints: { [a]: fingerprints[a]! } });
    expect((await c.exec(["true"])).code).toBe(0);
    const byName = await connect(b, { ...keyOnly, knownHosts: empty, fingerprints: { "sdxa-two": fingerprints[b]! } }, { name: "sdxa-two" });
    expect((await byName.exec(["true"])).code).toBe(0);
  });

  it("a client key the host does not accept fails with SDX_BACKEND_AUTH naming user@address:port and the key tried", async () => {
    const other = join(scratch, "sdxa_other_key");
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other]);
    const address = addresses[0]!;
    const e = await sdxErrorOf(connect(address, { ...keyOnly, identityFile: other }));
    expect(e.code).toBe("SDX_BACKEND_AUTH");
    expect(e.fault).toBe("user");
    expect(e.message).toContain(`root@${address}:22`);
    expect(e.message).toContain(`identity file ${other}`);
  });

  it("refuses to start without any key: no identityFile and the agent off", async () => {
    const e = await sdxErrorOf(connect(addresses[0]!, { agent: false, knownHosts }));
    expect(e.code).toBe("SDX_BACKEND_AUTH");
    expect(e.hint).toMatch(/identityFile/);
    expect(e.hint).toMatch(/ssh-agent/);
  });

  it("a passphrase-protected identity file fails with SDX_BACKEND_AUTH naming the file and pointing at the agent", async () => {
    const locked = join(scratch, "sdxa_locked_key");
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "sdxa-passphrase", "-f", locked]);
    const e = await sdxErrorOf(connect(addresses[0]!, { ...keyOnly, identityFile: locked }));
    expect(e.code).toBe("SDX_BACKEND_AUTH");
    expect(e.message).toContain(locked);
    expect(e.message).toContain("passphrase");
    expect(e.message).not.toContain("sdxa-passphrase");
    expect(e.hint).toContain("ssh-add");
  });

  it("logs in with the keys of an ssh-agent only", async () => {
    const sock = join(scratch, "sdxa-agent.sock");
    const { stdout } = await run("ssh-agent", ["-s", "-a", sock]);
    const pid = /SSH_AGENT_PID=(\d+)/.exec(stdout)?.[1];
    expect(pid).toBeDefined();
    try {
      await run("ssh-add", [key], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
      const c = await connect(addresses[1]!, { agentSocket: sock, knownHosts });
      expect((await c.exec(["echo", "via agent"])).stdout).toBe("via agent\n");
      c.close();
      // An agent without the right key is refused like a wrong key file, and the message says the agent was tried.
      await run("ssh-add", ["-D"], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
      const e = await sdxErrorOf(connect(addresses[1]!, { agentSocket: sock, knownHosts }));
      expect(e.code).toBe("SDX_BACKEND_AUTH");
      expect(e.message).toContain(`ssh-agent at ${sock}`);
    } finally {
      process.kill(Number(pid), "SIGTERM");
    }
  });

  it("a closed port fails fast with SDX_BACKEND_UNREACHABLE naming address:port", async () => {
    const started = Date.now();
    const e = await sdxErrorOf(connect(addresses[0]!, keyOnly, { port: 2 }));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(e.code).toBe("SDX_BACKEND_UNREACHABLE");
    expect(e.message).toContain(`${addresses[0]}:2`);
    expect(e.details?.code).toBe("ECONNREFUSED");
  });

  it("a host that does not answer fails with SDX_BACKEND_UNREACHABLE after the connect timeout", async () => {
    // .250 of the test subnet is routed to the bridge but nobody has it.
    const silent = addresses[0]!.replace(/\.\d+$/, ".250");
    const started = Date.now();
    const e = await sdxErrorOf(connect(silent, { ...keyOnly, connectTimeoutMs: 1_500 }));
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(e.code).toBe("SDX_BACKEND_UNREACHABLE");
    expect(e.message).toContain(`${silent}:22`);
  });

  it("an abort signal while connecting stops at once with SDX_ABORTED", async () => {
    const silent = addresses[0]!.replace(/\.\d+$/, ".251");
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const started = Date.now();
    const e = await sdxErrorOf(connect(silent, { ...keyOnly, signal: ac.signal }));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(e.code).toBe("SDX_ABORTED");
  });

  it("an abort signal stops `sleep 30` with SDX_ABORTED within 2 s, and the connection still works after", async () => {
    const c = await connect(addresses[0]!);
    const ac = new AbortController();
    const started = Date.now();
    const pending = sdxErrorOf(c.exec(["sleep", "30"], { signal: ac.signal }));
    setTimeout(() => ac.abort(), 300);
    const e = await pending;

    expect(Date.now() - started).toBeLessThan(2_000);
    expect(e.code).toBe("SDX_ABORTED");
    expect((await c.exec(["echo", "still here"])).stdout).toBe("still here\n");
    // An already-aborted signal never starts the command.
    expect((await sdxErrorOf(c.exec(["true"], { signal: AbortSignal.abort() }))).code).toBe("SDX_ABORTED");
  });

  it("a timeout rejects with SDX_BACKEND_ERROR naming only the command's first words, never its arguments or stdin", async () => {
    const c = await connect(addresses[0]!);
    const e = await sdxErrorOf(c.exec(["sh", "-c", "sleep 30", "sdxa-secret-arg"], { stdin: "sdxa-secret-stdin", timeoutMs: 300 }));
    expect(e.code).toBe("SDX_BACKEND_ERROR");
    expect(e.message).toContain("`sh -c`");
    expect(e.message).toContain("timed out after 300 ms");
    expect(JSON.stringify(e.toJSON())).not.toMatch(/sdxa-secret/);
  });

  it("exec after close() is refused", async () => {
    const c = await connect(addresses[0]!);
    c.close();
    const e = await sdxErrorOf(c.exec(["true"]));
    expect(isSdxError(e)).toBe(true);
  });

  it("a host taken off the network during `sleep 60` fails the exec with SDX_BACKEND_UNREACHABLE within 30 s", async () => {
    const i = addresses.length - 1;
    const address = addresses[i]!;
    const ns = netns[i]!;
    const c = await connect(address);
    const started = Date.now();
    const pending = sdxErrorOf(c.exec(["sleep", "60"]));
    try {
      await new Promise((r) => setTimeout(r, 500));
      await run("ip", ["-n", ns, "link", "set", "eth0", "down"]);
      const e = await pending;
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(e.code).toBe("SDX_BACKEND_UNREACHABLE");
      expect(e.message).toContain(address);
      // Every later call on the dead connection fails the same way, at once.
      expect((await sdxErrorOf(c.exec(["true"]))).code).toBe("SDX_BACKEND_UNREACHABLE");
    } finally {
      await run("ip", ["-n", ns, "link", "set", "eth0", "up"]);
    }
    // Back on the network, a new connection works.
    const again = await connect(address);
    expect((await again.exec(["true"])).code).toBe(0);
  }, 60_000);
});
