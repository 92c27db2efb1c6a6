import { createHash } from "node:crypto";
/**
 * Helpers for backend packages' tests: example apps as backend contexts, and
 * discovery of the local test backends started by scripts/testenv/*.sh.
 * Exported as `@sdx/sdk/testing`; not part of the runtime API.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { BackendContext, TargetKindSpec } from "../backend/backend.js";
import { applyOverrides } from "../backend/apply-overrides.js";
import type { Backend } from "../backend/backend.js";
import { BackendRegistry } from "../backend/backend-registry.js";
import { builtinBackendProviders } from "../di/builtin-providers.js";
import { SdxError } from "../errors/sdx-error.js";
import { loadApp } from "../load/load-app.js";
import type { App, Target } from "../model/app.js";
import type { Resource } from "../plan/resource.js";
import { computeRevision } from "../revision/compute-revision.js";
import { resolveSecrets } from "../secrets/resolve-secrets.js";

/** Repository root (this file lives in packages/sdk/src/testing or packages/sdk/dist/testing). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

/** Fixed, obviously fake secret values for example apps, so goldens are stable. */
export const EXAMPLE_SECRET_ENV: Readonly<Record<string, string>> = {
  SHOP_DB_PASSWORD: "example-db-password",
  SHOP_QUEUE_TOKEN: "example-queue-token",
};

/** Path of an example app file, e.g. `exampleFile("shop")`. */
export function exampleFile(name: string): string {
  return resolve(REPO_ROOT, "examples", name, "sdx.yaml");
}

let builtinKinds: Promise<ReadonlyMap<string, TargetKindSpec>> | undefined;

/**
 * The built-in backends' target kinds (loaded through `builtinBackendProviders`,
 * from their light `/target` modules), for tests that call `validateApp` or
 * `loadApp` directly: `loadApp(file, { targetKinds: await builtinTargetKinds() })`.
 */
export function builtinTargetKinds(): Promise<ReadonlyMap<string, TargetKindSpec>> {
  builtinKinds ??= new BackendRegistry(builtinBackendProviders()).targetKinds();
  return builtinKinds;
}

/**
 * Loads an app file (with the built-in target kinds, plus `targetKinds` when
 * given) and builds the backend context for one of its targets (by name, or the
 * first of `kind`). `T` is the target type the test expects: the helper
 * selects by kind and does not check it.
 */
export async function exampleContext<T extends Target = Target>(
  nameOrFile: string, target: { name?: string; kind?: string }, env: Readonly<Record<string, string | undefined>> = EXAMPLE_SECRET_ENV,
  targetKinds?: ReadonlyMap<string, TargetKindSpec>,
): Promise<BackendContext<T>> {
  const file = nameOrFile.endsWith(".yaml") || nameOrFile.endsWith(".json") ? nameOrFile : exampleFile(nameOrFile);
  const loaded = await loadApp(file, { env, targetKinds: new Map([...(await builtinTargetKinds()), ...(targetKinds ?? [])]) });
  if (!loaded.app) throw new SdxError("SDX_VALIDATION", `${file} is invalid: ${JSON.stringify(loaded.diagnostics)}`);
  return contextForApp<T>(loaded.app, target, loaded.baseDir, env);
}

/** Backend context for an already-loaded app (see {@link exampleContext} for `T`). */
export async function contextForApp<T extends Target = Target>(
  app: App, target: { name?: string; kind?: string }, baseDir: string, env: Readonly<Record<string, string | undefined>> = EXAMPLE_SECRET_ENV,
): Promise<BackendContext<T>> {
  const t: Target | undefined = app.targets.find((x) => (target.name ? x.name === target.name : x.kind === target.kind));
  if (!t) throw new SdxError("SDX_UNKNOWN_TARGET", `no target ${JSON.stringify(target)} in ${app.name}`);
  const { secrets } = await resolveSecrets(app, { env, baseDir, missing: "error" });
  return { app, target: t as T, revision: computeRevision(app, secrets), secrets, baseDir };
}

/**
 * The app with every built service running a fixed image instead (its
 * repository, pinned to a digest made from the service name): for backend tests
 * where nothing pulls (KWOK) and the build itself is not under test (the
 * self-deploy suites build and run images for real).
 */
export function withoutBuilds(app: App): App {
  return {
    ...app,
    services: app.services.map((s) => {
      if (!s.build) return s;
      const { build: _b, ...rest } = s;
      const digest = `sha256:${createHash("sha256").update(`sdx-test-image:${s.name}`).digest("hex")}`;
      return { ...rest, image: { ref: `${s.image.repository}@${digest}`, repository: s.image.repository, digest } };
    }),
  };
}

/** Replaces the target's settings, e.g. to point it at the local test backend. */
export function withTarget<T extends Target>(ctx: BackendContext<T>, patch: Partial<T>): BackendContext<T> {
  return { ...ctx, target: { ...ctx.target, ...patch } as T };
}

/** Renders with overrides, as the API does. */
export function renderFor(backend: Backend, ctx: BackendContext): Resource[] {
  return applyOverrides(backend.render(ctx), ctx.target.overrides);
}

/** Where scripts/testenv/*.sh write their env files. */
export function testenvDir(): string {
  return process.env.SDX_TESTENV_DIR ?? "/tmp/sdx-testenv";
}

/**
 * Reads `<testenvDir>/<name>.env` written by `scripts/testenv/<name>.sh up`
 * (`name` is the backend's `TargetKindSpec.testenv`, e.g. `k8s`).
 * Returns undefined when the backend is not up. Values in the process
 * environment win, so the same tests can run against your own cluster.
 */
export function readTestenv(name: string): Record<string, string> | undefined {
  let text: string;
  try {
    text = readFileSync(resolve(testenvDir(), `${name}.env`), "utf8");
  } catch {
    // No env file: your own backend, described by SDX_<NAME>_* variables alone
    // (e.g. SDX_K8S_KUBECONFIG and SDX_K8S_CONTEXT for a kind cluster).
    const prefix = `SDX_${name.toUpperCase()}_`;
    const own = Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith(prefix) && e[1] !== undefined);
    return own.length > 0 ? Object.fromEntries(own) : undefined;
  }
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = process.env[m[1]!] ?? m[2]!.replace(/^"(.*)"$/, "$1");
  }
  return out;
}

/**
 * The test backend's settings, or a loud decision when it is missing:
 * under CI (CI=true) a missing backend is an error, so a suite can never pass
 * by skipping; elsewhere the suite is skipped with a banner saying how to start it.
 */
export function requireTestenv(name: string): { env: Record<string, string> } | { env: undefined; skipReason: string } {
  const env = readTestenv(name);
  if (env) return { env };
  const how = `bash scripts/testenv/${name}.sh up`;
  const msg = `${name} test backend is NOT running (no ${resolve(testenvDir(), `${name}.env`)}). Start it with: ${how}`;
  if (process.env.CI === "true" || process.env.CI === "1") throw new Error(`[sdx] ${msg}. CI must run every integration suite.`);
  process.stderr.write(`\n${"!".repeat(78)}\n[sdx] SKIPPING ${name} integration tests: ${msg}\n${"!".repeat(78)}\n\n`);
  return { env: undefined, skipReason: msg };
}

export { injectFaults, connectionReset, type FaultPlan, type FaultyClient } from "./fault-injection.js";
export {
  describeBackendConformance, exampleApps, spreadCalls,
  type ConformanceFaults, type ConformanceGoldens, type ConformanceLive, type ConformanceSubject,
} from "./describe-backend-conformance.js";
export { fakeClock, type FakeClock } from "./fake-clock.js";
