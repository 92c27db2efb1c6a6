import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildNodeImage } from "./build-node-image.js";
import { writeOciLayout } from "./write-oci-layout.js";
import type { Descriptor } from "../image/pull-image.js";
import { FAKE_NPM, copyFixture, fakeBase, tempDir } from "../../test/fixtures/build/build-fixtures.js";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function built() {
  const { base, layerBytes } = await fakeBase();
  const image = await buildNodeImage({ context: copyFixture("hello"), entry: "server.js" }, base, { cacheDir: tempDir(), npmCommand: FAKE_NPM, env: { FAKE_NPM_MODE: "fail" } });
  return { image, layerBytes };
}

describe("writeOciLayout: an OCI image layout of a built image", () => {
  it("writes oci-layout, index.json with the ref name, and every blob under its verified digest; base layers come from fetchBlob", async () => {
    const { image, layerBytes } = await built();
    const dir = join(tempDir(), "layout");
    const fetched: Descriptor[] = [];
    const r = await writeOciLayout(dir, image, async (d) => {
      fetched.push(d);
      return layerBytes;
    }, { refName: "web-1" });
    expect(fetched.map((d) => d.digest)).toEqual([image.layers[0]!.descriptor.digest]);
    expect(r).toMatchObject({ written: 4, present: 0 });
    expect(JSON.parse(readFileSync(join(dir, "oci-layout"), "utf8"))).toEqual({ imageLayoutVersion: "1.0.0" });
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
    expect(index).toEqual({
      schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: image.digest, size: image.manifest.bytes.length, platform: { os: "linux", architecture: "amd64" }, annotations: { "org.opencontainers.image.ref.name": "web-1" } }],
    });
    // Complete: the manifest names the config and layers, and every file hashes to its name.
    const blobs = join(dir, "blobs", "sha256");
    const manifest = JSON.parse(readFileSync(join(blobs, image.digest.slice(7)), "utf8"));
    const needed = [image.digest, manifest.config.digest, ...manifest.layers.map((l: Descriptor) => l.digest)].map((d: string) => d.slice(7)).sort();
    expect(readdirSync(blobs).sort()).toEqual(needed);
    for (const f of readdirSync(blobs)) expect(sha(readFileSync(join(blobs, f))), f).toBe(f);

    // Again: everything is there already, nothing fetched.
    const again = await writeOciLayout(dir, image, async () => {
      throw new Error("not needed");
    });
    expect(again).toMatchObject({ written: 0, present: 4 });
  });

  it("refuses a fetched blob that does not match its digest, leaving nothing under that name and no index", async () => {
    const { image } = await built();
    const dir = join(tempDir(), "layout");
    async function* wrong() {
      yield new TextEncoder().encode("not the layer");
    }
    await expect(writeOciLayout(dir, image, async () => wrong())).rejects.toMatchObject({ code: "SDX_BUILD_BLOB_MISMATCH", fault: "backend" });
    expect(existsSync(join(dir, "blobs", "sha256", image.layers[0]!.descriptor.digest.slice(7)))).toBe(false);
    expect(readdirSync(join(dir, "blobs", "sha256")).filter((f) => f.includes(".tmp"))).toEqual([]);
    expect(existsSync(join(dir, "index.json"))).toBe(false);
  });
});
