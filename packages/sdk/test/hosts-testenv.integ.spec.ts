/**
 * Smoke test of the hosts test environment (scripts/testenv/hosts.sh): what the hosts
 * backend's tests rely on, checked with the real OpenSSH client against the real sshd and
 * Docker Engine of every "host" (a network namespace of its own).
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { requireTestenv } from "@sdx/sdk/testing";
import { writeTar } from "../src/build/tar-writer.js";

const te = requireTestenv("hosts");
// The registry is only asked for when the hosts are up: its own suite reports it missing otherwise.
const reg = te.env ? requireTestenv("registry") : undefined;

interface Run { code: number | null; stdout: string; stderr: string }

/** Runs a command to its end (no shell), with a deadline; never throws on a non-zero exit. */
function run(cmd: string, args: readonly string[], timeoutMs = 120_000): Promise<Run> {
  return new Promise((done, fail) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs });
    let stdout = "";
    let stderr = "";
    p.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    p.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    p.on("error", fail);
    p.on("close", (code) => done({ code, stdout, stderr }));
  });
}

/** GET of a Docker Engine API path over its unix socket, as parsed JSON. */
function engineGet<T>(socketPath: string, path: string): Promise<T> {
  return new Promise((done, fail) => {
    const req = request({ socketPath, path, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => (res.statusCode === 200 ? done(JSON.parse(body) as T) : fail(new Error(`${path}: ${res.statusCode} ${body}`))));
    });
    req.on("error", fail);
    req.end();
  });
}

const sha256 = (b: Uint8Array | string): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** OpenSSH's SHA256 fingerprint of a public key blob (base64 of the wire format). */
const fingerprintOf = (blobBase64: string): string =>
  `SHA256:${createHash("sha256").update(Buffer.from(blobBase64, "base64")).digest("base64").replace(/=+$/, "")}`;

/** Pushes a blob with a monolithic upload; returns its digest. */
async function pushBlob(base: string, repo: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes);
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  expect(start.status).toBe(202);
  const url = new URL(start.headers.get("location")!, base);
  url.searchParams.set("digest", digest);
  const put = await fetch(url, { method: "PUT", headers: { "content-type": "application/octet-stream" }, body: bytes });
  expect(put.status).toBe(201);
  return digest;
}

describe.skipIf(!te.env)("hosts test environment", () => {
  const env = te.env ?? {};
  const hosts = (env.SDX_HOSTS ?? "").split(",").filter(Boolean);
  const netns = (env.SDX_HOSTS_NETNS ?? "").split(",").filter(Boolean);
  const socks = (env.SDX_HOSTS_DOCKER_SOCKS ?? "").split(",").filter(Boolean);
  const image = env.SDX_HOSTS_IMAGE ?? "";
  const scratch = mkdtempSync(join(tmpdir(), "sdx-hosts-smoke-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** The OpenSSH client options a test (and the backend's docs) use: this key, these host keys, nothing else. */
  const sshOptions = (knownHosts = env.SDX_HOSTS_KNOWN_HOSTS ?? "", key = env.SDX_HOSTS_KEY ?? ""): string[] => [
    "-F", "/dev/null", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
    "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null",
    "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10", "-p", env.SDX_HOSTS_PORT ?? "22",
  ];
  const ssh = (host: string, command: string, opts: { knownHosts?: string; key?: string } = {}): Promise<Run> =>
    run("ssh", [...sshOptions(opts.knownHosts, opts.key), `${env.SDX_HOSTS_USER}@${host}`, command]);
  /** ssh that must succeed; returns stdout. */
  const sshOk = async (host: string, command: string): Promise<string> => {
    const r = await ssh(host, command);
    expect(r.code, `ssh ${host} ${command}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };

  it("writes the documented env keys: two or more hosts on one /24, a private key only root reads, one host key line per host", () => {
    expect(hosts.length).toBeGreaterThanOrEqual(2);
    for (const h of hosts) expect(h).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(new Set(hosts.map((h) => h.replace(/\.\d+$/, ""))).size).toBe(1);
    expect(new Set(hosts).size).toBe(hosts.length);
    expect(env.SDX_HOSTS_USER).toBe("root");
    expect(env.SDX_HOSTS_PORT).toBe("22");
    expect(netns).toHaveLength(hosts.length);
    expect(socks).toHaveLength(hosts.length);
    expect(image).toBe("sdx-busybox:latest");
    expect(statSync(env.SDX_HOSTS_KEY ?? "").mode & 0o777).toBe(0o600);
    expect(readFileSync(env.SDX_HOSTS_KEY ?? "", "utf8")).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);

    const lines = readFileSync(env.SDX_HOSTS_KNOWN_HOSTS ?? "", "utf8").trim().split("\n").map((l) => l.split(" "));
    expect(lines.map((l) => l[0])).toEqual(hosts);
    for (const l of lines) expect(l[1]).toBe("ssh-ed25519");
    // The fingerprints are those of the known_hosts keys, host by host.
    const fps = Object.fromEntries((env.SDX_HOSTS_FINGERPRINTS ?? "").split(",").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
    expect(Object.keys(fps)).toEqual(hosts);
    for (const l of lines) expect(fps[l[0]!]).toBe(fingerprintOf(l[2]!));
    expect(new Set(Object.values(fps)).size).toBe(hosts.length);
  });

  it("every sshd presents the host key that known_hosts names for its address", async () => {
    const known = readFileSync(env.SDX_HOSTS_KNOWN_HOSTS ?? "", "utf8");
    for (const h of hosts) {
      const r = await run("ssh-keyscan", ["-T", "10", "-t", "ed25519", "-p", env.SDX_HOSTS_PORT ?? "22", h]);
      const line = r.stdout.split("\n").find((l) => l.startsWith(`${h} `));
      expect(line, `ssh-keyscan ${h}: ${r.stderr}`).toBeDefined();
      expect(known).toContain(`${line!.trim()}\n`);
    }
  });

  it.each(hosts.map((h, i) => [h, i] as const))("%s: ssh runs docker with no flags against that host's own engine, and the busybox image runs", async (host, i) => {
    expect(await sshOk(host, "docker version --format '{{.Server.APIVersion}}'")).toMatch(/^1\.\d+\n$/);
    // The engine the session reaches is the one behind this host's socket in the env file, and no other host's.
    const own = await engineGet<{ DockerRootDir: string; ID: string; Swarm: { LocalNodeState: string } }>(socks[i]!, "/info");
    expect(await sshOk(host, "docker info --format '{{.ID}} {{.DockerRootDir}}'")).toBe(`${own.ID} ${own.DockerRootDir}\n`);
    expect(own.Swarm.LocalNodeState).toBe("inactive");
    const others = await Promise.all(socks.filter((_, j) => j !== i).map((s) => engineGet<{ ID: string }>(s, "/info")));
    expect(others.map((o) => o.ID)).not.toContain(own.ID);

    const r = await ssh(host, `docker run --rm ${image} echo ok`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("ok\n");
    // Nothing on stderr: a backend that reads it sees no engine warnings.
    expect(r.stderr).toBe("");
  });

  it("each host reaches every other host's sshd over the private subnet, from its own address", async () => {
    const opts = sshOptions().join(" ");
    for (const a of hosts) {
      for (const b of hosts.filter((x) => x !== a)) {
        const out = await sshOk(a, `ssh ${opts} ${env.SDX_HOSTS_USER}@${b} 'echo "$SSH_CLIENT"'`);
        expect(out.split(" ")[0], `${a} -> ${b}`).toBe(a);
      }
    }
  });

  it("a port published on a host answers from the machine at the host's address", async () => {
    for (const h of hosts) {
      const port = 20000 + Math.floor(Math.random() * 9000);
      const id = (await sshOk(h, `docker run -d --rm -p ${port}:80 ${image} httpd -f -p 80 -h /www`)).trim();
      try {
        let body = "";
        for (let i = 0; i < 50 && body === ""; i++) {
          body = await fetch(`http://${h}:${port}/`).then((r) => (r.status === 200 ? r.text() : ""), () => "");
          if (body === "") await new Promise((r) => setTimeout(r, 100));
        }
        expect(body, `http://${h}:${port}/`).toBe("sdx-busybox\n");
      } finally {
        await ssh(h, `docker rm -f ${id}`);
      }
    }
  });

  it("each host has its own SDX_HOSTS_PRIVATE_DIRS: a file written there is the host's alone, for its sessions and its containers' bind mounts", async () => {
    const dirs = (env.SDX_HOSTS_PRIVATE_DIRS ?? "").split(",").filter(Boolean);
    expect(dirs).toContain("/var/lib/sdx");
    const name = `smoke-${process.pid}-${Date.now()}`;
    const token = randomBytes(8).toString("hex");
    const [a, b] = hosts as [string, string];
    const file = `/var/lib/sdx/${name}/secret`;
    try {
      await sshOk(a, `mkdir -p /var/lib/sdx/${name} && printf '%s\\n' ${token} >${file} && chmod 0400 ${file}`);
      expect(await sshOk(a, `docker run --rm -v ${file}:/run/secrets/s:ro ${image} cat /run/secrets/s`)).toBe(`${token}\n`);
      const onB = await ssh(b, `cat ${file}`);
      expect(onB.code).not.toBe(0);
      expect(onB.stdout).toBe("");
      // Kept on the machine under the host's state dir, not at the path itself.
      expect(readFileSync(join(env.SDX_HOSTS_STATE ?? "", "host-1", "fs", file), "utf8")).toBe(`${token}\n`);
      expect(() => statSync(file)).toThrow(/ENOENT/);
    } finally {
      await ssh(a, `rm -rf /var/lib/sdx/${name}`);
    }
  });

  it.skipIf(!reg?.env)("every host's engine pulls an image from the test registry at 127.0.0.1:<port> by digest, and runs it", async () => {
    const base = `http://${reg?.env?.SDX_REGISTRY_ADDR}`;
    const repo = `sdx-smoke/hosts-${process.pid}-${Date.now()}`;
    const token = randomBytes(12).toString("hex");
    // One layer: busybox as /bin/sh (its shell applet, by the name it is called with) and a file to read back.
    const tar = writeTar([
      { kind: "dir", path: "bin" },
      { kind: "file", path: "bin/sh", bytes: readFileSync("/bin/busybox"), executable: true },
      { kind: "file", path: "hello.txt", bytes: Buffer.from(`${token}\n`) },
    ]);
    const layer = gzipSync(tar);
    const arch = process.arch === "x64" ? "amd64" : process.arch;
    const config = Buffer.from(JSON.stringify({ architecture: arch, os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [sha256(tar)] } }));
    const layerDigest = await pushBlob(base, repo, layer);
    const configDigest = await pushBlob(base, repo, config);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layerDigest, size: layer.length }],
    }));
    const put = await fetch(`${base}/v2/${repo}/manifests/1`, { method: "PUT", headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" }, body: manifest });
    expect(put.status).toBe(201);
    const ref = `${reg?.env?.SDX_REGISTRY_ADDR}/${repo}@${sha256(manifest)}`;

    for (const h of hosts) {
      await sshOk(h, `docker pull -q ${ref}`);
      expect(await sshOk(h, `docker image inspect --format '{{json .RepoDigests}}' ${ref}`)).toContain(JSON.stringify(ref).slice(1, -1));
      const r = await ssh(h, `docker run --rm ${ref} sh -c 'read l </hello.txt; echo "$l"'`);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`${token}\n`);
      await ssh(h, `docker rmi -f ${ref}`);
    }
  });

  it("the client refuses a host whose key is not the one known for its address, and a host it does not know", async () => {
    const known = readFileSync(env.SDX_HOSTS_KNOWN_HOSTS ?? "", "utf8").trim().split("\n");
    // The first host's address, with the second host's (real, but wrong) key.
    const swapped = join(scratch, "known_hosts.swapped");
    writeFileSync(swapped, `${hosts[0]} ${known[1]!.split(" ").slice(1).join(" ")}\n`);
    const wrong = await ssh(hosts[0]!, "echo ran", { knownHosts: swapped });
    expect(wrong.code).toBe(255);
    expect(wrong.stdout).toBe("");
    expect(wrong.stderr).toContain("Host key verification failed");

    const empty = join(scratch, "known_hosts.empty");
    writeFileSync(empty, "");
    const unknown = await ssh(hosts[0]!, "echo ran", { knownHosts: empty });
    expect(unknown.code).toBe(255);
    expect(unknown.stdout).toBe("");
    expect(unknown.stderr).toContain("Host key verification failed");
  });

  it("the sshd refuses a client key it was not given (public keys only)", async () => {
    const other = join(scratch, "other_key");
    const gen = await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other]);
    expect(gen.code, gen.stderr).toBe(0);
    const r = await ssh(hosts[0]!, "echo ran", { key: other });
    expect(r.code).toBe(255);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/Permission denied \(publickey\)/);
  });
});
