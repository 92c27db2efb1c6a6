#!/usr/bin/env node
// Pushes a multi-platform base image made from root filesystem directories, with
// sdx's own reproducible layer writer and registry client (no Docker):
//
//   node scripts/base-image/push-base-image.mjs --registry HOST:PORT --repository NAME --tag T \
//     --rootfs amd64=DIR [--rootfs arm64=DIR] [--print-only] [--oci-layout DIR]
//
// Each DIR becomes ONE layer (modes, owners and symlinks as on disk, every
// timestamp SOURCE_DATE_EPOCH or 1980-01-01), with a config (os linux, the arch,
// Env PATH=/usr/local/bin:/usr/bin:/bin, User 65532:65532, label
// dev.sdx.base=offline), so the same directories always give the same digests.
// The manifests and an OCI index listing them are pushed, the index by tag.
// Prints `<registry>/<repository>:<tag>@<index digest>` on stdout.
// --print-only builds and prints the digests without pushing.
//
// Runs with plain `node` (>= 22.18) straight from the TypeScript sources, no
// build needed: the hooks below map the sources' `./x.js` import specifiers to
// the `./x.ts` files that exist, and compile those with Node's own
// stripTypeScriptTypes in "transform" mode (plain type stripping refuses
// parameter properties, which some sources use).
import { readFileSync } from "node:fs";
import { registerHooks, stripTypeScriptTypes } from "node:module";
import { fileURLToPath } from "node:url";

const USAGE = "usage: push-base-image.mjs --registry HOST:PORT --repository NAME --tag T --rootfs ARCH=DIR [--rootfs ARCH=DIR ...] [--print-only]";

function parseArgs(argv) {
  const out = { rootfs: [], printOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === "--registry") out.registry = value();
    else if (a === "--repository") out.repository = value();
    else if (a === "--tag") out.tag = value();
    else if (a === "--rootfs") {
      const v = value();
      const eq = v.indexOf("=");
      if (eq <= 0) throw new Error(`--rootfs takes ARCH=DIR, got ${JSON.stringify(v)}`);
      out.rootfs.push({ arch: v.slice(0, eq), dir: v.slice(eq + 1) });
    } else if (a === "--print-only") out.printOnly = true;
    else if (a === "--help" || a === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
  }
  if (!out.printOnly && (!out.registry || !out.repository || !out.tag)) throw new Error(USAGE);
  if (out.rootfs.length === 0) throw new Error(`at least one --rootfs ARCH=DIR\n${USAGE}`);
  for (const { arch } of out.rootfs) if (!["amd64", "arm64"].includes(arch)) throw new Error(`architecture ${JSON.stringify(arch)}: amd64 or arm64`);
  return out;
}

// The sources import "./x.js" (NodeNext style); only "./x.ts" exists.
registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (e) {
      if (e?.code === "ERR_MODULE_NOT_FOUND" && /^\.\.?\//.test(specifier) && specifier.endsWith(".js") && context.parentURL?.endsWith(".ts")) {
        return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
      }
      throw e;
    }
  },
  load(url, context, nextLoad) {
    if (!url.startsWith("file:") || !url.endsWith(".ts") || url.includes("/node_modules/")) return nextLoad(url, context);
    const source = stripTypeScriptTypes(readFileSync(fileURLToPath(url), "utf8"), { mode: "transform", sourceUrl: url });
    return { format: "module", source, shortCircuit: true };
  },
});

const src = (p) => new URL(`../../packages/sdk/src/${p}`, import.meta.url).href;

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const { walkTree } = await import(src("build/collect-build-context.ts"));
  const { createLayer } = await import(src("build/layer.ts"));
  const { buildEpoch } = await import(src("build/build-node-image.ts"));
  const { OCI_CONFIG, createImageIndex, createImageManifest, jsonBlob, rfc3339 } = await import(src("build/oci-image.ts"));
  const { createRegistryClient, registryOf } = await import(src("image/registry-client.ts"));
  const { pushIndex } = await import(src("image/push-image.ts"));

  const epoch = buildEpoch(undefined, process.env);
  const images = [];
  for (const { arch, dir } of [...args.rootfs].sort((a, b) => (a.arch < b.arch ? -1 : 1))) {
    // A root filesystem: absolute symlinks mean the image's root, /tmp keeps 1777, homes their owners.
    const tree = await walkTree({ root: dir, symlinks: "verbatim", metadata: "preserved", defaultExcludes: [], what: `${arch} root filesystem` });
    const layer = await createLayer(tree.entries, { epoch, role: "base" });
    const created = rfc3339(epoch);
    const config = jsonBlob({
      created, architecture: arch, os: "linux",
      config: { Env: ["PATH=/usr/local/bin:/usr/bin:/bin"], User: "65532:65532", Labels: { "dev.sdx.base": "offline" } },
      rootfs: { type: "layers", diff_ids: [layer.diffId] },
      history: [{ created, created_by: `sdx push-base-image: ${arch} root filesystem (${tree.files.length} files)` }],
    }, OCI_CONFIG);
    const manifest = createImageManifest(config.descriptor, [layer.descriptor]);
    for (const w of tree.warnings) console.error(`push-base-image: ${w}`);
    console.error(`push-base-image: linux/${arch} ${manifest.descriptor.digest} (layer ${layer.descriptor.digest}, ${layer.descriptor.size} bytes)`);
    images.push({
      platform: { os: "linux", architecture: arch },
      image: {
        manifest: { mediaType: manifest.descriptor.mediaType, bytes: manifest.bytes, digest: manifest.descriptor.digest },
        config: { descriptor: config.descriptor, bytes: config.bytes },
        layers: [{ descriptor: layer.descriptor, bytes: layer.bytes }],
      },
    });
  }
  const index = createImageIndex(images.map((i) => ({ mediaType: i.image.manifest.mediaType, digest: i.image.manifest.digest, size: i.image.manifest.bytes.length, platform: i.platform })));
  const ref = `${args.registry ?? "registry"}/${args.repository ?? "repository"}:${args.tag ?? "tag"}`;
  if (args.printOnly) {
    console.log(`${ref}@${index.descriptor.digest}`);
    return;
  }
  const location = registryOf({ repository: `${args.registry}/${args.repository}` });
  const client = createRegistryClient({});
  const r = await pushIndex(client, location, {
    manifest: { mediaType: index.descriptor.mediaType, bytes: index.bytes, digest: index.descriptor.digest },
    images: images.map((i) => i.image),
  }, { tag: args.tag });
  if (r.digest !== index.descriptor.digest) throw new Error(`the registry stored the index as ${r.digest}, not ${index.descriptor.digest}`);
  console.error(`push-base-image: uploaded ${r.uploaded} blobs (${r.bytesUploaded} bytes), ${r.present} already there`);
  console.log(`${ref}@${r.digest}`);
}

main().catch((e) => {
  console.error(`push-base-image: ${e?.code ? `${e.code}: ` : ""}${e?.message ?? e}`);
  if (e?.hint) console.error(`push-base-image: hint: ${e.hint}`);
  process.exit(1);
});
