/**
 * The docker CLI host (createDockerHost) against the hosts testenv's real sshd and
 * Docker Engine 20.10, once over the OpenSSH client fixture and once over the backend's
 * own ssh2 connection (connectHost). Everything it creates is named `sdxd-…` and lives
 * under /var/lib/sdx/sdxd-test; afterAll removes it.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isSdxError, type SdxError } from "@sdx/sdk";
import { requireTestenv } from "@sdx/sdk/testing";
import type { HostSpec } from "../src/hosts-target.js";
import { createDockerHost } from "../src/client/cli-docker-host.js";
import type { ContainerSpec, DockerHost } from "../src/client/docker-host.js";
import type { HostConnection } from "../src/client/host-connection.js";
import { connectHost } from "../src/client/ssh-host-connection.js";
import { openSshConnection } from "./openssh-connection.js";

const te = requireTestenv("hosts");

const DATA_DIR = "/var/lib/sdx/sdxd-test";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function rejection(p: Promise<unknown>): Promise<SdxError> {
  const e: unknown = await p.then(() => undefined, (x: unknown) => x);
  if (!isSdxError(e)) throw new Error(`expected an SdxError, got ${String(e)}`);
  return e;
}

/** Polls until `check` returns a value, or fails with the last value seen. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

type Open = (host: HostSpec, env: Record<string, string>) => Promise<HostConnection>;
const connections: [string, Open][] = [
  ["the OpenSSH client", async (h, env) => openSshConnection(h, { key: env.SDX_HOSTS_KEY ?? "", knownHosts: env.SDX_HOSTS_KNOWN_HOSTS ?? "" })],
  ["ssh2 (connectHost)", (h, env) => connectHost(h, { identityFile: env.SDX_HOSTS_KEY ?? "", knownHosts: env.SDX_HOSTS_KNOWN_HOSTS ?? "", agent: false })],
];

describe.skipIf(!te.env).each(connections)("CliDockerHost on the hosts testenv over %s", (_label, open) => {
  const RUN = `${process.pid.toString(36)}${randomBytes(3).toString("hex")}`;
  const APP = `sdxd-app-${RUN}`;
  const APP_DIR = `${DATA_DIR}/${APP}`;
  const NETWORK = `sdxd-net-${RUN}`;
  const env = te.env ?? {};
  const addresses = (env.SDX_HOSTS ?? "").split(",").filter(Boolean);
  const image = env.SDX_HOSTS_IMAGE ?? "";
  const hostSpec = (i: number): HostSpec => ({
    name: `sdxd-h${i + 1}`, address: addresses[i]!, user: env.SDX_HOSTS_USER ?? "root", port: Number(env.SDX_HOSTS_PORT ?? 22), labels: {}, capacity: "on-demand",
  });
  const opened: HostConnection[] = [];
  const connect = async (i: number): Promise<HostConnection> => {
    const c = await open(hostSpec(i), env);
    opened.push(c);
    return c;
  };
  let d1: DockerHost;
  let d2: DockerHost;
  const scratch = mkdtempSync(join(tmpdir(), "sdxd-"));
  const loadedImages: string[] = [];

  beforeAll(async () => {
    d1 = createDockerHost(await connect(0));
    d2 = createDockerHost(await connect(1));
  });

  afterAll(async () => {
    for (const d of [d1, d2]) {
      if (!d) continue;
      for (const c of await d.listContainers(APP).catch(() => [])) await d.remove(c.id).catch(() => undefined);
      await d.removeNetwork(NETWORK).catch(() => undefined);
      await d.removePaths([DATA_DIR], "/var/lib/sdx").catch(() => undefined);
    }
    for (const id of loadedImages) await d1?.connection.exec(["docker", "rmi", "-f", id]).catch(() => undefined);
    for (const c of opened) c.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** Runs a command on host 1 that must succeed; returns stdout. */
  const sh1 = async (argv: readonly string[]): Promise<string> => {
    const r = await d1.connection.exec(argv);
    expect(r.code, `${argv.join(" ")}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };

  const baseSpec = (name: string, over: Partial<ContainerSpec> = {}): ContainerSpec => ({
    name, image, labels: { "sdx.dev/app": APP }, env: {}, envFiles: [], ports: [], mounts: [], network: NETWORK, aliases: [], restart: "no",
    command: ["sleep", "600"], ...over,
  });

  it("info: each host's own engine, its CPUs, memory, arch and version", async () => {
    const [a, b] = [await d1.info(), await d2.info()];
    expect(a.engineId).toMatch(/^[A-Z0-9]{4}(:[A-Z0-9]{4}){11}$/);
    expect(a.engineId).not.toBe(b.engineId);
    expect(a.cpuMillis).toBeGreaterThanOrEqual(1000);
    expect(a.cpuMillis % 1000).toBe(0);
    expect(a.memoryMiB).toBeGreaterThan(256);
    expect(a.arch).toBe(process.arch === "x64" ? "amd64" : process.arch);
    expect(a.serverVersion).toMatch(/^20\.10\./);
  });

  it("runs a labelled, published, healthy container with a read-only secret file and an env file, and manages its life", async () => {
    await d1.ensureNetwork(NETWORK, { "sdx.dev/app": APP });
    await d1.ensureNetwork(NETWORK, { "sdx.dev/app": APP }); // idempotent
    expect(JSON.parse(await sh1(["docker", "network", "inspect", NETWORK]))[0].Labels).toEqual({ "sdx.dev/app": APP });

    const token = randomBytes(16).toString("hex");
    const envToken = randomBytes(16).toString("hex");
    const secretPath = `${APP_DIR}/secrets/web/token`;
    const envPath = `${APP_DIR}/secrets/web.env`;
    await d1.writeFiles([
      { path: secretPath, content: `${token}\n`, mode: 0o400 },
      { path: envPath, content: `FROM_FILE=${envToken}\n`, mode: 0o400 },
    ]);
    expect(await sh1(["stat", "-c", "%a", secretPath, envPath, `${APP_DIR}/secrets/web`, APP_DIR])).toBe("400\n400\n700\n700\n");

    const port = 20000 + Math.floor(Math.random() * 9000);
    const name = `sdxd-web-${RUN}`;
    const id = await d1.run(baseSpec(name, {
      labels: { "sdx.dev/app": APP, "sdx.dev/service": "web" },
      env: { PLAIN: "plain value with 'quotes' and $dollar" },
      envFiles: [envPath],
      command: ["httpd", "-f", "-p", "8080", "-h", "/www"],
      ports: [{ host: port, container: 8080, protocol: "tcp" }],
      mounts: [{ source: secretPath, target: "/run/secrets/token", readOnly: true }, { target: "/scratch", readOnly: false }],
      aliases: ["web"],
      health: { test: ["wget", "-q", "-O-", "http://127.0.0.1:8080/"], intervalSeconds: 1, timeoutSeconds: 3, retries: 3, startPeriodSeconds: 0 },
      cpuLimitMillis: 500,
      memoryLimitMiB: 64,
      restart: "unless-stopped",
    }));
    expect(id).toMatch(/^[0-9a-f]{64}$/);

    const healthy = await eventually("healthy", async () => {
      const c = await d1.inspectContainer(name);
      return c?.health === "healthy" ? c : undefined;
    });
    expect(healthy).toMatchObject({ id, name, image, state: "running", labels: { "sdx.dev/app": APP, "sdx.dev/service": "web" } });
    expect(healthy.healthLog.at(-1)).toBe("sdx-busybox");

    // Published on the host's address, answering from this machine.
    const body = await eventually("http", () => fetch(`http://${addresses[0]}:${port}/`).then((r) => (r.ok ? r.text() : undefined), () => undefined), 10_000);
    expect(body).toBe("sdx-busybox\n");

    // The secret is readable inside, read-only, and nowhere in docker inspect; env from argv and from the env file both arrive.
    expect(await sh1(["docker", "exec", name, "cat", "/run/secrets/token"])).toBe(`${token}\n`);
    expect((await d1.connection.exec(["docker", "exec", name, "sh", "-c", "echo x >/run/secrets/token"])).code).not.toBe(0);
    expect(await sh1(["docker", "exec", name, "sh", "-c", 'printf "%s|%s" "$PLAIN" "$FROM_FILE"'])).toBe(`plain value with 'quotes' and $dollar|${envToken}`);
    const inspected = await sh1(["docker", "inspect", name]);
    expect(inspected).not.toContain(token);
    const raw = JSON.parse(inspected)[0];
    expect(raw.HostConfig).toMatchObject({ NanoCpus: 500_000_000, Memory: 64 * 2 ** 20, RestartPolicy: { Name: "unless-stopped" } });
    expect(raw.NetworkSettings.Networks[NETWORK].Aliases).toContain("web");
    expect(raw.Mounts).toEqual(expect.arrayContaining([
      expect.objectContaining({ Type: "bind", Destination: "/run/secrets/token", RW: false }),
      expect.objectContaining({ Type: "volume", Destination: "/scratch", RW: true }),
    ]));

    // Found by label, and by name for another app.
    expect((await d1.listContainers(APP)).map((c) => c.name)).toContain(name);
    expect((await d1.listContainers(`sdxd-none-${RUN}`, [name])).map((c) => c.id)).toEqual([id]);
    expect(await d1.listContainers(`sdxd-none-${RUN}`, [`sdxd-missing-${RUN}`])).toEqual([]);
    expect(await d2.listContainers(APP)).toEqual([]);

    await d1.stop(name, 2);
    expect(await d1.inspectContainer(name)).toMatchObject({ state: "exited" });
    await d1.stop(name, 2); // already stopped
    await d1.start(name);
    expect(await d1.inspectContainer(name)).toMatchObject({ state: "running" });
    await d1.remove(name);
    expect(await d1.inspectContainer(name)).toBeUndefined();
    await d1.remove(name); // already gone
    await d1.stop(name, 1); // gone: as stopped as it gets
    // The anonymous volume went with it (rm -v).
    expect(await sh1(["docker", "volume", "ls", "-q", "--filter", "dangling=true"])).not.toContain(raw.Mounts.find((m: { Destination: string }) => m.Destination === "/scratch").Name);
  });

  it("a taken name is SDX_BACKEND_CONFLICT, a command that cannot start is SDX_BACKEND_REJECTED and leaves nothing behind", async () => {
    await d1.ensureNetwork(NETWORK, { "sdx.dev/app": APP });
    const name = `sdxd-dup-${RUN}`;
    await d1.run(baseSpec(name, { command: ["sh", "-c", "echo early; echo to-stdout; sleep 1; echo to-stderr >&2; exec sleep 600"] }));
    // Both streams, the last lines only (Docker orders lines across the two streams only by time, hence the sleep).
    const logs = await eventually("logs", async () => {
      const l = await d1.logs(name, 2);
      return l.includes("to-stderr") ? l : undefined;
    });
    expect(logs.split("\n").filter(Boolean).sort()).toEqual(["to-stderr", "to-stdout"]);
    const conflict = await rejection(d1.run(baseSpec(name)));
    expect(conflict.code).toBe("SDX_BACKEND_CONFLICT");
    expect(conflict.message).toContain(`host sdxd-h1 (${addresses[0]})`);
    expect(conflict.message).toContain("docker run");
    await d1.remove(name);

    const bad = `sdxd-bad-${RUN}`;
    const rejected = await rejection(d1.run(baseSpec(bad, { command: ["/nonexistent"] })));
    expect(rejected.code).toBe("SDX_BACKEND_REJECTED");
    expect(rejected.fault).toBe("user");
    expect(rejected.message).toContain("/nonexistent");
    expect(await d1.inspectContainer(bad)).toBeUndefined();

    const noImage = await rejection(d1.run(baseSpec(`sdxd-noimg-${RUN}`, { image: `sdxd-missing-${RUN}:1` })));
    expect(noImage.code).toBe("SDX_BACKEND_REJECTED");
    expect(noImage.details).toMatchObject({ exitCode: 125 });
  });

  it("passes env over 64 KiB through a temporary env file, every value intact", async () => {
    await d1.ensureNetwork(NETWORK, { "sdx.dev/app": APP });
    const envVars: Record<string, string> = { MULTI: "line 1\nline 2" };
    for (let i = 0; i < 100; i++) envVars[`BIG_${i}`] = `${i}:${"v".repeat(1000)} '"$x`;
    const name = `sdxd-bigenv-${RUN}`;
    await d1.run(baseSpec(name, { env: envVars }));
    const out = await sh1(["docker", "exec", name, "sh", "-c", 'printf "%s|%s" "$BIG_99" "$MULTI"']);
    expect(out).toBe(`${envVars.BIG_99}|line 1\nline 2`);
    await d1.remove(name);
  });

  it("images: hasImage, a failed pull names the host, load returns the loaded image's ID (tagged or not)", async () => {
    expect(await d1.hasImage(image)).toBe(true);
    expect(await d1.hasImage(`sha256:${"0".repeat(64)}`)).toBe(false);

    const registry = requireTestenv("registry").env?.SDX_REGISTRY_ADDR ?? "127.0.0.1:1";
    const pull = await rejection(d1.pull(`${registry}/sdxd/missing-${RUN}@sha256:${"0".repeat(64)}`));
    expect(pull.code).toBe("SDX_BACKEND_ERROR");
    expect(pull.message).toContain(`docker pull on host sdxd-h1 (${addresses[0]}) failed`);

    // A one-layer docker-archive made here, unique to this run, so its ID is known in advance.
    const archive = (tag: string | undefined): { path: string; id: string } => {
      const dir = join(scratch, `img-${tag ?? "untagged"}`);
      mkdirSync(join(dir, "rootfs"), { recursive: true });
      writeFileSync(join(dir, "rootfs", "hello.txt"), `${RUN} ${tag}\n`);
      execFileSync("tar", ["-C", join(dir, "rootfs"), "-cf", join(dir, "layer.tar"), "hello.txt"]);
      const layerDigest = createHash("sha256").update(execFileSync("cat", [join(dir, "layer.tar")])).digest("hex");
      const config = JSON.stringify({ architecture: process.arch === "x64" ? "amd64" : process.arch, os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [`sha256:${layerDigest}`] } });
      const id = createHash("sha256").update(config).digest("hex");
      mkdirSync(join(dir, "out"));
      writeFileSync(join(dir, "out", `${id}.json`), config);
      execFileSync("cp", [join(dir, "layer.tar"), join(dir, "out", "layer.tar")]);
      writeFileSync(join(dir, "out", "manifest.json"), JSON.stringify([{ Config: `${id}.json`, RepoTags: tag ? [tag] : null, Layers: ["layer.tar"] }]));
      execFileSync("tar", ["-C", join(dir, "out"), "-cf", join(dir, "image.tar"), "."]);
      return { path: join(dir, "image.tar"), id: `sha256:${id}` };
    };
    for (const tag of [undefined, `sdxd-load-${RUN}:1`]) {
      const a = archive(tag);
      loadedImages.push(a.id);
      expect(await d1.load(createReadStream(a.path))).toEqual([a.id]);
      expect(await d1.hasImage(a.id)).toBe(true);
      expect(await d2.hasImage(a.id)).toBe(false);
    }
    const garbage = join(scratch, "garbage.tar");
    writeFileSync(garbage, "not a tar");
    const e = await rejection(d1.load(createReadStream(garbage)));
    expect(e.code).toBe("SDX_BACKEND_ERROR");
    expect(e.message).toContain("docker load on host sdxd-h1");
  });

  it("files: lists a directory's entries (dotfiles and odd names too), removes only under the given dir", async () => {
    const dir = `${APP_DIR}/files`;
    await d1.writeFiles([
      { path: `${dir}/a.json`, content: "{}", mode: 0o444 },
      { path: `${dir}/.hidden`, content: new Uint8Array([0, 1, 2]), mode: 0o400 },
      { path: `${dir}/with space\nand newline`, content: "x", mode: 0o444 },
    ]);
    await d1.ensureDirs([`${APP_DIR}/volumes/db`]);
    expect(await d1.listDir(dir)).toEqual([".hidden", "a.json", "with space\nand newline"]);
    expect(await sh1(["stat", "-c", "%a %s", `${dir}/a.json`, `${dir}/.hidden`])).toBe("444 2\n400 3\n");
    expect(await d1.listDir(`${APP_DIR}/nothing-here`)).toEqual([]);
    expect(await d2.listDir(dir)).toEqual([]); // the other host has its own /var/lib/sdx

    const refused = await rejection(d1.removePaths([`${APP_DIR}/../..`], APP_DIR));
    expect(refused.code).toBe("SDX_INTERNAL");
    await d1.removePaths([`${dir}/a.json`, `${APP_DIR}/volumes`], APP_DIR);
    expect(await d1.listDir(dir)).toEqual([".hidden", "with space\nand newline"]);
    expect(await d1.listDir(APP_DIR)).not.toContain("volumes");
  });

  it("lock: a second holder gets SDX_BACKEND_CONFLICT naming the first; release and a dropped connection free it", async () => {
    const a = createDockerHost(await connect(0));
    const b = createDockerHost(await connect(0));
    const releaseA = await a.lock(DATA_DIR, APP, "alice@laptop");
    const e = await rejection(b.lock(DATA_DIR, APP, "bob@ci"));
    expect(e.code).toBe("SDX_BACKEND_CONFLICT");
    expect(e.fault).toBe("user");
    expect(e.message).toBe(`another deploy of ${APP} holds the lock on host sdxd-h1 (${addresses[0]}) (alice@laptop)`);
    // Another host's lock is its own.
    const releaseOther = await d2.lock(DATA_DIR, APP, "carol@elsewhere");
    await releaseOther();

    await releaseA();
    await releaseA(); // twice is fine
    const releaseB = await b.lock(DATA_DIR, APP, "bob@ci");
    await releaseB();

    // A deploy that dies (its SSH connection drops) frees the lock within seconds.
    const dying = createDockerHost(await connect(0));
    await dying.lock(DATA_DIR, APP, "dying@host");
    expect((await rejection(b.lock(DATA_DIR, APP, "bob@ci"))).code).toBe("SDX_BACKEND_CONFLICT");
    dying.connection.close();
    const started = Date.now();
    const release = await eventually("lock after disconnect", () => b.lock(DATA_DIR, APP, "bob@ci").catch(() => undefined), 5_000);
    expect(Date.now() - started).toBeLessThan(5_000);
    await release();
  });

  it("audit: appends JSON lines (0640) and reads them back oldest first, skipping a damaged line", async () => {
    const first = { at: "2026-01-01T00:00:00.000Z", action: "deploy", outcome: "started", app: APP, by: "alice@laptop", revision: "0123456789ab" } as const;
    const second = { ...first, at: "2026-01-01T00:01:00.000Z", outcome: "succeeded", services: { web: "abc" }, message: "it's \"done\"\nreally" } as const;
    expect(await d1.readAudit(DATA_DIR, APP)).toEqual([]);
    await d1.audit(DATA_DIR, first);
    await d1.connection.script("printf '{\"torn' >>\"$1\"; printf '\\n' >>\"$1\"", [`${APP_DIR}/audit.log`]);
    await d1.audit(DATA_DIR, second);
    expect(await d1.readAudit(DATA_DIR, APP)).toEqual([first, second]);
    expect(await sh1(["stat", "-c", "%a", `${APP_DIR}/audit.log`])).toBe("640\n");
    expect(await d2.readAudit(DATA_DIR, APP)).toEqual([]);
  });
});
