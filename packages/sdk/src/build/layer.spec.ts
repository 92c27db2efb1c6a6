import { describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { createLayer, OCI_LAYER_GZIP } from "./layer.js";
import { readCachedLayer, writeCachedLayer, cacheBlobDir } from "./layer-cache.js";
import { writeTar, type TarEntry } from "./tar-writer.js";
import { tempDir } from "../../test/fixtures/build/build-fixtures.js";

const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const enc = (s: string) => new TextEncoder().encode(s);

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

describe("createLayer: reproducible gzip layers", () => {
  const entries: TarEntry[] = [
    { kind: "file", path: "app/server.js", bytes: enc("console.log(1)\n") },
    { kind: "file", path: "app/data.bin", bytes: new Uint8Array(randomBytes(300_000)) },
  ];

  it("has a fixed gzip header, a digest of the gzip, a diffId of the tar, and the same bytes every time", async () => {
    const a = await createLayer(entries, { epoch: 42, role: "app" });
    const b = await createLayer([...entries].reverse(), { epoch: 42, role: "app" });
    expect(Buffer.from(a.bytes!).equals(Buffer.from(b.bytes!))).toBe(true);
    // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255: nothing of the machine or the time.
    expect([...a.bytes!.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    const tar = writeTar(entries, { epoch: 42 });
    expect(Buffer.from(gunzipSync(a.bytes!)).equals(Buffer.from(tar))).toBe(true);
    expect(a.diffId).toBe(sha(tar));
    expect(a.descriptor).toEqual({ mediaType: OCI_LAYER_GZIP, digest: sha(a.bytes!), size: a.bytes!.length });
    expect(a.role).toBe("app");
    const later = await createLayer(entries, { epoch: 43, role: "app" });
    expect(later.descriptor.digest).not.toBe(a.descriptor.digest);
  });

  it("writes the same bytes to a blob file as in memory, named by digest, streamable by open()", async () => {
    const dir = tempDir();
    const big = join(dir, "big.bin");
    writeFileSync(big, randomBytes(3 * 1024 * 1024 + 17));
    const files: TarEntry[] = [...entries, { kind: "file", path: "app/big.bin", source: big, size: 3 * 1024 * 1024 + 17 }];
    const mem = await createLayer(files, { epoch: 0, role: "dependencies" });
    const disk = await createLayer(files, { epoch: 0, role: "dependencies", blobDir: join(dir, "blobs") });
    expect(disk.descriptor).toEqual(mem.descriptor);
    expect(disk.diffId).toBe(mem.diffId);
    expect(disk.bytes).toBeUndefined();
    expect(disk.file).toBe(join(dir, "blobs", "sha256", mem.descriptor.digest.slice(7)));
    expect(readFileSync(disk.file!).equals(Buffer.from(mem.bytes!))).toBe(true);
    expect((await collect(disk.open!())).equals(Buffer.from(mem.bytes!))).toBe(true);
  });

  it("rejects with SDX_ABORTED when aborted mid-stream, leaving no blob file", async () => {
    const dir = tempDir();
    const big = join(dir, "big.bin");
    writeFileSync(big, randomBytes(24 * 1024 * 1024));
    const ac = new AbortController();
    const p = createLayer([{ kind: "file", path: "big", source: big, size: 24 * 1024 * 1024 }], { epoch: 0, role: "app", blobDir: join(dir, "blobs"), signal: ac.signal });
    setTimeout(() => ac.abort(), 5);
    await expect(p).rejects.toMatchObject({ code: "SDX_ABORTED" });
    expect(readdirSync(join(dir, "blobs", "sha256"))).toEqual([]);
  });

  it("caches a finished layer by key and verifies it when read back", async () => {
    const cache = tempDir();
    expect(await readCachedLayer(cache, "k1", "runtime")).toBeUndefined();
    const layer = await createLayer(entries, { epoch: 0, role: "runtime", blobDir: cacheBlobDir(cache) });
    await writeCachedLayer(cache, "k1", layer);
    const hit = await readCachedLayer(cache, "k1", "runtime");
    expect(hit).toMatchObject({ role: "runtime", diffId: layer.diffId, descriptor: layer.descriptor, file: layer.file });
    // A damaged blob is a miss, not a layer the registry would refuse later.
    const bytes = readFileSync(layer.file!);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    writeFileSync(layer.file!, bytes);
    expect(await readCachedLayer(cache, "k1", "runtime")).toBeUndefined();
  });
});
