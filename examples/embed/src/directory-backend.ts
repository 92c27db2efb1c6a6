// A fourth "orchestrator": it deploys an app by writing one manifest per
// service into a directory. Small on purpose; it shows every part of the
// Backend contract using only @sdx/sdk's public API.
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  diffResources, emit, executeActions, isOwnedBy, ownershipLabels, SdxError, summarize,
  type Backend, type BackendApplyResult, type BackendContext, type BackendPlan, type Diagnostic, type LiveResource, type Resource,
} from "@sdx/sdk";

type Manifest = { labels: Record<string, string>; spec: Record<string, unknown> };

const dirOf = (target: BackendContext["target"], baseDir = process.cwd()): string => {
  const settings = (target as { settings?: { path?: unknown } }).settings ?? {};
  return resolve(baseDir, String(settings.path));
};

export function createDirectoryBackend(): Backend {
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
    validateTarget(settings, path): Diagnostic[] {
      return typeof settings.path === "string" && settings.path !== ""
        ? []
        : [{ code: "DIRECTORY_PATH", severity: "error", path: `${path}.path`, message: "a directory target needs a path", hint: "Add path: ./out" }];
    },
    check(ctx) {
      return {
        diagnostics: [],
        fidelity: ctx.app.services.flatMap((s) => [
          { service: s.name, field: "image", level: "exact" as const },
          ...(s.placement.spot !== "never" ? [{ service: s.name, field: "placement.spot", level: "dropped" as const, note: "a directory has no capacity types" }] : []),
          ...(s.scale.kind === "auto" ? [{ service: s.name, field: "scale", level: "approximated" as const, note: "written as min replicas" }] : []),
        ]),
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
      await mkdir(dir, { recursive: true });
      const r = await executeActions(plan.actions, {
        target: ctx.target.name,
        rank: () => 0, // manifests are independent
        ...(options.onEvent ? { onEvent: options.onEvent } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        run: async (a) => {
          const file = join(dir, `${a.resource.name}.json`);
          if (a.kind === "delete") await rm(file, { force: true });
          else await writeFile(file, `${JSON.stringify(a.desired!.body, null, 2)}\n`);
        },
      });
      const status = r.aborted ? "aborted" : r.failed.length ? "failed" : "succeeded";
      const rollouts = ctx.app.services.map((s) => {
        const replicas = s.scale.kind === "fixed" ? s.scale.replicas : s.scale.min;
        // A directory is "ready" as soon as the file is written; report it the way real backends do.
        if (status === "succeeded") {
          emit(options.onEvent, { kind: "rollout-progress", target: ctx.target.name, service: s.name, desired: replicas, updated: replicas, ready: replicas });
          emit(options.onEvent, { kind: "rollout-succeeded", target: ctx.target.name, service: s.name });
        }
        return { service: s.name, status: status === "succeeded" ? ("succeeded" as const) : ("failed" as const), desired: replicas, ready: status === "succeeded" ? replicas : 0 };
      });
      return { status, completed: r.completed, failed: r.failed, remaining: r.remaining, rollouts, ...(r.failed[0] ? { error: r.failed[0].error } : {}) };
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
