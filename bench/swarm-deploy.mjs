#!/usr/bin/env node
// Swarm deploy benchmark: `sdx deploy` of examples/shop (the backend's plan +
// apply + wait, in process) against `docker stack deploy --detach=false` with
// an equivalent compose file generated from the same rendered specs, in the
// same run, alternating. Prints medians and the ratio (target <= 1.2x).
// Usage: npx tsc -b && node bench/swarm-deploy.mjs [--runs N]
// Needs the test engine: bash scripts/testenv/swarm.sh up
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { stringify } from "yaml";
import { loadApp, revealDeep, targetKinds } from "@sdx/sdk";
import { EXAMPLE_SECRET_ENV, contextForApp, exampleFile, renderFor, withTarget } from "@sdx/sdk/testing";
import { createBackend } from "@sdx/backend-swarm";

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf("--runs") + 1]) || 3;
const envFile = join(process.env.SDX_TESTENV_DIR ?? "/tmp/sdx-testenv", "swarm.env");
const te = Object.fromEntries(readFileSync(envFile, "utf8").split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
const host = te.SDX_SWARM_DOCKER_HOST;
const image = te.SDX_SWARM_IMAGE ?? "sdx-busybox:latest";
const dockerEnv = { ...process.env, DOCKER_HOST: host };
const docker = (...a) => execFileSync("docker", a, { env: dockerEnv, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

// The same runnable shop as the integration tests: local image, small CPU reservations.
async function shopContext(name) {
  const loaded = await loadApp(exampleFile("shop"), { env: EXAMPLE_SECRET_ENV, targetKinds: await targetKinds() });
  const img = { ref: image, repository: image.split(":")[0], tag: image.split(":")[1] ?? "latest" };
  const app = { ...loaded.app, name, services: loaded.app.services.map((s) => ({ ...s, image: img, resources: { cpuMillis: 50, memoryMiB: 64 } })) };
  const ctx = await contextForApp(app, { kind: "swarm" }, dirname(exampleFile("shop")), EXAMPLE_SECRET_ENV);
  return withTarget(ctx, { host, publishMode: "host" });
}

const secs = (ns) => `${ns / 1e9}s`;
const cpus = (nano) => (nano ? String(nano / 1e9) : undefined);
const upd = (u) => ({ parallelism: u.Parallelism, delay: secs(u.Delay), failure_action: u.FailureAction, monitor: secs(u.Monitor), max_failure_ratio: u.MaxFailureRatio, order: u.Order });

// Compose interpolates `$`; the specs' shell snippets need it literally.
const escapeDollars = (v) => (typeof v === "string" ? v.replaceAll("$", "$$$$") : Array.isArray(v) ? v.map(escapeDollars) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, escapeDollars(x)])) : v);

/** A compose file equivalent to the rendered Swarm objects (same specs, same secrets and configs). */
function composeFor(resources, dir) {
  const out = { version: "3.8", services: {}, secrets: {}, configs: {}, networks: { default: { driver: "overlay", attachable: true } } };
  const key = (name) => name.replace(/^[^_]+_/, "");
  for (const r of resources.filter((x) => x.kind === "secret" || x.kind === "config")) {
    const file = join(dir, r.name);
    writeFileSync(file, String(revealDeep(r.body.Data)));
    out[`${r.kind}s`][key(r.name)] = { file };
  }
  for (const r of resources.filter((x) => x.kind === "service")) {
    const s = r.body;
    const c = s.TaskTemplate.ContainerSpec;
    const h = c.Healthcheck;
    const res = s.TaskTemplate.Resources;
    out.services[r.service] = escapeDollars({
      image: c.Image,
      ...(c.Command ? { entrypoint: c.Command } : {}),
      ...(c.Args ? { command: c.Args } : {}),
      ...(c.Env ? { environment: c.Env } : {}),
      ...(c.Secrets ? { secrets: c.Secrets.map((x) => ({ source: key(x.SecretName), target: x.File.Name, mode: x.File.Mode })) } : {}),
      ...(c.Configs ? { configs: c.Configs.map((x) => ({ source: key(x.ConfigName), target: x.File.Name, mode: x.File.Mode })) } : {}),
      ...(h ? { healthcheck: { test: h.Test, interval: secs(h.Interval), timeout: secs(h.Timeout), retries: h.Retries, start_period: secs(h.StartPeriod) } } : {}),
      ...(s.EndpointSpec.Ports ? { ports: s.EndpointSpec.Ports.map((p) => ({ target: p.TargetPort, protocol: p.Protocol, mode: p.PublishMode })) } : {}),
      deploy: {
        mode: "replicated",
        replicas: s.Mode.Replicated.Replicas,
        endpoint_mode: s.EndpointSpec.Mode,
        resources: {
          limits: { ...(cpus(res.Limits.NanoCPUs) ? { cpus: cpus(res.Limits.NanoCPUs) } : {}), memory: `${res.Limits.MemoryBytes}b` },
          reservations: { cpus: cpus(res.Reservations.NanoCPUs), memory: `${res.Reservations.MemoryBytes}b` },
        },
        restart_policy: { condition: "any", delay: "5s" },
        placement: {
          constraints: s.TaskTemplate.Placement.Constraints,
          ...(s.TaskTemplate.Placement.Preferences ? { preferences: s.TaskTemplate.Placement.Preferences.map((p) => ({ spread: p.Spread.SpreadDescriptor })) } : {}),
        },
        update_config: upd(s.UpdateConfig),
        rollback_config: upd(s.RollbackConfig),
      },
    });
  }
  return stringify(out, { lineWidth: 0 });
}

function waitStackGone(stack) {
  for (let i = 0; i < 120; i++) {
    const left = docker("ps", "-q", "--filter", `label=com.docker.stack.namespace=${stack}`).trim() + docker("network", "ls", "-q", "--filter", `label=com.docker.stack.namespace=${stack}`).trim();
    if (!left) return;
    execFileSync("sleep", ["0.5"]);
  }
}

const backend = createBackend();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function sdxDeploy(i) {
  const ctx = await shopContext(`bsdx${i}`);
  const t0 = process.hrtime.bigint();
  const plan = await backend.plan(ctx, renderFor(backend, ctx), {});
  const r = await backend.apply(ctx, plan, {});
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== "succeeded") throw new Error(`sdx deploy ${r.status}: ${JSON.stringify(r.error)}`);
  await backend.destroy({ appName: ctx.app.name, target: ctx.target }, {});
  waitStackGone(ctx.app.name);
  return ms;
}

async function stackDeploy(i) {
  const stack = `bstk${i}`;
  const ctx = await shopContext(stack);
  const dir = mkdtempSync(join(tmpdir(), "sdx-bench-"));
  const file = join(dir, "compose.yaml");
  writeFileSync(file, composeFor(renderFor(backend, ctx), dir));
  const t0 = process.hrtime.bigint();
  docker("stack", "deploy", "--detach=false", "-c", file, stack);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const running = docker("stack", "ps", stack, "--filter", "desired-state=running", "--format", "{{.CurrentState}}").trim().split("\n");
  if (running.length !== 7 || !running.every((l) => l.startsWith("Running"))) throw new Error(`stack ${stack} did not converge: ${running.join("; ")}`);
  docker("stack", "rm", stack);
  waitStackGone(stack);
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

const sdx = [];
const stack = [];
console.log(`engine ${host} (API ${docker("version", "--format", "{{.Server.APIVersion}}").trim()}), docker CLI ${docker("version", "--format", "{{.Client.Version}}").trim()}; ${runs} runs each, alternating`);
for (let i = 0; i < runs; i++) {
  // Alternate which goes first so warm-up favours neither.
  const order = i % 2 === 0 ? ["sdx", "stack"] : ["stack", "sdx"];
  for (const which of order) {
    const ms = which === "sdx" ? await sdxDeploy(i) : await stackDeploy(i);
    (which === "sdx" ? sdx : stack).push(ms);
    console.log(`run ${i + 1}: ${which === "sdx" ? "sdx deploy          " : "docker stack deploy "} ${(ms / 1000).toFixed(2)} s`);
  }
}
const ratio = median(sdx) / median(stack);
console.log(`median sdx deploy:          ${(median(sdx) / 1000).toFixed(2)} s`);
console.log(`median docker stack deploy: ${(median(stack) / 1000).toFixed(2)} s`);
console.log(`ratio sdx / stack: ${ratio.toFixed(2)}x (target <= 1.2x) ${ratio <= 1.2 ? "OK" : "OVER"}`);
