// Test fixture: a HostConnection over the OpenSSH client (one `ssh` process per command),
// so the docker CLI host can be tested live independently of the ssh2 connection.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { SdxError } from "@sdx/sdk";
import type { HostSpec } from "../src/hosts-target.js";
import { shellQuote, type ExecOptions, type ExecResult, type HostConnection } from "../src/client/host-connection.js";

/** What the fixture needs from the hosts testenv. */
export interface OpenSshOptions {
  /** SDX_HOSTS_KEY */
  readonly key: string;
  /** SDX_HOSTS_KNOWN_HOSTS */
  readonly knownHosts: string;
}

/**
 * A HostConnection that runs each command with `ssh`, multiplexed over one
 * master connection (as ssh2 runs channels over one connection). `close()`
 * stops the master, which drops the TCP connection as a dead sdx would: the
 * remote commands lose their stdin and sshd ends their sessions.
 */
export function openSshConnection(host: HostSpec, o: OpenSshOptions): HostConnection {
  const live = new Set<ChildProcess>();
  let closed = false;
  // Unix socket paths are short (108 bytes): keep it in the temp dir with a short random name.
  const control = join(tmpdir(), `sdxd-cm-${randomBytes(4).toString("hex")}`);
  const sshArgs = [
    "-o", "ControlMaster=auto", "-o", `ControlPath=${control}`, "-o", "ControlPersist=30",
    "-F", "/dev/null", "-i", o.key, "-o", "IdentitiesOnly=yes", "-o", `UserKnownHostsFile=${o.knownHosts}`,
    "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
    "-o", "ConnectTimeout=10", "-p", String(host.port), `${host.user}@${host.address}`,
  ];

  const run = (command: string, opts: ExecOptions = {}): Promise<ExecResult> =>
    new Promise((resolve, reject) => {
      if (closed) return reject(new SdxError("SDX_BACKEND_UNREACHABLE", `connection to ${host.name} is closed`, { fault: "backend" }));
      const p = spawn("ssh", [...sshArgs, command], { stdio: ["pipe", "pipe", "pipe"] });
      live.add(p);
      const out: Buffer[] = [];
      let stderr = "";
      p.stdout!.on("data", (d: Buffer) => (opts.onStdout ? opts.onStdout(d) : out.push(d)));
      p.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      p.stdin!.on("error", () => undefined); // the remote end may exit before reading everything
      const stdin = opts.stdin;
      if (stdin === undefined) p.stdin!.end();
      else if (stdin instanceof Readable) stdin.pipe(p.stdin!);
      else p.stdin!.end(stdin);
      const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => p.kill("SIGTERM"), opts.timeoutMs);
      const onAbort = (): void => void p.kill("SIGTERM");
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      p.on("error", reject);
      p.on("close", (code, sig) => {
        live.delete(p);
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
        if (opts.signal?.aborted) return reject(new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user" }));
        if (code === 255 || code === null) {
          return reject(new SdxError("SDX_BACKEND_UNREACHABLE", `ssh to ${host.address} ended (${code ?? sig}): ${stderr.trim()}`, { fault: "backend" }));
        }
        resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr });
      });
    });

  return {
    host,
    exec: (argv, opts) => run(argv.map(shellQuote).join(" "), opts),
    script: (program, args, opts) => run(["sh", "-c", program, "sh", ...args].map(shellQuote).join(" "), opts),
    close: () => {
      if (closed) return;
      closed = true;
      spawnSync("ssh", ["-F", "/dev/null", "-o", `ControlPath=${control}`, "-O", "exit", `${host.user}@${host.address}`], { stdio: "ignore" });
      for (const p of live) p.kill("SIGTERM");
    },
  };
}
