/**
 * Smoke test of the registry test environment (scripts/testenv/registry.sh) and of the
 * offline base root filesystem (scripts/base-image/base-rootfs.sh): what later build-and-ship
 * tests rely on, checked against the real processes.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { gzipSync } from "node:zlib";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, requireTestenv } from "@sdx/sdk/testing";

const te = requireTestenv("registry");
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";

const sha256 = (b: Uint8Array | string): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const basic = (user: string, password: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });

/** Pushes one blob with a monolithic upload (POST, then PUT with the digest); returns the PUT's status. */
async function pushBlob(base: string, repo: string, bytes: Uint8Array, headers: Record<string, string>): Promise<number> {
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST", headers });
  if (start.status !== 202) return start.status;
  const location = new URL(start.headers.get("location")!, base);
  location.searchParams.set("digest", sha256(bytes));
  const put = await fetch(location, { method: "PUT", headers: { ...headers, "content-type": "application/octet-stream" }, body: bytes });
  return put.status;
}

/** A tar archive holding one regular file (ustar; enough for a layer). */
function tarOneFile(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const put = (off: number, len: number, v: string) => header.write(v.slice(0, len), off, "ascii");
  put(0, 100, name);
  put(100, 8, "0000644\0");
  put(108, 8, "0000000\0");
  put(116, 8, "0000000\0");
  put(124, 12, `${content.length.toString(8).padStart(11, "0")}\0`);
  put(136, 12, "00000000000\0");
  header.fill(" ", 148, 156);
  put(156, 1, "0");
  put(257, 8, "ustar\x0000");
  let sum = 0;
  for (const b of header) sum += b;
  put(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  const pad = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, pad, Buffer.alloc(1024)]);
}

/**
 * A tiny OCI image pushed over the distribution API: a config and one layer, by default
 * random bytes (registries do not look inside), or a real gzipped tar when `tar` is given.
 */
async function pushTinyImage(base: string, repo: string, tag: string, headers: Record<string, string> = {}, tar?: Buffer) {
  const layer = tar ? gzipSync(tar) : randomBytes(64);
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha256(tar ?? layer)] } }));
  expect(await pushBlob(base, repo, layer, headers)).toBe(201);
  expect(await pushBlob(base, repo, config, headers)).toBe(201);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
    layers: [{ mediaType: tar ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar", digest: sha256(layer), size: layer.length }],
  }));
  const put = await fetch(`${base}/v2/${repo}/manifests/${tag}`, { method: "PUT", headers: { ...headers, "content-type": OCI_MANIFEST }, body: manifest });
  expect(put.status).toBe(201);
  return { manifest, digest: sha256(manifest), putDigest: put.headers.get("docker-content-digest") };
}

describe.skipIf(!te.env)("registry test environment", () => {
  const env = te.env ?? {};
  const anon = `http://${env.SDX_REGISTRY_ADDR}`;
  const authBase = `${env.SDX_REGISTRY_AUTH_SCHEME ?? "http"}://${env.SDX_REGISTRY_AUTH_ADDR}`;
  const creds = basic(env.SDX_REGISTRY_AUTH_USER ?? "", env.SDX_REGISTRY_AUTH_PASSWORD ?? "");
  const run = `${process.pid}-${Date.now()}`;

  it("writes the documented env keys, addresses on 127.0.0.1 and plain http for basic auth", () => {
    expect(env.SDX_REGISTRY_ADDR).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(env.SDX_REGISTRY_AUTH_ADDR).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(env.SDX_REGISTRY_AUTH_ADDR).not.toBe(env.SDX_REGISTRY_ADDR);
    expect(env.SDX_REGISTRY_AUTH_SCHEME).toBe("http");
    expect(env.SDX_REGISTRY_AUTH_USER).toBeTruthy();
    expect(env.SDX_REGISTRY_AUTH_PASSWORD?.length).toBeGreaterThanOrEqual(24);
    expect(env.SDX_REGISTRY_STATE).toBeTruthy();
  });

  it("the anonymous registry answers GET /v2/ with 200 as a distribution v2 registry", async () => {
    const r = await fetch(`${anon}/v2/`);
    expect(r.status).toBe(200);
    expect(r.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
  });

  it("the auth registry refuses anonymous and a wrong password with 401 and a Basic challenge, and accepts the credentials", async () => {
    const none = await fetch(`${authBase}/v2/`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Basic realm="[^"]+"/);
    const wrong = await fetch(`${authBase}/v2/`, { headers: basic(env.SDX_REGISTRY_AUTH_USER ?? "", "not-the-password") });
    expect(wrong.status).toBe(401);
    expect((await fetch(`${authBase}/v2/`, { headers: creds })).status).toBe(200);
    // Every route is guarded, not only the ping.
    expect((await fetch(`${authBase}/v2/sdx-smoke/x/manifests/1`)).status).toBe(401);
    expect((await fetch(`${authBase}/v2/sdx-smoke/x/blobs/uploads/`, { method: "POST" })).status).toBe(401);
  });

  it("stores an OCI manifest by its digest, serves the same bytes and deletes it (delete enabled)", async () => {
    const repo = `sdx-smoke/oci-${run}`;
    const { manifest, digest, putDigest } = await pushTinyImage(anon, repo, "1");
    expect(putDigest).toBe(digest);
    const got = await fetch(`${anon}/v2/${repo}/manifests/1`, { headers: { accept: OCI_MANIFEST } });
    expect(got.status).toBe(200);
    expect(got.headers.get("content-type")).toBe(OCI_MANIFEST);
    expect(got.headers.get("docker-content-digest")).toBe(digest);
    expect(Buffer.from(await got.arrayBuffer()).equals(manifest)).toBe(true);
    expect((await fetch(`${anon}/v2/${repo}/manifests/${digest}`, { method: "DELETE" })).status).toBe(202);
    const gone = await fetch(`${anon}/v2/${repo}/manifests/${digest}`, { headers: { accept: OCI_MANIFEST } });
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe("MANIFEST_UNKNOWN");
  });

  it("the auth registry takes a push only with the credentials", async () => {
    const repo = `sdx-smoke/auth-${run}`;
    expect(await pushBlob(authBase, repo, randomBytes(16), {})).toBe(401);
    const { digest } = await pushTinyImage(authBase, repo, "1", creds);
    expect((await fetch(`${authBase}/v2/${repo}/manifests/1`, { method: "HEAD", headers: { accept: OCI_MANIFEST } })).status).toBe(401);
    const head = await fetch(`${authBase}/v2/${repo}/manifests/1`, { method: "HEAD", headers: { ...creds, accept: OCI_MANIFEST } });
    expect(head.status).toBe(200);
    expect(head.headers.get("docker-content-digest")).toBe(digest);
    expect((await fetch(`${authBase}/v2/${repo}/manifests/${digest}`, { method: "DELETE", headers: creds })).status).toBe(202);
  });

  it.skipIf(!env.SDX_REGISTRY_BASE_IMAGE)("serves the offline base image as a linux/amd64 + linux/arm64 index", async () => {
    const ref = env.SDX_REGISTRY_BASE_IMAGE!;
    const m = /^([^/]+)\/(.+):([^:/]+)$/.exec(ref);
    expect(m).not.toBeNull();
    const r = await fetch(`http://${m![1]}/v2/${m![2]}/manifests/${m![3]}`, { headers: { accept: [OCI_INDEX, DOCKER_LIST].join(", ") } });
    expect(r.status).toBe(200);
    expect([OCI_INDEX, DOCKER_LIST]).toContain(r.headers.get("content-type"));
    const index = (await r.json()) as { manifests: { platform?: { os: string; architecture: string } }[] };
    expect(index.manifests.map((d) => `${d.platform?.os}/${d.platform?.architecture}`).sort()).toEqual(["linux/amd64", "linux/arm64"]);
  });
});

// The Swarm test engine (its dockerd in its own network namespace) pulls from the registry at
// the same address the host uses. Needs both envs; under CI requireTestenv fails loudly instead.
const swarm = te.env ? requireTestenv("swarm") : { env: undefined };

describe.skipIf(!te.env || !swarm.env)("registry seen from the Swarm test engine", () => {
  const env = te.env ?? {};
  const senv = swarm.env ?? {};
  const netns = senv.SDX_SWARM_NETNS ?? "";
  let dockerConfig = "";
  const tag = `smoke-${process.pid}-${Date.now()}`;
  const pushed: string[] = [];
  /** docker CLI on the engine's socket, with a throwaway config dir (logins never reach ~/.docker). */
  const docker = (args: string[], input?: string) =>
    spawnSync("docker", ["-H", senv.SDX_SWARM_DOCKER_HOST ?? "", ...args], { env: { ...process.env, DOCKER_CONFIG: dockerConfig }, encoding: "utf8", input, timeout: 120_000 });
  const inNetns = (url: string, extra: string[] = []) =>
    execFileSync("nsenter", [`--net=/run/netns/${netns}`, "--", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", ...extra, url], { encoding: "utf8" });
  const digestOf = async (base: string, repo: string, ref: string, headers: Record<string, string> = {}) => {
    const r = await fetch(`${base}/v2/${repo}/manifests/${ref}`, { method: "HEAD", headers: { ...headers, accept: [DOCKER_MANIFEST, OCI_MANIFEST].join(", ") } });
    return r.status === 200 ? r.headers.get("docker-content-digest") : `HTTP ${r.status}`;
  };

  beforeAll(() => {
    dockerConfig = mkdtempSync(join(tmpdir(), "sdx-registry-docker-config-"));
  });
  afterAll(() => {
    for (const ref of pushed) docker(["rmi", ref]);
    if (dockerConfig) rmSync(dockerConfig, { recursive: true, force: true });
  });

  it("reaches both registries at the host's addresses inside the engine's network namespace", () => {
    expect(inNetns(`http://${env.SDX_REGISTRY_ADDR}/v2/`)).toBe("200");
    expect(inNetns(`http://${env.SDX_REGISTRY_AUTH_ADDR}/v2/`)).toBe("401");
    expect(inNetns(`http://${env.SDX_REGISTRY_AUTH_ADDR}/v2/`, ["-u", `${env.SDX_REGISTRY_AUTH_USER}:${env.SDX_REGISTRY_AUTH_PASSWORD}`])).toBe("200");
  });

  it("the engine pushes to and pulls from the anonymous registry over plain http", async () => {
    const repo = "sdx-smoke/busybox";
    const ref = `${env.SDX_REGISTRY_ADDR}/${repo}:${tag}`;
    expect(docker(["tag", senv.SDX_SWARM_IMAGE ?? "sdx-busybox:latest", ref]).status).toBe(0);
    pushed.push(ref);
    const push = docker(["push", ref]);
    expect(push.status, push.stderr).toBe(0);
    const digest = await digestOf(`http://${env.SDX_REGISTRY_ADDR}`, repo, tag);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(push.stdout).toContain(`digest: ${digest}`);
    expect(docker(["rmi", ref]).status).toBe(0);
    const pull = docker(["pull", ref]);
    expect(pull.status, pull.stderr).toBe(0);
    expect(docker(["image", "inspect", "--format", "{{json .RepoDigests}}", ref]).stdout).toContain(`${env.SDX_REGISTRY_ADDR}/${repo}@${digest}`);
  });

  it("the engine pulls an image the host pushed (a fresh layer, so blobs travel through the forwarders)", async () => {
    const repo = `sdx-smoke/from-host-${tag}`;
    const tar = tarOneFile("hello.txt", Buffer.from(`hello ${tag}\n`));
    const img = await pushTinyImage(`http://${env.SDX_REGISTRY_ADDR}`, repo, "1", {}, tar);
    const ref = `${env.SDX_REGISTRY_ADDR}/${repo}@${img.digest}`;
    const pull = docker(["pull", ref]);
    expect(pull.status, pull.stderr).toBe(0);
    pushed.push(ref);
    const layers = docker(["image", "inspect", "--format", "{{json .RootFS.Layers}}", ref]);
    expect(JSON.parse(layers.stdout)).toEqual([sha256(tar)]);
  });

  it("the engine pushes to the auth registry only after docker login", async () => {
    const repo = "sdx-smoke/busybox";
    const ref = `${env.SDX_REGISTRY_AUTH_ADDR}/${repo}:${tag}`;
    const base = `${env.SDX_REGISTRY_AUTH_SCHEME ?? "http"}://${env.SDX_REGISTRY_AUTH_ADDR}`;
    const creds = basic(env.SDX_REGISTRY_AUTH_USER ?? "", env.SDX_REGISTRY_AUTH_PASSWORD ?? "");
    expect(docker(["tag", senv.SDX_SWARM_IMAGE ?? "sdx-busybox:latest", ref]).status).toBe(0);
    pushed.push(ref);
    expect(docker(["push", ref]).status).not.toBe(0);
    expect(await digestOf(base, repo, tag, creds)).toBe("HTTP 404");
    const login = docker(["login", "-u", env.SDX_REGISTRY_AUTH_USER ?? "", "--password-stdin", env.SDX_REGISTRY_AUTH_ADDR ?? ""], env.SDX_REGISTRY_AUTH_PASSWORD);
    expect(login.status, login.stderr).toBe(0);
    const push = docker(["push", ref]);
    expect(push.status, push.stderr).toBe(0);
    expect(await digestOf(base, repo, tag, creds)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(docker(["logout", env.SDX_REGISTRY_AUTH_ADDR ?? ""]).status).toBe(0);
  });
});

// ---------------------------------------------------------------- base-rootfs.sh
/** Every entry under dir: path, type, mode, owner, link target or content digest. */
function treeSignature(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = join(dir, rel);
    const st = lstatSync(abs);
    const what = st.isSymbolicLink() ? `-> ${readlinkSync(abs)}` : st.isFile() ? sha256(readFileSync(abs)) : st.isDirectory() ? "dir" : "other";
    out.push(`${rel || "."} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${what}`);
    if (st.isDirectory() && !st.isSymbolicLink()) for (const n of readdirSync(abs).sort()) walk(rel ? `${rel}/${n}` : n);
  };
  walk("");
  return out;
}

const canChroot = process.platform === "linux" && process.arch === "x64" && process.getuid?.() === 0;

describe.skipIf(!te.env || !canChroot)("offline base root filesystem (base-rootfs.sh)", () => {
  const env = te.env ?? {};
  let work = "";
  const script = resolve(REPO_ROOT, "scripts/base-image/base-rootfs.sh");
  const build = (arch: string, out: string) => execFileSync("bash", [script, arch, out], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 300_000 });
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "sdx-base-rootfs-"));
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("is byte-identical on a re-run and has the documented users, /tmp and loader", () => {
    build("amd64", join(work, "a"));
    build("amd64", join(work, "b"));
    const a = treeSignature(join(work, "a"));
    expect(treeSignature(join(work, "b"))).toEqual(a);
    expect(a).toContain("tmp 1777 0:0 dir");
    expect(a).toContain("lib64/ld-linux-x86-64.so.2 777 0:0 -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
    expect(a.find((l) => l.startsWith("home/nonroot "))).toBe("home/nonroot 755 65532:65532 dir");
    const passwd = readFileSync(join(work, "a/etc/passwd"), "utf8");
    expect(passwd).toMatch(/^root:x:0:0:/m);
    expect(passwd).toMatch(/^nonroot:x:65532:65532:/m);
    expect(readFileSync(join(work, "a/etc/group"), "utf8")).toMatch(/^nonroot:x:65532:/m);
    // No Node runtime in the base: the builder adds one.
    expect(a.some((l) => /(^|\/)node /.test(l))).toBe(false);
  });

  it("runs the official Node binary (as root and as nonroot) and busybox wget reaches the registry", () => {
    const root = join(work, "a");
    copyFileSync(process.execPath, join(root, "usr/local/bin/node"));
    const node = spawnSync("chroot", [root, "/usr/local/bin/node", "-e", "console.log(process.version, require('os').userInfo().username)"], { encoding: "utf8" });
    expect(node.stderr).toBe("");
    expect(node.stdout.trim()).toBe(`${process.version} root`);
    const nonroot = spawnSync("chroot", ["--userspec=65532:65532", root, "/usr/local/bin/node", "-e", "console.log(require('os').userInfo().username, require('os').userInfo().homedir)"], { encoding: "utf8" });
    expect(nonroot.stdout.trim()).toBe("nonroot /home/nonroot");
    const wget = spawnSync("chroot", [root, "/bin/sh", "-c", `wget -q -O- http://${env.SDX_REGISTRY_ADDR}/v2/`], { encoding: "utf8" });
    expect(wget.status, wget.stderr).toBe(0);
    expect(wget.stdout).toBe("{}");
  });

  it("builds the arm64 variant with aarch64 binaries at the arm64 loader path", () => {
    const out = join(work, "arm");
    build("arm64", out);
    const sig = treeSignature(out);
    expect(sig).toContain("lib/ld-linux-aarch64.so.1 777 0:0 -> aarch64-linux-gnu/ld-linux-aarch64.so.1");
    // ELF e_machine (offset 18, little-endian): 183 = AArch64.
    for (const f of ["bin/busybox", "lib/aarch64-linux-gnu/libc.so.6", "usr/lib/aarch64-linux-gnu/libstdc++.so.6", "lib/aarch64-linux-gnu/libgcc_s.so.1"]) {
      expect(readFileSync(join(out, f)).readUInt16LE(18), f).toBe(183);
    }
    expect(sig.filter((l) => l.startsWith("bin/") && l.endsWith("-> busybox")).map((l) => l.split(" ")[0])).toEqual(
      expect.arrayContaining(["bin/sh", "bin/wget", "bin/cat", "bin/ls", "bin/env", "bin/sleep", "bin/nc"]),
    );
  });
});
