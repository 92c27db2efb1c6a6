import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { carriedLayer, createImageConfig, createImageIndex, createImageManifest, mergeEnv, OCI_CONFIG, OCI_MANIFEST, type ImageConfigSpec } from "./oci-image.js";
import { OCI_LAYER_GZIP } from "./layer.js";

const d = (c: string, size = 10) => ({ mediaType: OCI_LAYER_GZIP, digest: `sha256:${c.repeat(64)}`, size });
const text = (b: Uint8Array) => new TextDecoder().decode(b);

const spec: ImageConfigSpec = {
  baseConfig: {
    architecture: "arm64", os: "linux", variant: "v8", author: "someone",
    config: { Env: ["PATH=/usr/bin:/bin", "LANG=C.UTF-8"], Labels: { "org.example": "base", "org.opencontainers.image.revision": "base-rev" }, ExposedPorts: { "80/tcp": {} }, OnBuild: ["RUN rm -rf /"], Image: "sha256:old" },
    rootfs: { type: "layers", diff_ids: [`sha256:${"1".repeat(64)}`] },
    history: [{ created: "2020-01-01T00:00:00Z", created_by: "base" }, { created: "2020-01-01T00:00:00Z", created_by: "ENV x", empty_layer: true }],
  },
  baseLayers: [d("a")],
  platform: { os: "linux", architecture: "arm64", variant: "v8" },
  layers: [{ descriptor: d("c"), diffId: `sha256:${"3".repeat(64)}`, createdBy: "sdx: app files" }],
  epoch: 315532800,
  env: [["PATH", "/usr/local/bin:/usr/bin:/bin"], ["NODE_ENV", "production"]],
  entrypoint: ["node", "/app/server.js"],
  workingDir: "/app",
  user: "65532:65532",
  labels: { "org.opencontainers.image.revision": "abc" },
};

describe("createImageConfig and createImageManifest", () => {
  it("writes canonical JSON: sorted keys, no whitespace, the same bytes for the same input", () => {
    const a = createImageConfig(spec);
    const b = createImageConfig({ ...spec, labels: { ...spec.labels } });
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    const s = text(a.bytes);
    expect(s).not.toMatch(/\s(?=(?:[^"]*"[^"]*")*[^"]*$)/); // no whitespace outside strings
    expect(Object.keys(JSON.parse(s) as object)).toEqual(["architecture", "config", "created", "history", "os", "rootfs", "variant"]);
    expect(a.descriptor).toEqual({ mediaType: OCI_CONFIG, digest: `sha256:${createHash("sha256").update(a.bytes).digest("hex")}`, size: a.bytes.length });
  });

  it("carries the base's env, diff_ids, history and labels, and sets what the app needs", () => {
    const c = JSON.parse(text(createImageConfig(spec).bytes)) as Record<string, any>;
    expect(c.created).toBe("1980-01-01T00:00:00Z");
    expect(c.config).toEqual({
      Env: ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "NODE_ENV=production"],
      Entrypoint: ["node", "/app/server.js"], Cmd: [], WorkingDir: "/app", User: "65532:65532",
      Labels: { "org.example": "base", "org.opencontainers.image.revision": "abc" },
      ExposedPorts: { "80/tcp": {} },
    });
    expect(c.rootfs).toEqual({ type: "layers", diff_ids: [`sha256:${"1".repeat(64)}`, `sha256:${"3".repeat(64)}`] });
    expect(c.history).toHaveLength(3);
    expect(c.history[2]).toEqual({ created: "1980-01-01T00:00:00Z", created_by: "sdx: app files" });
    expect(c).not.toHaveProperty("author");
  });

  it("refuses a base whose diff_ids do not match its layers", () => {
    expect(() => createImageConfig({ ...spec, baseLayers: [d("a"), d("b")] })).toThrow(expect.objectContaining({ code: "SDX_BUILD_BAD_BASE", fault: "backend" }));
  });

  it("lists the config and the layers in order, base layers relabelled from Docker's gzip type", () => {
    const cfg = createImageConfig(spec).descriptor;
    const docker = { ...d("a"), mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", platform: { os: "linux", architecture: "amd64" } };
    const m = createImageManifest(cfg, [carriedLayer(docker), d("c")]);
    expect(JSON.parse(text(m.bytes))).toEqual({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: cfg, layers: [d("a"), d("c")] });
    expect(text(m.bytes).startsWith('{"config":')).toBe(true);
    expect(m.descriptor.digest).toBe(`sha256:${createHash("sha256").update(m.bytes).digest("hex")}`);
    const idx = createImageIndex([{ ...m.descriptor, platform: { os: "linux", architecture: "amd64" } }]);
    expect(JSON.parse(text(idx.bytes))).toMatchObject({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [{ digest: m.descriptor.digest }] });
  });

  it("merges env in place and appends new names in order", () => {
    expect(mergeEnv(["A=1", "B=2"], [["B", "3"], ["C", "4"], ["A", "5"]])).toEqual(["A=5", "B=3", "C=4"]);
  });
});
