import { readFileSync, writeFileSync } from "node:fs";
import { delimiter, dirname, resolve as resolvePath } from "node:path";
import type { Container } from "inversify";
import type { SdxSession, ServicesFrom } from "../api/sdx-services.js";
import type { SdxEvent } from "../events/sdx-event.js";
import { EXIT, helpText, parseCli, type CliCommand } from "./parse-cli.js";

/** What the CLI touches of the outside world; injected so tests can drive it. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Whether a person can answer a confirmation. */
  readonly interactive: boolean;
  /** Asks a yes/no question. @default reads a line from stdin */
  readonly confirm: (question: string) => Promise<boolean>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** A container with extra backends, for embedding and tests. @default the built-ins */
  readonly container?: Container;
  /** Cancels long operations (Ctrl-C). */
  readonly signal?: AbortSignal;
}

function version(): string {
  // Same relative path from src/cli and dist/cli.
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

async function askOnStdin(question: string): Promise<boolean> {
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

function defaultIo(): CliIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    interactive: process.stdin.isTTY === true && process.stderr.isTTY === true,
    confirm: askOnStdin,
    env: process.env,
  };
}

/**
 * Runs the `sdx` CLI and returns its exit code. A thin shell over the API:
 * it parses, calls one exported function, prints, and maps the outcome to an
 * exit code (0 ok, 1 failure, 2 usage or validation, 3 changes present).
 */
export async function runCli(argv: readonly string[], ioOverrides: Partial<CliIo> = {}): Promise<number> {
  const io: CliIo = { ...defaultIo(), ...ioOverrides };
  const cmd = parseCli(argv);
  if (cmd.command === "usage-error") {
    // Same shape as any other error: the stable code first, in JSON when --json was asked for.
    if (argv.includes("--json")) io.stdout(`${JSON.stringify({ error: { code: "SDX_USAGE", fault: "user", message: cmd.message, ...(cmd.hint ? { hint: cmd.hint } : {}) } }, null, 2)}\n`);
    else io.stderr(`sdx: SDX_USAGE: ${cmd.message}\n${cmd.hint ? `  hint: ${cmd.hint}\n` : ""}`);
    return EXIT.usage;
  }
  let ownController: AbortController | undefined;
  let onSigint: (() => void) | undefined;
  let interrupted = false;
  if (!io.signal && (cmd.command === "deploy" || cmd.command === "destroy")) {
    ownController = new AbortController();
    onSigint = () => {
      if (interrupted) hardExit(EXIT_INTERRUPTED);
      interrupted = true;
      io.stderr("\nsdx: stopping after the steps in flight (Ctrl-C again to quit at once)…\n");
      ownController!.abort();
    };
    process.on("SIGINT", onSigint);
  }
  try {
    const code = await run(cmd, { ...io, ...(ownController ? { signal: ownController.signal } : {}) });
    // Ctrl-C ends with 130 (128 + SIGINT) whatever the operation made of the abort, as shells expect.
    return interrupted ? EXIT_INTERRUPTED : code;
  } catch (e) {
    const code = await reportError(e, io, "json" in cmd && cmd.json === true, cmd.command === "prices");
    return interrupted ? EXIT_INTERRUPTED : code;
  } finally {
    if (onSigint) process.off("SIGINT", onSigint);
  }
}

/** Exit code after Ctrl-C: 128 + SIGINT. */
const EXIT_INTERRUPTED = 130;

/**
 * Leaves at once on a second Ctrl-C. Output is flushed first and the exit is
 * taken from a fresh macrotask, not from inside the signal callback while
 * sockets and the thread pool are mid-operation.
 */
function hardExit(code: number): void {
  process.exitCode = code;
  setImmediate(() => process.exit(code));
}

/** Errors in what the user gave sdx (the app file, files it names, a target name), which exit 2 like validation errors. */
const INPUT_ERROR_CODES: ReadonlySet<string> = new Set(["SDX_LOAD", "SDX_PLUGIN", "SDX_FILE_EXISTS", "SDX_UNKNOWN_TARGET", "SDX_PATH_OUTSIDE_APP", "SDX_FILE_NOT_REGULAR", "SDX_FILE_TOO_LARGE", "SDX_INVALID_ENCODING", "SDX_LIMIT_EXCEEDED", "SDX_FILE_UNREADABLE", "SDX_BASE_PLATFORM"]);

/**
 * Input the user must fix: exit 2. A build that cannot start from what the app says
 * (every `SDX_BUILD_*` the builder blames on its input) counts; a registry's refusal
 * or an npm registry outage does not (fault "backend": exit 1).
 */
function isInputError(err: { readonly code: string; readonly fault: string }): boolean {
  return err.code === "SDX_VALIDATION" || err.code === "SDX_USAGE" || INPUT_ERROR_CODES.has(err.code) || (err.code.startsWith("SDX_BUILD_") && err.fault === "user");
}

/**
 * Directories files may be read from besides the app's: `--allow-outside` flags,
 * then `SDX_ALLOW_OUTSIDE` (path-delimited), relative to the current directory
 * as any shell path is.
 */
function allowOutsideOf(cmd: CliCommand, env: CliIo["env"]): readonly string[] {
  const flags = "allowOutside" in cmd ? cmd.allowOutside ?? [] : [];
  const fromEnv = (env.SDX_ALLOW_OUTSIDE ?? "").split(delimiter).filter((d) => d.trim() !== "");
  return [...flags, ...fromEnv].map((d) => resolvePath(d));
}

/** Prints an error; `lookup` marks a command whose user-fault errors are all input to fix (`sdx prices`: a region, a type), exit 2. */
async function reportError(e: unknown, io: CliIo, json: boolean, lookup = false): Promise<number> {
  const { toSdxError } = await import("../errors/sdx-error.js");
  const { diagnosticsOf } = await import("../api/prepare-app.js");
  const err = toSdxError(e);
  const diagnostics = diagnosticsOf(err);
  if (json) io.stdout(`${JSON.stringify({ error: err.toJSON() }, null, 2)}\n`);
  else if (diagnostics.length > 0) {
    const { formatDiagnostics } = await import("../format/format-diagnostics.js");
    io.stderr(`${formatDiagnostics(diagnostics)}\n`);
  } else {
    io.stderr(`sdx: ${err.code}: ${err.message}\n${err.hint ? `  hint: ${err.hint}\n` : ""}`);
  }
  return isInputError(err) || (lookup && err.fault === "user") ? EXIT.usage : EXIT.failure;
}

function progress(io: CliIo, formatEvent: (e: SdxEvent) => string | undefined) {
  return (e: SdxEvent): void => {
    const line = formatEvent(e);
    if (line !== undefined) io.stderr(`${line}\n`);
  };
}

const print = (io: CliIo, v: unknown): void => io.stdout(`${JSON.stringify(v, null, 2)}\n`);

/**
 * The session a command runs in: the built-ins (or `io.container`'s backends)
 * plus the plugins the app file, `--plugin` and `SDX_PLUGINS` name. Undefined
 * when there are none: the API then uses the container or its default session.
 */
async function sessionFor(cmd: CliCommand, io: CliIo, allowOutside: readonly string[]): Promise<SdxSession | undefined> {
  const app = appFileOf(cmd);
  if (app === undefined && cmd.command !== "schema") return undefined;
  const { pluginsFromEnv, readPluginList } = await import("../api/load-plugins.js");
  const appFile = app === undefined ? { plugins: [] } : await readPluginList(app, { env: io.env, ...(io.signal ? { signal: io.signal } : {}) });
  const refs = [
    ...appFile.plugins.map((specifier) => ({ specifier, origin: "app" as const })),
    ...(("plugins" in cmd ? cmd.plugins : undefined) ?? []).map((specifier) => ({ specifier, origin: "flag" as const })),
    ...pluginsFromEnv(io.env.SDX_PLUGINS, delimiter).map((specifier) => ({ specifier, origin: "env" as const })),
  ];
  if (refs.length === 0) return undefined;
  const { loadPlugins } = await import("../api/load-plugins.js");
  // Packages resolve from the app's directory (its node_modules); without an app file, from here.
  const plugins = await loadPlugins(refs, { appDir: appFile.file ? dirname(appFile.file) : process.cwd(), allowOutside });
  if (io.container) return (await import("../di/create-sdx-container.js")).sdxFromContainer(io.container, { plugins });
  const { createSdx } = await import("../api/create-sdx.js");
  return createSdx({ env: io.env, plugins });
}

/** The app file a command reads (and whose `plugins:` it loads), if any. */
function appFileOf(cmd: CliCommand): string | undefined {
  switch (cmd.command) {
    case "validate": case "targets": case "plan": case "deploy": case "build": case "status": case "destroy": case "check":
      return cmd.file;
    case "help": case "version": case "schema": case "import": case "prices": case "prices-refresh":
      return undefined;
    default: {
      const never: never = cmd;
      throw new Error(`unhandled command ${JSON.stringify(never)}`);
    }
  }
}

async function run(cmd: CliCommand, io: CliIo): Promise<number> {
  const allowOutside = allowOutsideOf(cmd, io.env);
  const session = await sessionFor(cmd, io, allowOutside);
  const from: ServicesFrom = session ? { session } : io.container ? { container: io.container } : {};
  const common = {
    ...from, env: io.env, ...(io.signal ? { signal: io.signal } : {}), ...(allowOutside.length > 0 ? { allowOutside } : {}),
  };
  switch (cmd.command) {
    case "help":
      io.stdout(helpText(cmd.topic));
      return EXIT.ok;
    case "version":
      io.stdout(`sdx ${version()}\n`);
      return EXIT.ok;
    case "schema": {
      const { schema } = await import("../api/schema.js");
      const text = `${JSON.stringify(await schema(from), null, 2)}\n`;
      if (cmd.out) writeFileSync(cmd.out, text);
      else io.stdout(text);
      return EXIT.ok;
    }
    case "validate": {
      const { validate } = await import("../api/validate.js");
      const { hasErrors } = await import("../validation/diagnostic.js");
      const r = await validate(cmd.file, common);
      if (cmd.json) print(io, (await import("../format/json-output.js")).validateJson(r));
      else {
        const { formatDiagnostics } = await import("../format/format-diagnostics.js");
        if (r.diagnostics.length) io.stderr(`${formatDiagnostics(r.diagnostics, r.file)}\n`);
        io.stdout(`${(await import("../format/format-results.js")).formatValidateSummary(r)}\n`);
      }
      return hasErrors(r.diagnostics) ? EXIT.usage : EXIT.ok;
    }
    case "targets": {
      const { validate } = await import("../api/validate.js");
      const r = await validate(cmd.file, common);
      if (!r.app) {
        const { formatDiagnostics } = await import("../format/format-diagnostics.js");
        io.stderr(`${formatDiagnostics(r.diagnostics, r.file)}\n`);
        return EXIT.usage;
      }
      const { targetCostModels } = await import("../api/cost-models.js");
      const { formatTargets, targetRows } = await import("../format/format-targets.js");
      const rows = targetRows(r.app, await targetCostModels(r.app, from));
      if (cmd.json) print(io, { app: r.app.name, targets: rows });
      else io.stdout(`${formatTargets(rows)}\n`);
      return EXIT.ok;
    }
    case "check": {
      const { check } = await import("../api/check.js");
      const r = await check(cmd.file, { ...common, ...(cmd.target ? { target: cmd.target } : {}), ...(cmd.json ? {} : { onEvent: progress(io, (await import("../format/format-event.js")).formatEvent) }) });
      if (cmd.json) print(io, (await import("../format/json-output.js")).checkJson(r));
      else {
        const { formatDiagnostics } = await import("../format/format-diagnostics.js");
        const diags = [...r.diagnostics, ...r.targets.flatMap((p) => [...p.check.diagnostics, ...p.plan.diagnostics].map((d) => ({ ...d, target: p.target })))];
        if (diags.length) io.stderr(`${formatDiagnostics(diags)}\n`);
        io.stdout(`${(await import("../format/format-results.js")).formatCheck(r)}\n`);
      }
      return r.targets.some((p) => [...p.check.diagnostics, ...p.plan.diagnostics].some((d) => d.severity === "error")) ? EXIT.failure : EXIT.ok;
    }
    case "plan": {
      const { plan } = await import("../api/plan.js");
      const { budgetUnpricedError, checkBudget, checkBudgetPriced } = await import("../api/check-budget.js");
      const { hasChanges, hasUnconverged } = await import("../plan/plan.js");
      const policy = cmd.budget === undefined ? undefined : { maxMonthlyUsd: cmd.budget };
      const r = await plan(cmd.file, {
        ...common,
        ...(cmd.target ? { target: cmd.target } : {}),
        offline: cmd.offline,
        ...(policy ? { policy } : {}),
        ...(cmd.forceConflicts ? { forceConflicts: true } : {}),
        ...(cmd.allowDegraded ? { allowDegraded: true } : {}),
        ...(cmd.json ? {} : { onEvent: progress(io, (await import("../format/format-event.js")).formatEvent) }),
      });
      const sel = r.plans[0]!;
      if (cmd.json) print(io, (await import("../format/json-output.js")).planJson(r));
      else {
        const { formatDiagnostics } = await import("../format/format-diagnostics.js");
        const { formatPlanResult } = await import("../format/format-plan.js");
        const diags = [...r.diagnostics, ...(r.estimates?.diagnostics ?? []), ...r.plans.flatMap((p) => [...p.check.diagnostics, ...p.plan.diagnostics].map((d) => ({ ...d, target: p.target })))];
        if (diags.length) io.stderr(`${formatDiagnostics(diags)}\n`);
        const width = cmd.breakdown ? (await import("../format/format-breakdown.js")).widthFromEnv(io.env) : undefined;
        io.stdout(formatPlanResult(r, { breakdown: cmd.breakdown, width }));
      }
      const blocked = r.plans.some((p) => [...p.check.diagnostics, ...p.plan.diagnostics].some((d) => d.severity === "error"));
      if (blocked) return EXIT.failure;
      // A budget with no price to compare it to fails like an excess: passing it would say "within budget".
      const unpriced = checkBudgetPriced(r.estimates, sel.target, policy);
      if (unpriced) {
        const err = budgetUnpricedError(unpriced);
        io.stderr(`sdx: ${err.code}: ${err.message}\n  hint: ${err.hint}\n`);
        return EXIT.failure;
      }
      const over = checkBudget(r.estimates, sel.target, policy);
      if (over) {
        io.stderr(`sdx: ${(await import("../format/format-results.js")).formatBudgetExcess(over)}\n`);
        return EXIT.failure;
      }
      // Unfinished rollouts count as changes: a deploy would still have work (waiting) to do.
      if (cmd.expectNoChanges && (hasChanges(sel.plan) || hasUnconverged(sel.plan))) return EXIT.changes;
      return EXIT.ok;
    }
    case "deploy": {
      const { deploy } = await import("../api/deploy.js");
      const { formatEvent } = await import("../format/format-event.js");
      const { formatTargetPlan, formatEstimates } = await import("../format/format-plan.js");
      if (!cmd.yes && !io.interactive) {
        io.stderr("sdx: deploy needs confirmation and there is no terminal to ask\n  hint: pass --yes to deploy without asking.\n");
        return EXIT.usage;
      }
      const r = await deploy(cmd.file, {
        ...common,
        ...(cmd.target ? { target: cmd.target } : {}),
        wait: cmd.wait,
        ...(cmd.timeoutSeconds ? { timeoutSeconds: cmd.timeoutSeconds } : {}),
        ...(cmd.forceConflicts ? { forceConflicts: true } : {}),
        ...(cmd.allowDegraded ? { allowDegraded: true } : {}),
        ...(cmd.budget !== undefined ? { policy: { maxMonthlyUsd: cmd.budget } } : {}),
        onEvent: progress(io, formatEvent),
        confirm: async (tp, estimates, verdicts) => {
          if (!cmd.json) {
            if (estimates?.estimates.length) io.stderr(`${formatEstimates(estimates, tp.target, {}, verdicts ? { verdicts } : {})}\n\n`);
            io.stderr(`${formatTargetPlan(tp)}\n`);
          }
          if (cmd.yes) return true;
          return io.confirm(`Apply these changes to ${tp.target}?`);
        },
      });
      if (cmd.json) print(io, (await import("../format/json-output.js")).deployJson(r));
      else {
        const { formatDeploySummary } = await import("../format/format-deploy-summary.js");
        io.stdout(formatDeploySummary(r));
      }
      return r.status === "succeeded" || r.status === "no-changes" ? EXIT.ok : EXIT.failure;
    }
    case "build": {
      const { build } = await import("../api/build.js");
      const r = await build(cmd.file, {
        ...common,
        ...(cmd.target ? { target: cmd.target } : {}),
        ...(cmd.services?.length ? { services: cmd.services } : {}),
        push: cmd.push,
        ...(cmd.json ? {} : { onEvent: progress(io, (await import("../format/format-event.js")).formatEvent) }),
      });
      if (cmd.json) print(io, r);
      else io.stdout((await import("../format/format-results.js")).formatBuildResult(r, cmd.push));
      return EXIT.ok;
    }
    case "status": {
      const { status } = await import("../api/status.js");
      const r = await status(cmd.file, { ...common, ...(cmd.target ? { target: cmd.target } : {}) });
      if (cmd.json) print(io, r);
      else io.stdout(`${(await import("../format/format-results.js")).formatStatus(r)}\n`);
      return r.services.every((s) => s.state === "healthy") ? EXIT.ok : EXIT.failure;
    }
    case "destroy": {
      const { destroy } = await import("../api/status.js");
      if (!cmd.yes) {
        if (!io.interactive) {
          io.stderr("sdx: destroy needs confirmation and there is no terminal to ask\n  hint: pass --yes.\n");
          return EXIT.usage;
        }
        if (!(await io.confirm(`Remove every object of this app${cmd.target ? ` from ${cmd.target}` : ""}?`))) return EXIT.failure;
      }
      const r = await destroy(cmd.file, { ...common, ...(cmd.target ? { target: cmd.target } : {}), onEvent: progress(io, (await import("../format/format-event.js")).formatEvent) });
      if (cmd.json) print(io, r);
      else {
        const { formatDestroyFailures, formatDestroySummary } = await import("../format/format-results.js");
        io.stdout(`${formatDestroySummary(r)}\n`);
        for (const line of formatDestroyFailures(r)) io.stderr(`${line}\n`);
      }
      return r.failed.length === 0 ? EXIT.ok : EXIT.failure;
    }
    case "prices":
    case "prices-refresh":
      return prices(cmd, io);
    case "import":
      return importCommand(cmd, io);
    default: {
      const never: never = cmd;
      throw new Error(`unhandled command ${JSON.stringify(never)}`);
    }
  }
}

async function prices(cmd: Extract<CliCommand, { command: "prices" | "prices-refresh" }>, io: CliIo): Promise<number> {
  const api = await import("../api/prices.js");
  const { formatPrices, formatPricesRefresh } = await import("../format/format-prices.js");
  if (cmd.command === "prices-refresh") {
    const { formatEvent } = await import("../format/format-event.js");
    const mod = await api.loadPricingModule();
    const r = await mod.refreshPrices({ regions: cmd.regions, ...(cmd.endpoint ? { endpoint: cmd.endpoint } : {}), ...(io.signal ? { signal: io.signal } : {}), onEvent: progress(io, formatEvent) });
    if (cmd.json) print(io, r);
    else io.stdout(`${formatPricesRefresh(r)}\n`);
    return EXIT.ok;
  }
  const r = await api.prices({ provider: cmd.provider, region: cmd.region, ...(cmd.instanceType ? { instanceType: cmd.instanceType } : {}), env: io.env, ...(io.signal ? { signal: io.signal } : {}) });
  if (cmd.json) print(io, r);
  else {
    if (r.diagnostics.length) {
      const { formatDiagnostics } = await import("../format/format-diagnostics.js");
      io.stderr(`${formatDiagnostics(r.diagnostics)}\n`);
    }
    io.stdout(`${formatPrices(r.rows)}\n`);
  }
  return EXIT.ok;
}

async function importCommand(cmd: Extract<CliCommand, { command: "import" }>, io: CliIo): Promise<number> {
  const { importFile, writeImport } = await import("../api/import-file.js");
  // The default session: an import is checked against the built-in kinds it writes (swarm, kubernetes), whatever io.container holds.
  const r = await importFile(cmd.file, {
    env: io.env, profiles: cmd.profiles, allowOutside: allowOutsideOf(cmd, io.env),
    ...(cmd.out ? { out: cmd.out } : {}), ...(cmd.inlineEnv ? { inlineEnv: true } : {}),
  });
  if (cmd.json) {
    const { importJson } = await import("../format/json-output.js");
    // One JSON document: the import (with where it was written), or the refusal to write it.
    if (!r.ok || !cmd.out) {
      print(io, importJson(r, !r.ok));
      return r.ok ? EXIT.ok : EXIT.usage;
    }
    writeImport(r, { force: cmd.force });
    print(io, importJson(r, true));
    return EXIT.ok;
  }
  if (r.diagnostics.length) {
    const { formatDiagnostics } = await import("../format/format-diagnostics.js");
    io.stderr(`${formatDiagnostics(r.diagnostics, r.source)}\n`);
  }
  if (!r.ok) return EXIT.usage;
  const written = writeImport(r, { force: cmd.force });
  io.stdout(`${(await import("../format/format-results.js")).formatImportSummary(r, written.path, cmd.file)}\n`);
  return EXIT.ok;
}
