#!/usr/bin/env node
// A program that deploys itself. Its app definition lives here, next to the
// code it describes, so `node server.js --deploy` ships exactly this program:
//
//   node server.js                                   serve on $PORT (default 8080); needs nothing but Node
//   node server.js --plan [--target t] [--replicas n] preview: cost table + changes
//   node server.js --deploy --target cheapest --replicas 5
//   node server.js --destroy [--target t]
//   node server.js --revision [--replicas n]        print the definition's content hash
//
// --targets k8s,swarm limits the candidates (e.g. to the ones you can reach).
import { createServer } from "node:http";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { dirname } from "node:path";

const env = process.env;

/**
 * The app definition: the same object an sdx.yaml would hold.
 * @param {{ replicas?: number, targets?: readonly string[] }} [options]
 */
export function definition({ replicas = 2, targets } = {}) {
  const all = {
    k8s: {
      kind: "kubernetes",
      namespace: env.SELF_DEPLOY_NAMESPACE ?? "self-deploy",
      ...(env.SELF_DEPLOY_KUBECONFIG ? { kubeconfig: env.SELF_DEPLOY_KUBECONFIG } : {}),
      ...(env.SELF_DEPLOY_K8S_CONTEXT ? { context: env.SELF_DEPLOY_K8S_CONTEXT } : {}),
      pricing: { provider: "aws", region: "us-east-1", nodeTypes: ["m6i.large"], spot: true },
    },
    swarm: {
      kind: "swarm",
      publishMode: "host",
      ...(env.SELF_DEPLOY_DOCKER_HOST ? { host: env.SELF_DEPLOY_DOCKER_HOST } : {}),
      pricing: { provider: "aws", region: "us-east-1", nodeTypes: ["t3.medium"] },
    },
    // Plain Linux servers over SSH (Docker on each): the addresses are placeholders until
    // SELF_DEPLOY_HOSTS names yours; host keys must be in known_hosts (or SELF_DEPLOY_KNOWN_HOSTS).
    hosts: {
      kind: "hosts",
      hosts: (env.SELF_DEPLOY_HOSTS ?? "192.0.2.10,192.0.2.11").split(",").map((address) => ({ address, instanceType: "t3.small" })),
      ...(env.SELF_DEPLOY_SSH_KEY ? { identityFile: env.SELF_DEPLOY_SSH_KEY } : {}),
      ...(env.SELF_DEPLOY_KNOWN_HOSTS ? { knownHosts: env.SELF_DEPLOY_KNOWN_HOSTS } : {}),
      // stream: sdx sends the image over SSH into `docker load`; no registry is needed or used.
      ...(env.SELF_DEPLOY_IMAGES ? { images: env.SELF_DEPLOY_IMAGES } : {}),
      pricing: { provider: "aws", region: "us-east-1" },
    },
    ecs: {
      kind: "ecs",
      region: "us-east-1",
      cluster: "self-deploy",
      createCluster: true,
      subnets: [env.SELF_DEPLOY_SUBNET ?? "subnet-0a1b2c3d"],
      securityGroups: [env.SELF_DEPLOY_SECURITY_GROUP ?? "sg-0a1b2c3d"],
    },
  };
  const wanted = targets ?? Object.keys(all);
  return {
    name: "self-deploy",
    labels: { example: "self-deploy" },
    // Where sdx pushes what it builds: <registry>/self-deploy-web@sha256:…
    build: { registry: env.SELF_DEPLOY_REGISTRY ?? "ghcr.io/sdx-dev", ...(env.SELF_DEPLOY_BASE ? { base: env.SELF_DEPLOY_BASE } : {}) },
    services: {
      web: {
        // sdx builds this very directory into an image (no Docker), pushes it and deploys it by digest.
        build: {
          context: ".",
          entry: "server.js",
          include: ["server.js", "package.json"],
          // The container only serves; sdx itself is needed only by the one who deploys.
          dependencies: "none",
        },
        env: { PORT: "8080" },
        ports: [{ port: 8080, appProtocol: "http", public: true }],
        health: { http: { path: "/healthz", port: 8080 }, interval: "10s", timeout: "2s" },
        resources: { cpu: "250m", memory: "256Mi" },
        replicas,
        placement: { spot: "prefer" },
      },
    },
    targets: Object.fromEntries(Object.entries(all).filter(([name]) => wanted.includes(name))),
  };
}

const OPTIONS = {
  plan: { type: "boolean" }, deploy: { type: "boolean" }, destroy: { type: "boolean" }, revision: { type: "boolean" },
  target: { type: "string" }, targets: { type: "string" }, replicas: { type: "string" }, json: { type: "boolean" },
  offline: { type: "boolean" }, port: { type: "string" },
};

/** Parses the command line; pure, so it is tested on its own. */
export function parseSelfDeployArgs(argv) {
  const { values } = parseArgs({ args: argv, options: OPTIONS, strict: true });
  // An empty value is a slip, not "the default"; numbers are plain digits (Number() would take "0x10", "1e3", " ").
  for (const [k, v] of Object.entries(values)) if (typeof v === "string" && v.trim() === "") throw new Error(`--${k} needs a value`);
  const whole = (name, v, max) => {
    if (!/^\d+$/.test(v) || (max !== undefined && Number(v) > max)) throw new Error(`${name} must be a whole number ≥ 0${max === undefined ? "" : ` and ≤ ${max}`}, got ${JSON.stringify(v)}`);
    return Number(v);
  };
  // The app's own validation enforces the replica limit.
  const replicas = values.replicas === undefined ? 2 : whole("--replicas", values.replicas);
  const mode = values.deploy ? "deploy" : values.plan ? "plan" : values.destroy ? "destroy" : values.revision ? "revision" : "serve";
  return {
    mode, replicas, json: values.json === true, offline: values.offline === true,
    target: values.target ?? (mode === "destroy" ? undefined : "cheapest"),
    targets: values.targets?.split(",").map((t) => t.trim()).filter(Boolean),
    port: whole(values.port === undefined ? "PORT" : "--port", values.port ?? env.PORT ?? "8080", 65535),
  };
}

async function load(args) {
  const sdk = await import("@sdx/sdk");
  // Validation knows the target kinds of the registered backends only: ask them (this loads no backend).
  const { app, diagnostics } = sdk.validateApp(definition({ replicas: args.replicas, targets: args.targets }), { targetKinds: await sdk.targetKinds() });
  if (!app) throw new Error(`the embedded definition is invalid:\n${sdk.formatDiagnostics(diagnostics)}`);
  const { secrets } = await sdk.resolveSecrets(app, { missing: "warning" });
  return { sdk, app, revision: sdk.computeRevision(app, secrets) };
}

/** Serving needs nothing but Node: no sdx in the image. */
function serve(port) {
  // Set by sdx: the image's source hash (SDX_SOURCE_REVISION, in the image) and the image it runs (SDX_IMAGE, at deploy).
  const report = { app: "self-deploy", revision: env.SDX_SOURCE_REVISION ?? "dev", image: env.SDX_IMAGE ?? null, host: hostname() };
  const server = createServer((req, res) => {
    if (req.url === "/healthz") return void res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    res.writeHead(200, { "content-type": "application/json" }).end(`${JSON.stringify(report)}\n`);
  });
  server.listen(port, () => process.stderr.write(`self-deploy ${report.revision} listening on :${server.address().port}\n`));
  // Swarm, Kubernetes and ECS stop containers with SIGTERM: stop at once.
  process.once("SIGTERM", () => server.close(() => process.exit(0)));
  return new Promise(() => {}); // serve until stopped
}

async function main(argv) {
  const args = parseSelfDeployArgs(argv);
  if (args.mode === "serve") return serve(args.port);
  const { sdk, app, revision } = await load(args);
  const out = (s) => process.stdout.write(s);
  // The definition's paths (the build context) are relative to this file, wherever it is run from.
  const baseDir = dirname(fileURLToPath(import.meta.url));
  const progress = (e) => {
    const line = sdk.formatEvent(e);
    if (line) process.stderr.write(`${line}\n`);
  };
  switch (args.mode) {
    case "revision":
      out(`${revision.app}\n`);
      return 0;
    case "plan": {
      const r = await sdk.plan(app, { target: args.target, offline: args.offline, baseDir, onEvent: args.json ? undefined : progress });
      out(args.json ? `${JSON.stringify({ revision: r.revision.app, target: r.target, builds: r.builds, plan: sdk.planToJson(r.plans[0].plan), estimates: r.estimates?.estimates ?? [] }, null, 2)}\n` : sdk.formatPlanResult(r));
      return 0;
    }
    case "deploy": {
      const r = await sdk.deploy(app, {
        target: args.target,
        baseDir,
        onEvent: progress,
        confirm: (tp, estimates) => {
          if (estimates?.estimates.length) out(`${sdk.formatEstimates(estimates, tp.target, { [tp.backend]: tp.displayName })}\n\n`);
          out(`Deploying to ${tp.target} (${tp.backend}): ${tp.plan.summary.create} to create, ${tp.plan.summary.update} to update, ${tp.plan.summary.delete} to delete.\n`);
          return true; // the program deploys itself: asking was done by typing --deploy
        },
      });
      for (const b of r.builds) out(`${b.service} → ${b.image}${b.existed ? " (unchanged, nothing uploaded)" : ` (${b.push?.uploaded ?? 0} blob(s) uploaded)`}\n`);
      out(`${r.status === "no-changes" ? `${r.target} already runs revision ${r.revision.app}` : `deploy of revision ${r.revision.app} to ${r.target}: ${r.status}${r.apply?.error ? ` (${r.apply.error.message})` : ""}`}. Chosen because: ${r.selection}.\n`);
      return r.status === "succeeded" || r.status === "no-changes" ? 0 : 1;
    }
    case "destroy": {
      const r = await sdk.destroy(app, { ...(args.target ? { target: args.target } : {}), baseDir, onEvent: progress });
      out(`removed ${r.deleted.length} object(s) of ${r.app} from ${r.target}\n`);
      return r.failed.length === 0 ? 0 : 1;
    }
    default:
      throw new Error(`unknown mode ${args.mode}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (e) => {
      process.stderr.write(`self-deploy: ${e.code ? `${e.code}: ` : ""}${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ""}`);
      process.exitCode = e.fault === "user" || e instanceof TypeError ? 2 : 1;
    },
  );
}
