// The Kubernetes backend against the REAL node of scripts/testenv/k8s.sh: a kubelet,
// containerd and runc that really run the containers, so probes, crash loops and
// image pulls behave as on a cluster (the KWOK nodes make every pod Ready).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BackendContext } from "@sdx/sdk";
import { exampleContext, readTestenv, renderFor, REPO_ROOT, requireTestenv } from "@sdx/sdk/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../sdk/src/cli/run-cli.js";
import { K8sBackend } from "../src/index.js";
import type { K8sTarget } from "../src/k8s-target.js";
import { deleteNamespace, k8sEnv, kubectlJson, planAndApply, randomNs, type K8sEnv } from "./k8s-helpers.js";

const te = requireTestenv("k8s");
const registry = readTestenv("registry");

/** Why the real-node suite cannot run, or undefined when it can. */
function missing(): string | undefined {
  if (!te.env) return "the k8s test environment is down";
  if (!te.env.SDX_K8S_REAL_NODE) return "k8s.sh runs without its real node (SDX_K8S_WITH_REAL_NODE=0, or an older k8s.env); run: bash scripts/testenv/k8s.sh up";
  if (!registry?.SDX_REGISTRY_BASE_IMAGE) return "the test registry (with its base image) is down; run: bash scripts/testenv/registry.sh up";
  if (te.env.SDX_K8S_REAL_NODE_REGISTRY !== registry.SDX_REGISTRY_ADDR) {
    return `the real node pulls from ${te.env.SDX_K8S_REAL_NODE_REGISTRY ?? "no registry"}, the test registry is ${registry.SDX_REGISTRY_ADDR}; start both with the same SDX_REGISTRY_PORT`;
  }
  return undefined;
}
const why = missing();
if (why && te.env) {
  if (process.env.CI === "true" || process.env.CI === "1") throw new Error(`[sdx] real-node suite: ${why}. CI must run every integration suite.`);
  process.stderr.write(`\n[sdx] SKIPPING the Kubernetes real-node tests: ${why}\n\n`);
}

interface RealNode extends K8sEnv {
  readonly node: string;
  readonly netns: string;
  /** The test registry's base image (Debian busybox-static applets, /tmp 1777, user 65532) by tag. */
  readonly baseImage: string;
}

/** The base image pinned by its index digest, as an app would pin it. */
async function pinned(image: string): Promise<string> {
  const m = /^([^/]+)\/(.+):([^:/@]+)$/.exec(image);
  if (!m) throw new Error(`unexpected base image reference ${image}`);
  const res = await fetch(`http://${m[1]}/v2/${m[2]}/manifests/${m[3]}`, {
    method: "HEAD",
    headers: { accept: "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json" },
  });
  const digest = res.headers.get("docker-content-digest");
  if (!res.ok || !digest) throw new Error(`HEAD ${image}: ${res.status}`);
  return `${m[1]}/${m[2]}:${m[3]}@${digest}`;
}

/** GET http://ip:port/path from inside the node's network namespace (where the pod network is). */
function fromNode(rn: RealNode, url: string): string {
  return execFileSync("nsenter", [`--net=/run/netns/${rn.netns}`, "wget", "-q", "-T", "5", "-O", "-", url], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

interface WebSpec {
  readonly image: string;
  readonly greeting: string;
  readonly healthPath?: string;
  /** Replaces the web server: the container runs this shell line instead. */
  readonly script?: string;
  readonly timeout?: string;
  readonly replicas?: number;
}

/**
 * A one-service app whose pods land on the real node only: its taint is tolerated
 * and its label required through the spot-placement mechanism (spot "only" with
 * the real node's label as the target's spot label). The server answers with
 * $GREETING, so which revision answers is visible over HTTP.
 */
function webAppFile(rn: RealNode, ns: string, dir: string, s: WebSpec): string {
  const server = 'mkdir -p /tmp/www && printf "%s\\n" "$GREETING" > /tmp/www/index.html && exec busybox httpd -f -p 8080 -h /tmp/www';
  const app = {
    name: "realnode",
    services: {
      web: {
        image: s.image,
        command: ["sh", "-c"],
        args: [s.script ?? server],
        env: { GREETING: s.greeting },
        ports: [{ port: 8080, appProtocol: "http" }],
        health: { http: { path: s.healthPath ?? "/", port: 8080 }, interval: "2s", timeout: "1s", retries: 2 },
        resources: { cpu: "50m", memory: "32Mi" },
        replicas: s.replicas ?? 2,
        placement: { spot: "only", minOnDemand: 0 },
        rollout: { strategy: "rolling", maxSurge: 1, maxUnavailable: 0, timeout: s.timeout ?? "60s" },
      },
    },
    targets: {
      k8s: {
        kind: "kubernetes", kubeconfig: rn.kubeconfig, context: rn.context, namespace: ns,
        spotLabels: [{ key: "sdx.dev/real-node", value: "true", onDemandValue: "false" }],
      },
    },
  };
  const file = join(dir, `sdx-${randomBytes(3).toString("hex")}.json`);
  writeFileSync(file, JSON.stringify(app));
  return file;
}

function webApp(rn: RealNode, ns: string, dir: string, s: WebSpec): Promise<BackendContext<K8sTarget>> {
  return exampleContext<K8sTarget>(webAppFile(rn, ns, dir, s), { kind: "kubernetes" }, {});
}

interface PodView {
  readonly name: string;
  readonly node: string;
  readonly ip: string;
  readonly ready: boolean;
  readonly greeting: string | undefined;
}

function webPods(rn: RealNode, ns: string): PodView[] {
  return kubectlJson(rn, ["-n", ns, "get", "pods", "-l", "app.kubernetes.io/name=web"]).items
    .filter((p: any) => !p.metadata.deletionTimestamp)
    .map((p: any) => ({
      name: p.metadata.name,
      node: p.spec.nodeName,
      ip: p.status.podIP,
      ready: (p.status.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True"),
      greeting: p.spec.containers[0].env?.find((e: any) => e.name === "GREETING")?.value,
    }));
}

/** What every Ready web pod answers over the pod network. */
function answers(rn: RealNode, ns: string): string[] {
  return webPods(rn, ns).filter((p) => p.ready).map((p) => fromNode(rn, `http://${p.ip}:8080/`).trim()).sort();
}

describe.skipIf(!te.env || why !== undefined)("kubernetes backend on a real node (kubelet + containerd)", () => {
  const rn: RealNode = te.env && !why
    ? { ...k8sEnv(te.env), node: te.env.SDX_K8S_REAL_NODE!, netns: te.env.SDX_K8S_REAL_NODE_NETNS!, baseImage: registry!.SDX_REGISTRY_BASE_IMAGE! }
    : (undefined as never);
  const backend = new K8sBackend();
  const dir = mkdtempSync(join(tmpdir(), "sdx-real-node-"));
  const namespaces: string[] = [];
  let image = "";

  beforeAll(async () => {
    // CI starts the registry after k8s.sh: its forwarders into the node's namespace
    // are put there now (idempotent; what `k8s.sh up` does when the registry came first).
    execFileSync("bash", [join(REPO_ROOT, "scripts/testenv/registry.sh"), "attach", rn.netns], { stdio: ["ignore", "ignore", "pipe"] });
    image = await pinned(rn.baseImage);
  });
  afterAll(async () => {
    for (const ns of namespaces) deleteNamespace(rn, ns);
    rmSync(dir, { recursive: true, force: true });
  });

  describe("deploy, failing probe, crash loop, missing image", () => {
    const ns = randomNs("sdx-rn");
    namespaces.push(ns);
    let good: BackendContext<K8sTarget>;

    it("deploys: the containers run on the real node and answer over the pod network", async () => {
      good = await webApp(rn, ns, dir, { image, greeting: "hello from revision one" });
      const { result } = await planAndApply(backend, good);
      expect(result.status, JSON.stringify(result.error)).toBe("succeeded");
      const pods = webPods(rn, ns);
      expect(pods).toHaveLength(2);
      for (const p of pods) {
        expect(p.node).toBe(rn.node);
        expect(p.ready).toBe(true);
        expect(p.ip).toMatch(/^10\.88\.0\.\d+$/);
      }
      expect(answers(rn, ns)).toEqual(["hello from revision one", "hello from revision one"]);
      // Really run: the kubelet reports the container's start and the image it pulled by digest.
      const st = kubectlJson(rn, ["-n", ns, "get", "pod", pods[0]!.name]).status.containerStatuses[0];
      expect(st.state.running.startedAt).toBeTruthy();
      expect(st.imageID).toContain(image.split("@")[1]);
    });

    it("rolls back a revision whose readiness probe fails, says why, and the old pods keep answering", async () => {
      const bad = await webApp(rn, ns, dir, { image, greeting: "revision two", healthPath: "/not-there", timeout: "20s" });
      const events: any[] = [];
      const { result } = await planAndApply(backend, bad, { onEvent: (ev) => events.push(ev) });
      expect(result.status).toBe("rolled-back");
      expect(result.error).toMatchObject({ code: "SDX_ROLLOUT_FAILED" });
      const web = result.rollouts.find((r) => r.service === "web")!;
      expect(web.status).toBe("rolled-back");
      expect(web.reason).toBe("readiness never reached: 1 pod(s) running but not ready");
      expect(events.map((x) => x.kind)).toEqual(expect.arrayContaining(["rollout-failed", "rollback-started", "rollback-finished"]));
      const live = kubectlJson(rn, ["-n", ns, "get", "deployment", "web"]);
      expect(live.metadata.labels["sdx.dev/revision"]).toBe(good.revision.services.web);
      expect(live.status.readyReplicas).toBe(2);
      expect(answers(rn, ns)).toEqual(["hello from revision one", "hello from revision one"]);
    });

    it("`sdx deploy` of a revision that never gets ready exits 1 and prints why", async () => {
      const file = webAppFile(rn, ns, dir, { image, greeting: "revision three", healthPath: "/not-there", timeout: "20s" });
      let stdout = "";
      let stderr = "";
      const code = await runCli(["deploy", file, "--target", "k8s", "--yes"], {
        stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, interactive: false, confirm: async () => false, env: process.env,
      });
      expect(code, stdout + stderr).toBe(1);
      expect(stdout + stderr).toContain("readiness never reached: 1 pod(s) running but not ready");
      expect(stdout + stderr).toMatch(/SDX_ROLLOUT_FAILED|rolled back/i);
      expect(answers(rn, ns)).toEqual(["hello from revision one", "hello from revision one"]);
    });

    it("a crash-looping container fails the rollout with the container's state, and is rolled back", async () => {
      const crash = await webApp(rn, ns, dir, { image, greeting: "crash", script: "echo starting; exit 3", timeout: "30s" });
      const { result } = await planAndApply(backend, crash);
      expect(result.status).toBe("rolled-back");
      const web = result.rollouts.find((r) => r.service === "web")!;
      expect(web.reason).toMatch(/^container web is failing \(CrashLoopBackOff: back-off \d+s restarting failed container=web /);
      // The crashing pod's container really exited with the script's code.
      const restarted = kubectlJson(rn, ["-n", ns, "get", "events", "--field-selector", "reason=BackOff"]).items;
      expect(restarted.length).toBeGreaterThan(0);
      expect(answers(rn, ns)).toEqual(["hello from revision one", "hello from revision one"]);
    });

    it("an image digest the registry does not have fails fast as an image pull failure, and is rolled back", async () => {
      const absent = `${image.split("@")[0]!.replace(/:[^:/]+$/, "")}@sha256:${"0".repeat(63)}1`;
      const bad = await webApp(rn, ns, dir, { image: absent, greeting: "never", timeout: "120s" });
      const started = Date.now();
      const { result } = await planAndApply(backend, bad);
      expect(result.status).toBe("rolled-back");
      const web = result.rollouts.find((r) => r.service === "web")!;
      expect(web.reason).toMatch(/^image pull failed \((ErrImagePull|ImagePullBackOff)/);
      expect(web.reason).toContain("0".repeat(63));
      // Waiting cannot fix a missing image: sdx does not sit out the 120 s timeout.
      expect(Date.now() - started).toBeLessThan(100_000);
      expect(answers(rn, ns)).toEqual(["hello from revision one", "hello from revision one"]);
    });
  });

  describe("interrupted deploy", () => {
    const ns = randomNs("sdx-rn-abort");
    namespaces.push(ns);

    it("a deploy aborted while its pods start converges when run again", async () => {
      const first = await webApp(rn, ns, dir, { image, greeting: "first" });
      expect((await planAndApply(backend, first)).result.status).toBe("succeeded");
      const next = await webApp(rn, ns, dir, { image, greeting: "second" });
      const ac = new AbortController();
      const { result } = await planAndApply(backend, next, {
        signal: ac.signal,
        onEvent: (ev) => {
          if (ev.kind === "rollout-progress") ac.abort();
        },
      });
      expect(result.status).toBe("aborted");
      const again = await planAndApply(backend, next);
      expect(again.result.status, JSON.stringify(again.result.error)).toBe("succeeded");
      const replan = await backend.plan(next, renderFor(backend, next), {});
      expect(replan.actions.filter((a) => a.kind !== "no-op")).toEqual([]);
      expect(webPods(rn, ns).every((p) => p.greeting === "second" && p.node === rn.node)).toBe(true);
      expect(answers(rn, ns)).toEqual(["second", "second"]);
    });
  });
});
