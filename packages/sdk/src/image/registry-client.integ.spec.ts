/**
 * The registry client against a real registry (distribution, scripts/testenv/registry.sh):
 * push and pull back, skip what is there, mount across repositories, chunked uploads,
 * Basic auth, not-found, deletes, and an interrupted push that the next run completes.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { requireTestenv } from "@sdx/sdk/testing";
import { digestOf, indexOf, syntheticImage } from "./__fixtures__/fake-oci-registry.js";
import { rejection, testRegistryClient as client } from "./__fixtures__/use-fake-registries.js";
import { pullImage } from "./pull-image.js";
import { pushImage, pushIndex } from "./push-image.js";
import type { RegistryLocation } from "./registry-client.js";

const te = requireTestenv("registry");
const env = te.env ?? {};
/** Repositories of this run, so reruns and other suites on the same registry do not meet. */
const run = `sdx-h2/${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;

const anon = (repository: string): RegistryLocation => ({ registry: env["SDX_REGISTRY_ADDR"]!, repository: `${run}/${repository}`, scheme: "http" });
const authScheme = (env["SDX_REGISTRY_AUTH_SCHEME"] ?? "http") as "http" | "https";
const authed = (repository: string): RegistryLocation => ({ registry: env["SDX_REGISTRY_AUTH_ADDR"]!, repository: `${run}/${repository}`, scheme: authScheme });

/** fetch for the auth instance: trusts its CA when it speaks https. */
const authFetch = async (): Promise<typeof fetch | undefined> => {
  if (authScheme !== "https") return undefined;
  // Node's fetch only trusts a custom CA through a dispatcher; undici is Node's own fetch implementation.
  const { Agent, fetch: undiciFetch } = (await import("undici")) as unknown as { Agent: new (o: unknown) => unknown; fetch: typeof fetch };
  const dispatcher = new Agent({ connect: { ca: readFileSync(env["SDX_REGISTRY_AUTH_CA"]!, "utf8") } });
  return ((input: string | URL | Request, init?: RequestInit) => undiciFetch(input, { ...init, dispatcher } as RequestInit)) as typeof fetch;
};

/** Counts requests by method, to see what a push really sent. */
const counting = () => {
  const calls: { method: string; url: string; contentRange: string | null }[] = [];
  const f = (async (input: string | URL | Request, init?: RequestInit) => {
    calls.push({ method: init?.method ?? "GET", url: String(input), contentRange: new Headers(init?.headers).get("content-range") });
    return fetch(input, init);
  }) as typeof fetch;
  return { fetch: f, calls };
};

describe.skipIf(te.env === undefined)("registry client against a real registry", () => {
  it("pushes a synthetic image and pulls it back by tag and by digest", async () => {
    const loc = anon("app");
    const image = syntheticImage({ architecture: "amd64", layers: [randomBytes(10_000)] });
    const pushed = await pushImage(client(), loc, image.pushable, { tag: "v1" });
    expect(pushed).toMatchObject({ digest: image.manifest.digest, reference: `${loc.registry}/${loc.repository}@${image.manifest.digest}`, uploaded: 2, present: 0 });

    const byTag = await pullImage(client(), `${loc.registry}/${loc.repository}:v1`, { platform: { os: "linux", architecture: "amd64" } });
    const byDigest = await pullImage(client(), `${loc.registry}/${loc.repository}@${image.manifest.digest}`, { platform: { os: "linux", architecture: "amd64" } });
    for (const p of [byTag, byDigest]) {
      expect(p.manifestDigest).toBe(image.manifest.digest);
      expect(p.manifest.layers).toEqual(image.layers.map((l) => l.descriptor));
      expect(Buffer.from(p.configBytes).equals(Buffer.from(image.config.bytes))).toBe(true);
      expect(p.platform).toEqual({ os: "linux", architecture: "amd64" });
    }
    const layer = await client().getBlob(loc, image.layers[0]!.descriptor.digest);
    expect(Buffer.from(layer).equals(Buffer.from(image.layers[0]!.bytes))).toBe(true);
  });

  it("uploads nothing on a second push", async () => {
    const loc = anon("again");
    const image = syntheticImage({ architecture: "amd64", layers: [randomBytes(2000)] });
    await pushImage(client(), loc, image.pushable, { tag: "v1" });
    const c = counting();
    const again = await pushImage(client({ fetch: c.fetch }), loc, image.pushable, { tag: "v1" });
    expect(again).toMatchObject({ uploaded: 0, present: 2, mounted: 0, bytesUploaded: 0 });
    expect(c.calls.filter((r) => r.url.includes("/blobs/uploads/"))).toEqual([]);
  });

  it("mounts a base layer from another repository of the registry", async () => {
    const base = syntheticImage({ architecture: "amd64", layers: [randomBytes(50_000)] });
    await pushImage(client(), anon("base"), base.pushable, { tag: "1" });
    const image = syntheticImage({ architecture: "amd64", layers: [base.layers[0]!.bytes, randomBytes(100)] });
    const pushable = { ...image.pushable, layers: [{ descriptor: base.layers[0]!.descriptor }, image.layers[1]!], source: anon("base") };
    const result = await pushImage(client(), anon("mounted"), pushable, { tag: "1" });
    expect(result).toMatchObject({ mounted: 1, uploaded: 2 });
    const back = await client().getBlob(anon("mounted"), base.layers[0]!.descriptor.digest);
    expect(Buffer.from(back).equals(Buffer.from(base.layers[0]!.bytes))).toBe(true);
  });

  it("uploads a blob above chunkSize in PATCH chunks", async () => {
    const loc = anon("chunked");
    const bytes = randomBytes(300_000);
    const c = counting();
    const outcome = await client({ fetch: c.fetch, chunkSize: 64 * 1024 }).pushBlob(loc, { descriptor: { mediaType: "application/octet-stream", digest: digestOf(bytes), size: bytes.byteLength }, bytes });
    expect(outcome).toBe("uploaded");
    expect(c.calls.filter((r) => r.method === "PATCH").map((r) => r.contentRange)).toEqual(["0-65535", "65536-131071", "131072-196607", "196608-262143", "262144-299999"]);
    expect(Buffer.from(await client().getBlob(loc, digestOf(bytes))).equals(bytes)).toBe(true);
  });

  it("pushes a two-platform index and pulls each platform from it", async () => {
    const loc = anon("multi");
    const amd = syntheticImage({ architecture: "amd64", layers: [randomBytes(1000)] });
    const arm = syntheticImage({ architecture: "arm64", variant: "v8", layers: [randomBytes(1000)] });
    const index = indexOf([
      { image: amd, platform: { os: "linux", architecture: "amd64" } },
      { image: arm, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
    ]);
    const result = await pushIndex(client(), loc, { manifest: index, images: [amd.pushable, arm.pushable] }, { tag: "1" });
    expect(result.digest).toBe(index.digest);
    const a = await pullImage(client(), `${loc.registry}/${loc.repository}:1`, { platform: { os: "linux", architecture: "amd64" } });
    const b = await pullImage(client(), `${loc.registry}/${loc.repository}:1`, { platform: { os: "linux", architecture: "arm64" } });
    expect([a.indexDigest, a.manifestDigest, b.manifestDigest]).toEqual([index.digest, amd.manifest.digest, arm.manifest.digest]);
    const missing = await rejection(pullImage(client(), `${loc.registry}/${loc.repository}:1`, { platform: { os: "linux", architecture: "arm64", variant: "v7" } }));
    expect(missing.code).toBe("SDX_BASE_PLATFORM");
    expect(missing.details).toMatchObject({ available: ["linux/amd64", "linux/arm64/v8"] });
  });

  it("answers 404s as undefined (HEAD) or SDX_IMAGE_NOT_FOUND, and HEADs a deleted manifest as gone", async () => {
    expect(await client().headManifest(anon("never-pushed"), "1")).toBeUndefined();
    const err = await rejection(client().getManifest(anon("never-pushed"), "1"));
    expect(err.code).toBe("SDX_IMAGE_NOT_FOUND");
    expect(err.details).toMatchObject({ registry: env["SDX_REGISTRY_ADDR"], status: 404 });

    const loc = anon("deleted");
    const image = syntheticImage({ architecture: "amd64", layers: [randomBytes(100)] });
    await pushImage(client(), loc, image.pushable, { tag: "v1" });
    expect(await client().headManifest(loc, image.manifest.digest)).toEqual({ mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.bytes.byteLength });
    await client().deleteManifest(loc, image.manifest.digest);
    expect(await client().headManifest(loc, image.manifest.digest)).toBeUndefined();
    expect(await client().headManifest(loc, "v1")).toBeUndefined();
  });

  it("leaves no manifest after a push cut off mid-upload, and the next push completes", async () => {
    const loc = anon("interrupted");
    const big = randomBytes(400_000);
    const image = syntheticImage({ architecture: "amd64", layers: [randomBytes(100), big] });
    // The network dies halfway through the big layer's body: the request rejects like a reset.
    const cutting = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = String(input);
      if (init?.method === "PATCH" || (init?.method === "PUT" && url.includes("/blobs/uploads/") && url.includes(encodeURIComponent(digestOf(big))))) {
        const body = init.body as Uint8Array;
        if (body.byteLength > 100_000) {
          const half = body.subarray(0, body.byteLength >> 1);
          const stream = new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(half);
              setTimeout(() => controller.error(Object.assign(new Error("cut"), { code: "ECONNRESET" })), 20);
            },
          });
          return fetch(input, { ...init, body: stream, duplex: "half" } as RequestInit);
        }
      }
      return fetch(input, init);
    }) as typeof fetch;
    const first = await rejection(pushImage(client({ fetch: cutting }), loc, image.pushable, { tag: "v1", concurrency: 1 }));
    expect(first.code).toBe("SDX_REGISTRY_UNREACHABLE");
    expect(await client().headManifest(loc, "v1")).toBeUndefined();
    expect(await client().headManifest(loc, image.manifest.digest)).toBeUndefined();
    expect(await client().blobExists(loc, digestOf(big))).toBe(false);

    const second = await pushImage(client(), loc, image.pushable, { tag: "v1" });
    expect(second.digest).toBe(image.manifest.digest);
    expect(second.present + second.uploaded).toBe(3);
    const back = await pullImage(client(), `${loc.registry}/${loc.repository}:v1`, { platform: { os: "linux", architecture: "amd64" } });
    expect(back.manifestDigest).toBe(image.manifest.digest);
    expect(Buffer.from(await client().getBlob(loc, digestOf(big))).equals(big)).toBe(true);
  });

  describe("basic auth instance", () => {
    it("refuses anonymous access with SDX_REGISTRY_AUTH naming anonymous and how to log in", async () => {
      const f = await authFetch();
      const err = await rejection(client({ ...(f ? { fetch: f } : {}), insecureHosts: authScheme === "http" ? [env["SDX_REGISTRY_AUTH_ADDR"]!] : [] }).getManifest(authed("app"), "1"));
      expect(err.code).toBe("SDX_REGISTRY_AUTH");
      expect(err.fault).toBe("user");
      expect(err.message).toContain("anonymous");
      expect(err.hint).toContain(`docker login ${env["SDX_REGISTRY_AUTH_ADDR"]}`);
      expect(err.details).toMatchObject({ registry: env["SDX_REGISTRY_AUTH_ADDR"], status: 401 });
    });

    it("pushes and pulls with the credentials, and names their source when they are wrong", async () => {
      const f = await authFetch();
      const base = { ...(f ? { fetch: f } : {}), insecureHosts: authScheme === "http" ? [env["SDX_REGISTRY_AUTH_ADDR"]!] : [] };
      const good = client({ ...base, credentials: async () => ({ username: env["SDX_REGISTRY_AUTH_USER"]!, password: env["SDX_REGISTRY_AUTH_PASSWORD"]!, source: "testenv registry.env" }) });
      const image = syntheticImage({ architecture: "amd64", layers: [randomBytes(3000)] });
      const pushed = await pushImage(good, authed("app"), image.pushable, { tag: "v1" });
      expect(pushed.uploaded).toBe(2);
      const back = await pullImage(good, `${authed("app").registry}/${authed("app").repository}:v1`, { platform: { os: "linux", architecture: "amd64" } });
      expect(back.manifestDigest).toBe(image.manifest.digest);

      const bad = client({ ...base, credentials: async () => ({ username: env["SDX_REGISTRY_AUTH_USER"]!, password: "not-the-password", source: "testenv wrong password" }) });
      const err = await rejection(bad.headManifest(authed("app"), "v1"));
      expect(err.code).toBe("SDX_REGISTRY_AUTH");
      expect(err.message).toContain("testenv wrong password");
      expect(JSON.stringify(err.toJSON())).not.toContain("not-the-password");
      expect(JSON.stringify(err.toJSON())).not.toContain(env["SDX_REGISTRY_AUTH_PASSWORD"]!);
    });
  });
});
