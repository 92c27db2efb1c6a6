import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { digestOf, indexOf, seedImage, syntheticImage, type FakeOci } from "./__fixtures__/fake-oci-registry.js";
import { rejection, testRegistryClient as client, useFakeRegistries } from "./__fixtures__/use-fake-registries.js";
import { pullImage } from "./pull-image.js";
import { pushImage, pushIndex, type PushProgress } from "./push-image.js";

const { fake } = useFakeRegistries();

/** Every blob and the manifest of `image` are in `repository`, byte for byte. */
const expectStored = (reg: FakeOci, repository: string, image: ReturnType<typeof syntheticImage>, tag?: string): void => {
  for (const b of [image.config, ...image.layers]) {
    expect(Buffer.from(reg.blob(repository, b.descriptor.digest) ?? []).equals(Buffer.from(b.bytes))).toBe(true);
  }
  expect(reg.manifest(repository, image.manifest.digest)?.bytes).toEqual(image.manifest.bytes);
  if (tag !== undefined) expect(reg.manifest(repository, tag)?.digest).toBe(image.manifest.digest);
};

describe("pushImage", () => {
  it("pushes blobs, then the manifest by digest and by tag, and reports what it did", async () => {
    const reg = await fake();
    const image = syntheticImage({ architecture: "amd64", layers: [randomBytes(4000), randomBytes(1000)] });
    const events: PushProgress[] = [];
    const result = await pushImage(client(), reg.location("acme/app"), image.pushable, { tag: "v1", onProgress: (e) => events.push(e) });
    expect(result).toEqual({
      digest: image.manifest.digest,
      reference: `${reg.host}/acme/app@${image.manifest.digest}`,
      uploaded: 3,
      present: 0,
      mounted: 0,
      bytesUploaded: image.config.bytes.byteLength + 5000,
    });
    expectStored(reg, "acme/app", image, "v1");
    // Manifests strictly after every blob: a registry never holds a manifest whose blobs are missing.
    const firstManifest = reg.requests.findIndex((r) => r.path.includes("/manifests/"));
    expect(reg.requests.slice(firstManifest).every((r) => r.path.includes("/manifests/"))).toBe(true);
    expect(reg.requests.slice(firstManifest).map((r) => [r.method, r.path.split("/manifests/")[1]])).toEqual([
      ["PUT", image.manifest.digest],
      ["PUT", "v1"],
    ]);
    const blobEvents = events.filter((e) => e.kind === "blob");
    expect(blobEvents.filter((e) => e.kind === "blob" && e.state === "uploaded")).toHaveLength(3);
    expect(blobEvents.filter((e) => e.kind === "blob" && e.state === "uploading")).toHaveLength(3);
    expect(events.filter((e) => e.kind === "manifest")).toEqual([
      { kind: "manifest", digest: image.manifest.digest, reference: `${reg.host}/acme/app@${image.manifest.digest}` },
      { kind: "manifest", digest: image.manifest.digest, reference: `${reg.host}/acme/app:v1` },
    ]);
  });

  it("uploads nothing the second time", async () => {
    const reg = await fake();
    const image = syntheticImage({ architecture: "amd64", layers: [randomBytes(2000)] });
    await pushImage(client(), reg.location("acme/app"), image.pushable, { tag: "v1" });
    const before = reg.requests.length;
    const again = await pushImage(client(), reg.location("acme/app"), image.pushable, { tag: "v1" });
    expect(again).toMatchObject({ digest: image.manifest.digest, uploaded: 0, present: 2, mounted: 0, bytesUploaded: 0 });
    expect(reg.requests.slice(before).filter((r) => r.path.includes("/uploads/"))).toEqual([]);
  });

  it("mounts base layers without bytes from the base's repository on the same registry", async () => {
    const reg = await fake();
    const base = syntheticImage({ architecture: "amd64", layers: [randomBytes(3000)] });
    seedImage(reg, "library/node", base, ["22"]);
    const app = randomBytes(500);
    const image = syntheticImage({ architecture: "amd64", layers: [base.layers[0]!.bytes, app] });
    const pushable = { ...image.pushable, layers: [{ descriptor: base.layers[0]!.descriptor }, image.layers[1]!], source: reg.location("library/node") };
    const result = await pushImage(client(), reg.location("acme/app"), pushable);
    expect(result).toMatchObject({ mounted: 1, uploaded: 2, bytesUploaded: image.config.bytes.byteLength + 500 });
    expectStored(reg, "acme/app", image);
  });

  it("streams a base layer from another registry when it cannot be mounted", async () => {
    const source = await fake();
    const target = await fake();
    const base = syntheticImage({ architecture: "amd64", layers: [randomBytes(5000)] });
    seedImage(source, "library/node", base, ["22"]);
    const pulled = await pullImage(client(), `${source.host}/library/node:22`, { platform: { os: "linux", architecture: "amd64" } });
    const image = syntheticImage({ architecture: "amd64", layers: [base.layers[0]!.bytes] });
    const pushable = { ...image.pushable, layers: pulled.manifest.layers.map((descriptor) => ({ descriptor })), source: pulled.location };
    // chunkSize below the layer: the stream goes up in PATCHes.
    const result = await pushImage(client({ chunkSize: 2048 }), target.location("acme/app"), pushable);
    expect(result).toMatchObject({ uploaded: 2, mounted: 0 });
    expectStored(target, "acme/app", image);
    expect(source.requests.filter((r) => r.method === "GET" && r.path === `/v2/library/node/blobs/${base.layers[0]!.descriptor.digest}`)).toHaveLength(1);
    expect(target.requests.filter((r) => r.method === "PATCH").map((r) => r.contentRange)).toEqual(["0-2047", "2048-4095", "4096-4999"]);
    // No mount was tried across registries.
    expect(target.requests.filter((r) => r.query["mount"] !== undefined)).toEqual([]);
  });

  it("survives a connection dropped mid-upload: nothing half-done is visible, the next push completes", async () => {
    const layer = randomBytes(200_000);
    let drop = true;
    const reg = await fake({
      fault: (r) => (drop && r.method === "PUT" && r.path.includes("/uploads/") && r.query["digest"] === digestOf(layer) ? { kind: "reset-after", bytes: 50_000 } : undefined),
    });
    const image = syntheticImage({ architecture: "amd64", layers: [randomBytes(100), layer] });
    const first = await rejection(pushImage(client(), reg.location("acme/app"), image.pushable, { tag: "v1", concurrency: 1 }));
    expect(first.code).toBe("SDX_REGISTRY_UNREACHABLE");
    expect(first.fault).toBe("backend");
    // The broken blob is not there and no manifest points at anything.
    expect(reg.hasBlob("acme/app", digestOf(layer))).toBe(false);
    expect(reg.manifest("acme/app", "v1")).toBeUndefined();
    expect(reg.manifest("acme/app", image.manifest.digest)).toBeUndefined();

    drop = false;
    const second = await pushImage(client(), reg.location("acme/app"), image.pushable, { tag: "v1" });
    expect(second.digest).toBe(image.manifest.digest);
    expect(second.present + second.uploaded).toBe(3);
    expect(second.uploaded).toBeGreaterThanOrEqual(1);
    expectStored(reg, "acme/app", image, "v1");
    const back = await pullImage(client(), `${reg.host}/acme/app:v1`, { platform: { os: "linux", architecture: "amd64" } });
    expect(back.manifestDigest).toBe(image.manifest.digest);
  });

  it("starts an upload over when its connection drops once, and the push completes in the same run", async () => {
    const layer = randomBytes(200_000);
    let drops = 1;
    const reg = await fake({
      fault: (r) => (r.method === "PUT" && r.path.includes("/uploads/") && r.query["digest"] === digestOf(layer) && drops-- > 0 ? { kind: "reset-after", bytes: 50_000 } : undefined),
    });
    const image = syntheticImage({ architecture: "amd64", layers: [randomBytes(100), layer] });
    const r = await pushImage(client(), reg.location("acme/app"), image.pushable, { tag: "v1", concurrency: 1 });
    expect(r.digest).toBe(image.manifest.digest);
    expectStored(reg, "acme/app", image, "v1");
    // Two sessions for the layer: the dropped one and the one that completed.
    expect(reg.requests.filter((q) => q.method === "PUT" && q.query["digest"] === digestOf(layer))).toHaveLength(2);
  });

  it("fails with SDX_REGISTRY_ERROR when the registry reports another digest for the manifest", async () => {
    const reg = await fake({ fault: (r) => (r.method === "PUT" && r.path.includes("/manifests/") ? { kind: "digest-header", digest: `sha256:${"c".repeat(64)}` } : undefined) });
    const image = syntheticImage({ architecture: "amd64", layers: [randomBytes(10)] });
    const err = await rejection(pushImage(client(), reg.location("acme/app"), image.pushable));
    expect(err.code).toBe("SDX_REGISTRY_ERROR");
    expect(err.details).toMatchObject({ expected: image.manifest.digest, actual: `sha256:${"c".repeat(64)}` });
  });

  it("refuses a manifest whose digest is not that of its bytes, before any request", async () => {
    const reg = await fake();
    const image = syntheticImage({ architecture: "amd64", layers: [] });
    const err = await rejection(pushImage(client(), reg.location("acme/app"), { ...image.pushable, manifest: { ...image.manifest, digest: digestOf(Buffer.from("x")) } }));
    expect(err.code).toBe("SDX_INTERNAL");
    expect(reg.requests.filter((r) => r.path.includes("/manifests/"))).toEqual([]);
  });

  it("stops with SDX_ABORTED and writes no manifest when aborted", async () => {
    const reg = await fake();
    const controller = new AbortController();
    controller.abort();
    const image = syntheticImage({ architecture: "amd64", layers: [randomBytes(10)] });
    const err = await rejection(pushImage(client(), reg.location("acme/app"), image.pushable, { signal: controller.signal }));
    expect(err.code).toBe("SDX_ABORTED");
    expect(reg.requests).toEqual([]);
  });
});

describe("pushIndex", () => {
  it("pushes both platforms' manifests by digest, then the index by tag; each platform pulls back", async () => {
    const reg = await fake();
    const amd = syntheticImage({ architecture: "amd64", layers: [randomBytes(300)] });
    const arm = syntheticImage({ architecture: "arm64", variant: "v8", layers: [randomBytes(300)] });
    const index = indexOf([
      { image: amd, platform: { os: "linux", architecture: "amd64" } },
      { image: arm, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
    ]);
    const result = await pushIndex(client(), reg.location("sdx/node-base"), { manifest: index, images: [amd.pushable, arm.pushable] }, { tag: "22" });
    expect(result).toMatchObject({ digest: index.digest, reference: `${reg.host}/sdx/node-base@${index.digest}`, uploaded: 4 });
    expect(reg.requests.filter((r) => r.method === "PUT" && r.path.includes("/manifests/")).map((r) => r.path.split("/manifests/")[1])).toEqual([
      amd.manifest.digest,
      arm.manifest.digest,
      index.digest,
      "22",
    ]);
    const a = await pullImage(client(), `${reg.host}/sdx/node-base:22`, { platform: { os: "linux", architecture: "amd64" } });
    const b = await pullImage(client(), `${reg.host}/sdx/node-base:22`, { platform: { os: "linux", architecture: "arm64" } });
    expect([a.indexDigest, a.manifestDigest, b.manifestDigest]).toEqual([index.digest, amd.manifest.digest, arm.manifest.digest]);
  });
});
