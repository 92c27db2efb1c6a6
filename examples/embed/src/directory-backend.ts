// A fourth "orchestrator": it deploys an app by writing one manifest per
// service into a directory. Small on purpose; it shows every part of the
// Backend contract using only @sdx/sdk's public API.
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  applyPlan, diffResources, emit, isOwnedBy, ownershipLabels, SdxError, summarize,
  type Backend, type BackendApplyResult, type BackendPlan, type CostModel, type LiveResource, type Resource,
} from "@sdx/sdk";
import { directoryTargetSpec, type DirectoryTarget } from "./directory-target.ts";

type Manifest = { labels: Record<string, string>; spec: Record<string, unknown> };

// A loaded app file has its path resolved already (pathSettings); an app object given to the API may not.
const dirOf = (target: DirectoryTarget, baseDir = process.cwd()): string => resolve(baseDir, target.path);

export function createDirectoryBackend(): Backend<DirectoryTarget> {
  const read = async (dir: string, app: string): Promise<LiveResource[]> => {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw new SdxError("SDX_BACKEND_UNREACHABLE", `cannot read ${dir}`, { fault: "backend", cause: e, hint: "Check the directory's permissions." });
    }
    const out: LiveResource[] = [];
    for (const n of names.filter((x) => x.endsWith(".json")).sort()) {
      const body = JSON.parse(await readFile(join(dir, n), "utf8")) as Manifest;
      out.push({ kind: "manifest", name: n.slice(0, -5), body, owned: isOwnedBy(body.labels, app), ...(body.labels["sdx.dev/service"] ? { service: body.labels["sdx.dev/service"] } : {}) });
    }
    return out;
  };
  return {
    kind: "directory",
    displayName: "Directory of manifests",
    capabilities: { spot: false, autoscale: false, nativeProbes: ["http", "tcp", "exec"], volumes: [], rollback: false, liveDiff: true },
    // The manifests run on acme machines (the target's pricing.nodeTypes, priced by
    // the acme rate card); each machine keeps 100m / 128 MiB for the acme agent.
    costModel: (): CostModel => ({ kind: "nodes", reserve: { kind: "fixed", cpuMillis: 100, memoryMiB: 128 } }),
    target: directoryTargetSpec,
    check(ctx) {
      return {
        diagnostics: [],
        // Spot, autoscaling, volumes and rollback follow from `capabilities`: the sdk reports those.
        fidelity: ctx.app.services.map((s) => ({ service: s.name, field: "image", level: "exact" as const })),
      };
    },
    render(ctx): Resource[] {
      return ctx.app.services.map((s) => ({
        kind: "manifest",
        name: `${ctx.app.name}-${s.name}`,
        service: s.name,
        body: {
          labels: ownershipLabels(ctx.app.name, s.name, ctx.revision.services[s.name]),
          spec: {
            image: s.image.ref,
            env: s.env,
            replicas: s.scale.kind === "fixed" ? s.scale.replicas : s.scale.min,
            cpuMillis: s.resources.cpuMillis,
            memoryMiB: s.resources.memoryMiB,
            ports: s.ports.map((p) => ({ port: p.port, protocol: p.protocol, public: p.public })),
            // References and digests only: a manifest on disk must never hold a secret value.
            secrets: s.secrets.map((x) => ({ name: x.name, source: x.source.kind, digest: ctx.secrets.get(`${s.name}/${x.name}`)?.digest })),
          },
        },
      }));
    },
    async plan(ctx, desired): Promise<BackendPlan> {
      const live = await read(dirOf(ctx.target, ctx.baseDir), ctx.app.name);
      const { actions, diagnostics } = diffResources(desired, live, { kindOrder: ["manifest"] });
      const deployed = live.filter((l) => l.owned).map((l) => {
        const spec = (l.body as Manifest).spec;
        return { service: l.service ?? l.name, replicas: Number(spec.replicas), cpuMillis: Number(spec.cpuMillis), memoryMiB: Number(spec.memoryMiB) };
      });
      return { target: ctx.target.name, backend: "directory", mode: "live", actions, summary: summarize(actions), diagnostics, deployed };
    },
    async apply(ctx, plan, options): Promise<BackendApplyResult> {
      const dir = dirOf(ctx.target, ctx.baseDir);
      // The sdk's engine runs the skeleton (order, result, abort, rollout policy); a directory only writes files.
      return applyPlan(ctx, plan, options, {
        prepare: async () => {
          await mkdir(dir, { recursive: true });
        },
        run: async (a) => {
          const file = join(dir, `${a.resource.name}.json`);
          if (a.kind === "delete") {
            await rm(file, { force: true });
            return undefined;
          }
          await writeFile(file, `${JSON.stringify(a.desired!.body, null, ctx.target.indent)}\n`);
          return a.resource.service ? { service: a.resource.service, replicas: Number((a.desired!.body as Manifest).spec.replicas) } : undefined;
        },
        // A directory is "ready" as soon as the file is written; report it the way real backends do.
        waitRollouts: async (watches, { settle }) => {
          for (const w of watches) {
            emit(options.onEvent, { kind: "rollout-progress", target: ctx.target.name, service: w.service, desired: w.replicas, updated: w.replicas, ready: w.replicas });
            settle(w, { kind: "succeeded", desired: w.replicas, ready: w.replicas });
          }
        },
      });
    },
    async status(ctx) {
      const live = (await read(dirOf(ctx.target, ctx.baseDir), ctx.appName)).filter((l) => l.owned);
      return {
        target: ctx.target.name, backend: "directory", warnings: [],
        services: live.map((l) => {
          const m = l.body as Manifest;
          const n = Number(m.spec.replicas);
          return { service: l.service ?? l.name, desired: n, running: n, ready: n, revision: m.labels["sdx.dev/revision"], state: "healthy" as const, messages: [] };
        }),
      };
    },
    async destroy(ctx) {
      const dir = dirOf(ctx.target, ctx.baseDir);
      const owned = (await read(dir, ctx.appName)).filter((l) => l.owned);
      for (const l of owned) await rm(join(dir, `${l.name}.json`), { force: true });
      return { deleted: owned.map((l) => ({ kind: l.kind, name: l.name })), failed: [] };
    },
  };
}
