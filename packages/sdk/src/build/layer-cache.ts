import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileOpener, OCI_LAYER_GZIP, type BuiltLayer, type LayerRole } from "./layer.js";

/**
 * Finished layers kept between builds, keyed by everything their bytes depend on:
 * `<cacheDir>/layers/<key>.json` names a gzip blob in `<cacheDir>/blobs/sha256/`.
 */
interface LayerRecord {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly diffId: string;
}

const HEX64 = /^sha256:[0-9a-f]{64}$/;

/** The blob directory layers are written to (pass as `blobDir` to `createLayer`). */
export const cacheBlobDir = (cacheDir: string): string => join(cacheDir, "blobs");

const recordFile = (cacheDir: string, key: string): string => join(cacheDir, "layers", `${key}.json`);

async function sha256File(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const c of createReadStream(file, { highWaterMark: 1024 * 1024 })) h.update(c as Buffer);
  return `sha256:${h.digest("hex")}`;
}

/**
 * The cached layer for `key`, or undefined when there is none or it does not
 * verify. The blob is hashed again (cheap next to gzip): a truncated or edited
 * cache file would otherwise be pushed and refused by the registry with a
 * digest error far from its cause.
 */
export async function readCachedLayer(cacheDir: string, key: string, role: LayerRole): Promise<BuiltLayer | undefined> {
  let rec: LayerRecord;
  try {
    rec = JSON.parse(await readFile(recordFile(cacheDir, key), "utf8")) as LayerRecord;
  } catch {
    return undefined;
  }
  if (!HEX64.test(String(rec.digest)) || !HEX64.test(String(rec.diffId)) || !Number.isSafeInteger(rec.size)) return undefined;
  const file = join(cacheBlobDir(cacheDir), "sha256", rec.digest.slice("sha256:".length));
  try {
    if ((await stat(file)).size !== rec.size || (await sha256File(file)) !== rec.digest) return undefined;
  } catch {
    return undefined;
  }
  return { role, diffId: rec.diffId, descriptor: { mediaType: rec.mediaType || OCI_LAYER_GZIP, digest: rec.digest, size: rec.size }, file, open: fileOpener(file) };
}

/** Records a layer written to {@link cacheBlobDir} under `key`. */
export async function writeCachedLayer(cacheDir: string, key: string, layer: BuiltLayer): Promise<void> {
  const rec: LayerRecord = { mediaType: layer.descriptor.mediaType, digest: layer.descriptor.digest, size: layer.descriptor.size, diffId: layer.diffId };
  const file = recordFile(cacheDir, key);
  await mkdir(join(cacheDir, "layers"), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
  await writeFile(tmp, `${JSON.stringify(rec)}\n`, { mode: 0o644 });
  await rename(tmp, file);
}
