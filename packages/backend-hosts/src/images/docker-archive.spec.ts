import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { readTar, type ImageSource, type ImageSourceLayer } from "@sdx/sdk";
import { dockerArchive, dockerArchiveChunks, type DockerArchiveProgress } from "./docker-archive.js";

const sha256 = (b: Uint8Array | string): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const hex = (d: string): string => d.slice("sha256:".length);

/** A layer whose blob is `bytes`, yielded in chunks of `chunk` bytes; counts how often it is opened. */
function layer(bytes: Uint8Array, mediaType = "application/vnd.oci.image.layer.v1.tar+gzip", chunk = 7000): ImageSourceLayer & { opened: number } {
  const l = {
    mediaType, digest: sha256(bytes), size: bytes.length, opened: 0,
    open: async function* () {
      l.opened++;
      for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
    },
  };
  return l;
}

function image(layers: ImageSourceLayer[], ref = "sdx.local/demo-web@sha256:" + "a".repeat(64)): ImageSource {
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: layers.map((_, i) => sha256(`tar ${i}`)) } }));
  return { ref, manifestDigest: `sha256:${"a".repeat(64)}`, platform: { os: "linux", architecture: "amd64" }, config: { digest: sha256(config), bytes: config }, layers };
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

const random = (n: number, seed: number): Uint8Array => {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) out[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return out;
};

describe("dockerArchive: the docker-archive `docker load` reads", () => {
  it("holds the config as <hex>.json, each gzip blob as <hex>.tar.gz unchanged, and manifest.json (Config, RepoTags, Layers) last", async () => {
    // A layer as a registry stores it: a gzip'ed tar; its bytes go into the archive as they are.
    const tar0 = gzipSync(Buffer.from("first layer"));
    const big = gzipSync(random(300_000, 1), { level: 0 });
    const l0 = layer(tar0);
    const l1 = layer(big);
    const uncompressed = layer(Buffer.from("plain tar bytes"), "application/vnd.docker.image.rootfs.diff.tar");
    const src = image([l0, l1, uncompressed]);
    const events: DockerArchiveProgress[] = [];
    const bytes = await collect(dockerArchive(src, { repoTags: ["sdx.local/demo-web:sdx-0123456789ab"], onProgress: (e) => events.push(e) }));
    expect(bytes.length % 512).toBe(0);
    const entries = readTar(bytes);
    expect(entries.map((e) => e.path)).toEqual([`${hex(src.config.digest)}.json`, `${hex(l0.digest)}.tar.gz`, `${hex(l1.digest)}.tar.gz`, `${hex(uncompressed.digest)}.tar`, "manifest.json"]);
    expect(entries.every((e) => e.type === "0")).toBe(true);
    expect(Buffer.from(entries[0]!.content)).toEqual(Buffer.from(src.config.bytes));
    expect(Buffer.from(entries[1]!.content)).toEqual(tar0);
    expect(gunzipSync(entries[1]!.content).toString()).toBe("first layer");
    expect(Buffer.from(entries[2]!.content)).toEqual(big);
    expect(Buffer.from(entries[3]!.content).toString()).toBe("plain tar bytes");
    expect(JSON.parse(Buffer.from(entries[4]!.content).toString())).toEqual([{
      Config: `${hex(src.config.digest)}.json`,
      RepoTags: ["sdx.local/demo-web:sdx-0123456789ab"],
      Layers: [`${hex(l0.digest)}.tar.gz`, `${hex(l1.digest)}.tar.gz`, `${hex(uncompressed.digest)}.tar`],
    }]);
    expect(events.map((e) => [e.layer, e.layers, e.digest])).toEqual([[1, 3, l0.digest], [2, 3, l1.digest], [3, 3, uncompressed.digest]]);
    expect(events.at(-1)!.bytes).toBeLessThan(bytes.length);
  });

  it("names a blob listed twice in Layers twice but stores and reads it once; no tags gives RepoTags []", async () => {
    const l = layer(gzipSync(Buffer.from("same")));
    const src = image([l, l]);
    const entries = readTar(await collect(dockerArchiveChunks(src)));
    expect(entries.map((e) => e.path)).toEqual([`${hex(src.config.digest)}.json`, `${hex(l.digest)}.tar.gz`, "manifest.json"]);
    expect(JSON.parse(Buffer.from(entries[2]!.content).toString())[0]).toMatchObject({ RepoTags: [], Layers: [`${hex(l.digest)}.tar.gz`, `${hex(l.digest)}.tar.gz`] });
    expect(l.opened).toBe(1);
  });

  it("streams layer after layer: the second layer is not opened before the first is consumed", async () => {
    const a = layer(gzipSync(random(50_000, 2)));
    const b = layer(gzipSync(random(50_000, 3)));
    const it = dockerArchiveChunks(image([a, b]))[Symbol.asyncIterator]();
    await it.next(); // config header
    await it.next(); // config
    await it.next(); // padding
    await it.next(); // first layer's header
    expect([a.opened, b.opened]).toEqual([0, 0]);
    await it.next();
    expect([a.opened, b.opened]).toEqual([1, 0]);
    await it.return(undefined);
  });

  it("refuses at once an image whose layer is not a tar (an artifact) or whose config does not match its digest", () => {
    const helm = layer(Buffer.from("chart"), "application/vnd.cncf.helm.chart.content.v1.tar+gzip");
    expect(() => dockerArchive(image([helm]))).toThrow(expect.objectContaining({ code: "SDX_IMAGE_UNSUPPORTED", fault: "user" }));
    const src = image([layer(gzipSync(Buffer.from("x")))]);
    expect(() => dockerArchive({ ...src, config: { ...src.config, bytes: Buffer.from("{}") } })).toThrow(expect.objectContaining({ code: "SDX_INTERNAL" }));
  });

  it("a layer that yields fewer bytes, more bytes, or other bytes than its descriptor ends the stream with SDX_IMAGE_CORRUPT", async () => {
    const good = gzipSync(Buffer.from("layer"));
    const cases: [string, Uint8Array][] = [["short", good.subarray(0, 5)], ["long", Buffer.concat([good, Buffer.from("x")])], ["other", Buffer.from(good).map((b, i) => (i === 12 ? b ^ 0xff : b))]];
    for (const [, yielded] of cases) {
      const l: ImageSourceLayer = { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha256(good), size: good.length, open: async function* () { yield yielded; } };
      await expect(collect(dockerArchive(image([l])))).rejects.toMatchObject({ code: "SDX_IMAGE_CORRUPT", fault: "backend" });
    }
  });
});
