/**
 * Images without a registry the hosts can reach (kamal#1588): a Node app built
 * by sdx's own builder on this machine, opened from the deploy's image store
 * (its base layers fetched from the test registry by this machine only), sent
 * over a real SSH connection into host 1's `docker load`, then run there and
 * asked over HTTP at the host's address.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildNodeImage, createLocalImageStore, createRegistryClient, defaultBuildCacheDir, pullImage, type BuiltImage, type ImageSource, type ImageStore } from "@sdx/sdk";
import { requireTestenv } from "@sdx/sdk/testing";
import { createDockerHost } from "../src/client/cli-docker-host.js";
import type { DockerHost } from "../src/client/docker-host.js";
import type { HostConnection } from "../src/client/host-connection.js";
import { connectHost } from "../src/client/ssh-host-connection.js";
import type { HostSpec } from "../src/hosts-target.js";
import type { DockerArchiveProgress } from "../src/images/docker-archive.js";
import { ensureImage, streamedImageTag, streamImages } from "../src/images/stream-image.js";

const te = requireTestenv("hosts");
const reg = te.env ? requireTestenv("registry") : undefined;
const ready = te.env !== undefined && reg?.env?.SDX_REGISTRY_BASE_IMAGE !== undefined;

describe.skipIf(!ready)("ensureImage: a built image streamed over SSH into docker load", () => {
  const env = te.env ?? {};
  const address = (env.SDX_HOSTS ?? "").split(",")[0]!;
  const host: HostSpec = { name: "sdxc-host-1", address, user: env.SDX_HOSTS_USER ?? "root", port: Number(env.SDX_HOSTS_PORT ?? 22), labels: {}, capacity: "on-demand" };
  const token = `sdxc-${process.pid}-${randomBytes(6).toString("hex")}`;
  const scratch = mkdtempSync(join(tmpdir(), "sdxc-stream-"));
  const storeCache = join(scratch, "store-cache");
  const container = `sdxc-web-${process.pid}-${randomBytes(3).toString("hex")}`;
  let conn: HostConnection;
  let docker: DockerHost;
  let image: BuiltImage;
  let source: ImageSource;
  let store: ImageStore;

  beforeAll(async () => {
    // A one-file app whose response is unique to this run, so its image is new to the host.
    const app = join(scratch, "web");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "sdxc-web", private: true, type: "module" }));
    writeFileSync(join(app, "server.js"), `import { createServer } from "node:http";\ncreateServer((_q, r) => r.end(${JSON.stringify(token)} + "\\n")).listen(8080);\n`);
    const client = createRegistryClient();
    const base = await pullImage(client, reg!.env!.SDX_REGISTRY_BASE_IMAGE!, { platform: { os: "linux", architecture: "amd64" } });
    image = await buildNodeImage({ context: app, entry: "server.js", dependencies: "none" }, base, { cacheDir: defaultBuildCacheDir() });
    // The store reads base layers from the registry into its own (empty) cache: the hosts never talk to the registry.
    store = createLocalImageStore({ built: [image], client, cacheDir: storeCache });
    source = await store.open(`sdx.local/sdxc-web@${image.digest}`, { os: "linux", architecture: "amd64" });
    conn = await connectHost(host, { identityFile: env.SDX_HOSTS_KEY!, agent: false, knownHosts: env.SDX_HOSTS_KNOWN_HOSTS! });
    docker = createDockerHost(conn);
  });

  afterAll(async () => {
    if (conn) {
      await conn.exec(["docker", "rm", "-f", container]);
      if (source) await conn.exec(["docker", "rmi", "-f", source.config.digest]);
      conn.close();
    }
    rmSync(scratch, { recursive: true, force: true });
  });

  /** Seconds since 1970 with milliseconds, as `docker events --since` takes them (the hosts share this machine's clock). */
  const now = (): string => (Date.now() / 1000).toFixed(3);
  /** Image IDs the host's engine logged a `load` event for between two times. */
  const loads = async (since: string, until: string): Promise<string[]> => {
    const r = await conn.exec(["docker", "events", "--since", since, "--until", until, "--filter", "type=image", "--filter", "event=load", "--format", "{{.ID}}"]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.split("\n").filter(Boolean);
  };

  it("loads the image under its config digest and tag; the container it runs answers on the host's address; a second ensureImage sends nothing", async () => {
    expect(source.config.digest).toBe(image.config.descriptor.digest);
    expect(source.layers.map((l) => l.digest)).toEqual(image.layers.map((l) => l.descriptor.digest));
    expect(await docker.hasImage(source.config.digest)).toBe(false);

    const progress: DockerArchiveProgress[] = [];
    const t0 = now();
    const first = await ensureImage(docker, source, { onProgress: (e) => progress.push(e) });
    const t1 = now();
    expect(first).toEqual({ imageId: source.config.digest, outcome: "loaded" });
    // Every layer went over SSH (base, Node runtime, app), the base one via this machine's cache only.
    expect(progress.map((p) => p.digest)).toEqual(source.layers.map((l) => l.digest));
    const baseLayer = image.layers.find((l) => l.role === "base")!.descriptor.digest;
    expect(readdirSync(join(storeCache, "blobs", "sha256"))).toContain(baseLayer.slice("sha256:".length));

    const inspect = await conn.exec(["docker", "image", "inspect", "--format", "{{.Id}} {{json .RepoTags}}", source.config.digest]);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout.trim()).toBe(`${source.config.digest} ${JSON.stringify([streamedImageTag(source)])}`);
    expect(streamedImageTag(source)).toBe(`sdx.local/sdxc-web:sdx-${source.config.digest.slice(7, 19)}`);

    const port = 21000 + Math.floor(Math.random() * 8000);
    const run = await conn.exec(["docker", "run", "-d", "--name", container, "-p", `${port}:8080`, source.config.digest]);
    expect(run.code, run.stderr).toBe(0);
    let body = "";
    for (let i = 0; i < 100 && body === ""; i++) {
      body = await fetch(`http://${address}:${port}/`).then((r) => (r.status === 200 ? r.text() : ""), () => "");
      if (body === "") await new Promise((r) => setTimeout(r, 100));
    }
    expect(body, `http://${address}:${port}/ (logs: ${(await conn.exec(["docker", "logs", container])).stderr})`).toBe(`${token}\n`);

    const second = await ensureImage(docker, source, { onProgress: (e) => progress.push(e) });
    const t2 = now();
    expect(second).toEqual({ imageId: source.config.digest, outcome: "present" });
    expect(progress).toHaveLength(source.layers.length);
    // The engine logged the first load, and none since: the second call sent nothing.
    expect(await loads(t0, t1)).toEqual([source.config.digest]);
    expect(await loads(t1, t2)).toEqual([]);
    // The backend's delivery (images: stream) opens the ref for the host's architecture and gets the same ID, sending nothing.
    expect(await streamImages(store)(docker, `sdx.local/sdxc-web@${image.digest}`)).toBe(source.config.digest);
    expect(await loads(t1, now())).toEqual([]);
  });
});
