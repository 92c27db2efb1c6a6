import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { digestOf, indexOf, seedImage, syntheticImage } from "./__fixtures__/fake-oci-registry.js";
import { rejection, testRegistryClient as client, useFakeRegistries } from "./__fixtures__/use-fake-registries.js";
import { pullImage } from "./pull-image.js";

const { fake } = useFakeRegistries();

/** A base image published for amd64 and arm64/v8, plus an attestation entry as BuildKit writes one. */
const multiPlatform = async () => {
  const reg = await fake();
  const amd = syntheticImage({ architecture: "amd64", layers: [randomBytes(300), randomBytes(200)], env: ["NODE_VERSION=22"] });
  const arm = syntheticImage({ architecture: "arm64", variant: "v8", layers: [randomBytes(300)] });
  const attestation = syntheticImage({ architecture: "unknown", os: "unknown", layers: [] });
  seedImage(reg, "library/node", amd);
  seedImage(reg, "library/node", arm);
  seedImage(reg, "library/node", attestation);
  const index = indexOf([
    { image: amd, platform: { os: "linux", architecture: "amd64" } },
    { image: arm, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
    { image: attestation, platform: { os: "unknown", architecture: "unknown" } },
  ]);
  reg.seedManifest("library/node", index.mediaType, index.bytes, ["22"]);
  return { reg, amd, arm, index };
};

describe("pullImage", () => {
  it("follows an index to the amd64 manifest and returns its parsed, verified config", async () => {
    const { reg, amd, index } = await multiPlatform();
    const pulled = await pullImage(client(), `${reg.host}/library/node:22`, { platform: { os: "linux", architecture: "amd64" } });
    expect(pulled.ref).toBe(`${reg.host}/library/node:22`);
    expect(pulled.location).toEqual({ registry: reg.host, repository: "library/node", scheme: "http" });
    expect(pulled.indexDigest).toBe(index.digest);
    expect(pulled.manifestDigest).toBe(amd.manifest.digest);
    expect(pulled.manifest.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(pulled.manifest.config).toEqual(amd.config.descriptor);
    expect(pulled.manifest.layers).toEqual(amd.layers.map((l) => l.descriptor));
    expect(Buffer.from(pulled.configBytes).equals(Buffer.from(amd.config.bytes))).toBe(true);
    expect(digestOf(pulled.configBytes)).toBe(pulled.manifest.config.digest);
    expect(pulled.config).toMatchObject({ architecture: "amd64", os: "linux", config: { Env: ["NODE_VERSION=22"] }, rootfs: { diff_ids: amd.layers.map((l) => l.descriptor.digest) } });
    expect(pulled.platform).toEqual({ os: "linux", architecture: "amd64" });
  });

  it("takes arm64/v8 for arm64 without a variant, and by the index digest too", async () => {
    const { reg, arm, index } = await multiPlatform();
    const pulled = await pullImage(client(), `${reg.host}/library/node@${index.digest}`, { platform: { os: "linux", architecture: "arm64" } });
    expect(pulled.indexDigest).toBe(index.digest);
    expect(pulled.manifestDigest).toBe(arm.manifest.digest);
    expect(pulled.platform).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
  });

  it("fails with SDX_BASE_PLATFORM listing the index's platforms (not attestations) when the one asked for is missing", async () => {
    const reg = await fake();
    const amd = syntheticImage({ architecture: "amd64", layers: [] });
    seedImage(reg, "acme/base", amd);
    const index = indexOf([{ image: amd, platform: { os: "linux", architecture: "amd64" } }, { image: amd, platform: { os: "unknown", architecture: "unknown" } }]);
    reg.seedManifest("acme/base", index.mediaType, index.bytes, ["1"]);
    const err = await rejection(pullImage(client(), `${reg.host}/acme/base:1`, { platform: { os: "linux", architecture: "arm64" } }));
    expect(err.code).toBe("SDX_BASE_PLATFORM");
    expect(err.fault).toBe("user");
    expect(err.message).toContain("linux/arm64");
    expect(err.details).toMatchObject({ wanted: "linux/arm64", available: ["linux/amd64"], registry: reg.host, repository: "acme/base" });
  });

  it("checks a single-platform image's config: another architecture is SDX_BASE_PLATFORM", async () => {
    const reg = await fake();
    const arm = syntheticImage({ architecture: "arm64", layers: [randomBytes(10)] });
    const digest = seedImage(reg, "acme/base", arm, ["1"]);
    const err = await rejection(pullImage(client(), `${reg.host}/acme/base:1`, { platform: { os: "linux", architecture: "amd64" } }));
    expect(err.code).toBe("SDX_BASE_PLATFORM");
    expect(err.details).toMatchObject({ available: ["linux/arm64"] });
    const ok = await pullImage(client(), `${reg.host}/acme/base:1`, { platform: { os: "linux", architecture: "arm64" } });
    expect(ok.indexDigest).toBeUndefined();
    expect(ok.manifestDigest).toBe(digest);
  });

  it("understands a Docker manifest list and Docker schema 2 manifests", async () => {
    const reg = await fake();
    const amd = syntheticImage({ architecture: "amd64", layers: [randomBytes(10)] });
    const docker = {
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config: { ...amd.config.descriptor, mediaType: "application/vnd.docker.container.image.v1+json" },
      layers: amd.layers.map((l) => ({ ...l.descriptor, mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip" })),
    };
    const manifestBytes = Buffer.from(JSON.stringify(docker));
    reg.seedBlob("acme/base", amd.config.bytes);
    reg.seedBlob("acme/base", amd.layers[0]!.bytes);
    const manifestDigest = reg.seedManifest("acme/base", docker.mediaType, manifestBytes);
    const list = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.docker.distribution.manifest.list.v2+json",
        manifests: [{ mediaType: docker.mediaType, digest: manifestDigest, size: manifestBytes.byteLength, platform: { os: "linux", architecture: "amd64" } }],
      }),
    );
    reg.seedManifest("acme/base", "application/vnd.docker.distribution.manifest.list.v2+json", list, ["1"]);
    const pulled = await pullImage(client(), `${reg.host}/acme/base:1`, { platform: { os: "linux", architecture: "amd64" } });
    expect(pulled.manifest.mediaType).toBe(docker.mediaType);
    expect(pulled.manifestDigest).toBe(manifestDigest);
    expect(pulled.indexDigest).toBe(digestOf(list));
  });

  it("rejects a config blob that does not match its digest", async () => {
    const reg = await fake({ fault: (r) => (r.path.includes("/blobs/") ? { kind: "corrupt" } : undefined) });
    seedImage(reg, "acme/base", syntheticImage({ architecture: "amd64", layers: [] }), ["1"]);
    const err = await rejection(pullImage(client(), `${reg.host}/acme/base:1`, { platform: { os: "linux", architecture: "amd64" } }));
    expect(err.code).toBe("SDX_REGISTRY_ERROR");
  });

  it("fails an unknown tag with SDX_IMAGE_NOT_FOUND and a malformed reference with SDX_VALIDATION", async () => {
    const reg = await fake();
    expect((await rejection(pullImage(client(), `${reg.host}/acme/none:1`, { platform: { os: "linux", architecture: "amd64" } }))).code).toBe("SDX_IMAGE_NOT_FOUND");
    expect((await rejection(pullImage(client(), "UPPER CASE!", { platform: { os: "linux", architecture: "amd64" } }))).code).toBe("SDX_VALIDATION");
  });
});
