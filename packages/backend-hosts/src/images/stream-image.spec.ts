import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { readTar, type ImageSource } from "@sdx/sdk";
import type { DockerHost } from "../client/docker-host.js";
import { ensureImage } from "./stream-image.js";

// Engines that misbehave, injected: the live path (load, present, run) is test/stream-image.integ.spec.ts.

const sha256 = (b: Uint8Array): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;

function source(): ImageSource {
  const layer = gzipSync(Buffer.from("layer"));
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha256(Buffer.from("tar"))] } }));
  return {
    ref: `registry.example/acme/web@sha256:${"b".repeat(64)}`, manifestDigest: `sha256:${"b".repeat(64)}`, platform: { os: "linux", architecture: "amd64" },
    config: { digest: sha256(config), bytes: config },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha256(layer), size: layer.length, open: async function* () { yield layer; } }],
  };
}

/** A host whose engine answers `load` with `loaded` (after reading the archive) and has the image afterwards only when `hasAfter`. */
function engine(loaded: string[], hasAfter: boolean): DockerHost & { archives: Uint8Array[] } {
  let has = false;
  const archives: Uint8Array[] = [];
  return {
    host: { name: "h1" }, archives,
    hasImage: async () => has,
    load: async (archive: Readable) => {
      const parts: Uint8Array[] = [];
      for await (const c of archive) parts.push(c as Uint8Array);
      archives.push(Buffer.concat(parts));
      has = hasAfter;
      return loaded;
    },
  } as unknown as DockerHost & { archives: Uint8Array[] };
}

describe("ensureImage against engines that load something else", () => {
  it("refuses with SDX_BACKEND_IMAGE_MISMATCH when the engine reports another image ID (a containerd image store keys by manifest)", async () => {
    const s = source();
    const host = engine([s.manifestDigest], true);
    await expect(ensureImage(host, s)).rejects.toMatchObject({ code: "SDX_BACKEND_IMAGE_MISMATCH", fault: "backend", details: { expected: s.config.digest, loaded: [s.manifestDigest] } });
    // What was sent was the docker-archive, tagged with the ref's repository and the config digest.
    const manifest = readTar(host.archives[0]!).find((e) => e.path === "manifest.json")!;
    expect(JSON.parse(Buffer.from(manifest.content).toString())[0].RepoTags).toEqual([`registry.example/acme/web:sdx-${s.config.digest.slice(7, 19)}`]);
  });

  it("an engine that reports only the tag is asked for the ID: present is success, absent is a mismatch", async () => {
    const s = source();
    await expect(ensureImage(engine([], true), s)).resolves.toEqual({ imageId: s.config.digest, outcome: "loaded" });
    await expect(ensureImage(engine([], false), s)).rejects.toMatchObject({ code: "SDX_BACKEND_IMAGE_MISMATCH" });
  });
});
