import { readFileSync, writeFileSync } from "node:fs";
import { delimiter, resolve as resolvePath } from "node:path";
import type { Container } from "inversify";
import type { SdxEvent } from "../events/sdx-event.js";
import type { Diagnostic } from "../validation/diagnostic.js";
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
    const code = await reportError(e, io, "json" in cmd && cmd.json === true);
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
const INPUT_ERROR_CODES: ReadonlySet<string> = new Set(["SDX_LOAD", "SDX_UNKNOWN_TARGET", "SDX_PATH_OUTSIDE_APP", "SDX_FILE_NOT_REGULAR", "SDX_FILE_TOO_LARGE", "SDX_INVALID_ENCODING", "SDX_LIMIT_EXCEEDED"]);

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

async function reportError(e: unknown, io: CliIo, json: boolean): Promise<number> {
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
  return err.code === "SDX_VALIDATION" || err.code === "SDX_USAGE" || INPUT_ERROR_CODES.has(err.code) ? EXIT.usage : EXIT.failure;
}

function progress(io: CliIo, formatEvent: (e: SdxEvent) => string | undefined) {
  return (e: SdxEvent): void => {
    const line = formatEvent(e);
    if (line !== undefined) io.stderr(`${line}\n`);
  };
}

const print = (io: CliIo, v: unknown): void => io.stdout(`${JSON.stringify(v, null, 2)}\n`);

async function run(cmd: CliCommand, io: CliIo): Promise<number> {
  const allowOutside = allowOutsideOf(cmd, io.env);
  const common = { ...(io.container ? { container: io.container } : {}), env: io.env, ...(io.signal ? { signal: io.signal } : {}), ...(allowOutside.length > 0 ? { allowOutside } : {}) };
  switch (cmd.command) {
    case "help":
      io.stdout(helpText(cmd.topic));
      return EXIT.ok;
    case "version":
      io.stdout(`sdx ${version()}\n`);
      return EXIT.ok;
    case "schema": {
      const { appJsonSchema } = await import("../model/app-schema.js");
      const text = `${JSON.stringify(appJsonSchema(), null, 2)}\n`;
      if (cmd.out) writeFileSync(cmd.out, text);
      else io.stdout(text);
      return EXIT.ok;
    }
    case "validate": {
      const { validate } = await import("../api/validate.js");
      const { hasErrors } = await import("../validation/diagnostic.js");
      const r = await validate(cmd.file, common);
      const ok = !hasErrors(r.diagnostics);
      if (cmd.json) print(io, { file: r.file, valid: ok, diagnostics: r.diagnostics });
      else {
        const { formatDiagnostics } = await import("../format/format-diagnostics.js");
        if (r.diagnostics.length) io.stderr(`${formatDiagnostics(r.diagnostics, r.file)}\n`);
        const errors = r.diagnostics.filter((d) => d.severity === "error").length;
        io.stdout(ok ? `${r.file}: valid${r.diagnostics.length ? ` (${r.diagnostics.length} warning${r.diagnostics.length === 1 ? "" : "s"})` : ""}\n` : `${r.file}: ${errors} error${errors === 1 ? "" : "s"}\n`);
      }
      return ok ? EXIT.ok : EXIT.usage;
    }
    case "targets": {
      const { validate } = await import("../api/validate.js");
      const r = await validate(cmd.file, common);
      if (!r.app) {
        const { formatDiagnostics } = await import("../format/format-diagnostics.js");
        io.stderr(`${formatDiagnostics(r.diagnostics, r.file)}\n`);
        return EXIT.usage;
      }
      const rows = r.app.targets.map((t) => ({ name: t.name, kind: t.kind, default: t.name === r.app!.defaultTarget, pricing: t.pricing ?? null }));
      if (cmd.json) print(io, { app: r.app.name, targets: rows });
      else {
        const { formatTable } = await import("../format/table.js");
        io.stdout(`${formatTable(["TARGET", "KIND", "PRICING"], rows.map((t) => [`${t.name}${t.default ? " (default)" : ""}`, t.kind, t.pricing ? `${t.pricing.provider} ${t.pricing.region}${t.pricing.nodeTypes.length ? ` ${t.pricing.nodeTypes.join(",")}` : ""}` : t.kind === "ecs" ? "aws fargate" : "-"]))}\n`);
      }
      return EXIT.ok;
    }
    case "plan":
    case "check": {
      const { plan } = await import("../api/plan.js");
      const { hasChanges, hasUnconverged, planToJson } = await import("../plan/plan.js");
      const isCheck = cmd.command === "check";
      const r = await plan(cmd.file, {
        ...common,
        ...(cmd.target ? { target: cmd.target } : isCheck ? { target: "all" } : {}),
        offline: isCheck || cmd.offline,
        ...(isCheck ? { estimate: false } : {}),
        ...(!isCheck && cmd.budget !== undefined ? { policy: { maxMonthlyUsd: cmd.budget } } : {}),
        ...(!isCheck && cmd.forceConflicts ? { forceConflicts: true } : {}),
        ...(cmd.json ? {} : { onEvent: progress(io, (await import("../format/format-event.js")).formatEvent) }),
      });
      const sel = r.plans[0]!;
      const selectedEstimate = r.estimates?.estimates.find((e) => e.target === sel.target);
      if (cmd.json) {
        print(io, isCheck
          ? { app: r.app, revision: r.revision.app, targets: r.plans.map((p) => ({ target: p.target, backend: p.backend, diagnostics: p.check.diagnostics, fidelity: p.check.fidelity })) }
          : {
              app: r.app, revision: r.revision.app, serviceRevisions: r.revision.services, diagnostics: r.diagnostics,
              target: sel.target, backend: sel.backend, selection: r.selection, images: r.images,
              plan: planToJson(sel.plan), fidelity: sel.check.fidelity, checkDiagnostics: sel.check.diagnostics,
              ...(sel.costDelta ? { costDelta: sel.costDelta } : {}),
              ...(r.plans.length > 1 ? { plans: r.plans.map((p) => ({ ...planToJson(p.plan), fidelity: p.check.fidelity })) } : {}),
              ...(r.estimates ? { estimates: r.estimates.estimates, chosen: r.estimates.chosen ?? null, rejected: r.estimates.rejected } : {}),
            });
      } else {
        const { formatDiagnostics } = await import("../format/format-diagnostics.js");
        const { formatPlanResult, formatFidelity } = await import("../format/format-plan.js");
        const diags = [...r.diagnostics, ...(r.estimates?.diagnostics ?? []), ...r.plans.flatMap((p) => [...p.check.diagnostics, ...p.plan.diagnostics].map((d) => ({ ...d, target: p.target })))];
        if (diags.length) io.stderr(`${formatDiagnostics(diags)}\n`);
        io.stdout(isCheck ? `${r.plans.map((p) => `Target ${p.target} (${p.backend}):\n${formatFidelity(p.check)}`).join("\n")}\n` : formatPlanResult(r));
      }
      const blocked = r.plans.some((p) => [...p.check.diagnostics, ...p.plan.diagnostics].some((d) => d.severity === "error"));
      if (blocked) return EXIT.failure;
      if (!isCheck && cmd.budget !== undefined && selectedEstimate && selectedEstimate.monthlyUsd > cmd.budget) {
        io.stderr(`sdx: ${sel.target} costs $${selectedEstimate.monthlyUsd.toFixed(2)}/month, over the budget of $${cmd.budget}/month\n`);
        return EXIT.failure;
      }
      // Unfinished rollouts count as changes: a deploy would still have work (waiting) to do.
      if (!isCheck && cmd.expectNoChanges && (hasChanges(sel.plan) || hasUnconverged(sel.plan))) return EXIT.changes;
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
        ...(cmd.budget !== undefined ? { policy: { maxMonthlyUsd: cmd.budget } } : {}),
        onEvent: progress(io, formatEvent),
        confirm: async (tp, estimates) => {
          if (!cmd.json) {
            if (estimates?.estimates.length) io.stderr(`${formatEstimates(estimates, tp.target)}\n\n`);
            io.stderr(`${formatTargetPlan(tp)}\n`);
          }
          if (cmd.yes) return true;
          return io.confirm(`Apply these changes to ${tp.target}?`);
        },
      });
      if (cmd.json) print(io, { app: r.app, revision: r.revision.app, target: r.target, backend: r.backend, selection: r.selection, status: r.status, apply: r.apply ? { status: r.apply.status, completed: r.apply.completed.map((a) => ({ kind: a.kind, resource: a.resource })), failed: r.apply.failed.map((f) => ({ kind: f.action.kind, resource: f.action.resource, error: f.error })), remaining: r.apply.remaining.map((a) => ({ kind: a.kind, resource: a.resource })), rollouts: r.apply.rollouts, error: r.apply.error } : null });
      else {
        const { formatDeploySummary } = await import("../format/format-deploy-summary.js");
        io.stdout(formatDeploySummary(r));
      }
      return r.status === "succeeded" || r.status === "no-changes" ? EXIT.ok : EXIT.failure;
    }
    case "status": {
      const { status } = await import("../api/status.js");
      const r = await status(cmd.file, { ...common, ...(cmd.target ? { target: cmd.target } : {}) });
      if (cmd.json) print(io, r);
      else {
        const { formatTable } = await import("../format/table.js");
        io.stdout(`${formatTable(["SERVICE", "DESIRED", "RUNNING", "READY", "STATE", "REVISION"], r.services.map((s) => [s.service, String(s.desired), String(s.running), String(s.ready), s.state, s.revision ?? "-"]), { rightAlign: [1, 2, 3] })}\n`);
        for (const s of r.services) for (const m of s.messages.slice(0, 3)) io.stdout(`  ${s.service}: ${m}\n`);
        for (const w of r.warnings.slice(0, 10)) io.stdout(`  warning: ${w}\n`);
      }
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
        io.stdout(`Removed ${r.deleted.length} object${r.deleted.length === 1 ? "" : "s"} of ${r.app} from ${r.target}.\n`);
        for (const f of r.failed) io.stderr(`  ✗ ${f.resource.kind} ${f.resource.name}: ${f.error.message}\n`);
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

// Pricing functions are loaded from @sdx/pricing at run time; the sdk does not depend on it.
interface PriceRowView {
  readonly item: string;
  readonly vcpus?: number;
  readonly memoryGiB?: number;
  readonly arch?: string;
  readonly unit: string;
  readonly onDemandUsd: number;
  readonly spotUsd?: number;
  readonly spotMinUsd?: number;
  readonly provenance: { readonly source: string; readonly asOf: string };
}
interface PricingModule {
  lookupPrices(q: { provider: string; region: string; instanceType?: string; signal?: AbortSignal }): Promise<{ rows: readonly PriceRowView[]; diagnostics: readonly Diagnostic[] }>;
  refreshPrices(o: { regions: readonly string[]; endpoint?: string; signal?: AbortSignal; onEvent?: (e: SdxEvent) => void }): Promise<{ files: readonly { region: string; path: string; ec2: number; spot: number; fargate: boolean }[]; fetchedAt: string; expiresAt: string }>;
}

// Unit prices keep the precision the price list has ($0.04048, not $0.0405).
const money = (n: number | undefined): string => (n === undefined ? "-" : `$${Number(n.toFixed(6)).toString()}`);

async function prices(cmd: Extract<CliCommand, { command: "prices" | "prices-refresh" }>, io: CliIo): Promise<number> {
  const spec = "@sdx/pricing";
  let mod: PricingModule;
  try {
    mod = (await import(spec)) as PricingModule;
  } catch (e) {
    const { SdxError } = await import("../errors/sdx-error.js");
    throw new SdxError("SDX_PRICING", "@sdx/pricing is not installed", { fault: "user", cause: e, hint: "npm install @sdx/pricing" });
  }
  const { formatTable } = await import("../format/table.js");
  if (cmd.command === "prices-refresh") {
    const { formatEvent } = await import("../format/format-event.js");
    const r = await mod.refreshPrices({ regions: cmd.regions, ...(cmd.endpoint ? { endpoint: cmd.endpoint } : {}), ...(io.signal ? { signal: io.signal } : {}), onEvent: progress(io, formatEvent) });
    if (cmd.json) print(io, r);
    else {
      io.stdout(`${formatTable(["REGION", "EC2 TYPES", "SPOT", "FARGATE", "CACHE FILE"], r.files.map((f) => [f.region, String(f.ec2), String(f.spot), f.fargate ? "yes" : "no", f.path]))}
`);
      io.stdout(`Fetched ${r.fetchedAt}; used until ${r.expiresAt}, then the embedded catalog again.\n`);
    }
    return EXIT.ok;
  }
  const r = await mod.lookupPrices({ provider: cmd.provider, region: cmd.region, ...(cmd.instanceType ? { instanceType: cmd.instanceType } : {}), ...(io.signal ? { signal: io.signal } : {}) });
  if (cmd.json) print(io, r);
  else {
    if (r.diagnostics.length) {
      const { formatDiagnostics } = await import("../format/format-diagnostics.js");
      io.stderr(`${formatDiagnostics(r.diagnostics)}\n`);
    }
    io.stdout(`${formatTable(
      ["ITEM", "VCPU", "MEM GIB", "ARCH", "ON-DEMAND", "SPOT (MEDIAN)", "SPOT (MIN)", "PER", "SOURCE", "AS OF"],
      r.rows.map((x) => [x.item, x.vcpus === undefined ? "-" : String(x.vcpus), x.memoryGiB === undefined ? "-" : String(x.memoryGiB), x.arch ?? "-", money(x.onDemandUsd), money(x.spotUsd), money(x.spotMinUsd), x.unit, x.provenance.source, x.provenance.asOf]),
      { rightAlign: [1, 2, 4, 5, 6] },
    )}\n`);
  }
  return EXIT.ok;
}

async function importCommand(cmd: Extract<CliCommand, { command: "import" }>, io: CliIo): Promise<number> {
  const { existsSync } = await import("node:fs");
  const { dirname, resolve } = await import("node:path");
  const { importApp, toSdxYaml } = await import("../import/index.js");
  const { validateApp } = await import("../validation/validate-app.js");
  const { hasErrors } = await import("../validation/diagnostic.js");
  const { formatDiagnostics } = await import("../format/format-diagnostics.js");
  const { containedTextReader, readRegularFile } = await import("../load/read-contained-file.js");
  const source = resolve(cmd.file);
  // A regular file of at most 4 MiB: a FIFO or /dev/zero fails at once (SDX_FILE_NOT_REGULAR, exit 2).
  const text = readRegularFile(source);
  const baseDir = dirname(source);
  // env_file, secrets, configs: contained in the source's directory like every file an app names.
  const access = { baseDir, allowOutside: allowOutsideOf(cmd, io.env) };
  const read = containedTextReader(access);
  const profiles = cmd.profiles.length ? cmd.profiles : (io.env.COMPOSE_PROFILES ?? "").split(",").filter(Boolean);
  const r = importApp(text, { fileName: source, baseDir, readFile: read, env: { ...io.env }, profiles, ...(cmd.inlineEnv ? { inlineEnv: true } : {}) });
  const validated = hasErrors(r.diagnostics) ? undefined : validateApp(r.document, { readFile: read });
  // Secret files the import points at must pass the same checks, or the written sdx.yaml would not load.
  const { checkSecretFiles } = await import("../secrets/resolve-secrets.js");
  const secretFiles = validated?.app ? checkSecretFiles(validated.app, access).diagnostics : [];
  const diagnostics = [...r.diagnostics, ...(validated?.diagnostics ?? []), ...secretFiles];
  const ok = !hasErrors(diagnostics);
  const out = resolve(cmd.out ?? resolve(baseDir, "sdx.yaml"));
  if (cmd.json) {
    // The template is what sdx.yaml holds (references, no secret values); r.document holds values and is never printed.
    print(io, { source, format: r.format ?? null, ok, document: r.template, report: r.report, diagnostics, ...(ok && !cmd.out ? {} : { out }) });
    if (!ok || !cmd.out) return ok ? EXIT.ok : EXIT.usage;
  }
  if (diagnostics.length && !cmd.json) io.stderr(`${formatDiagnostics(diagnostics, source)}\n`);
  if (!ok) return EXIT.usage;
  if (existsSync(out) && !cmd.force) {
    io.stderr(`sdx: ${out} exists; not overwriting\n  hint: pass --force, or -o <path> to write elsewhere.\n`);
    return EXIT.usage;
  }
  writeFileSync(out, toSdxYaml(r, { source: cmd.file }));
  if (!cmd.json) {
    const count = (lvl: string): number => r.report.filter((n) => n.level === lvl).length;
    io.stdout(`Wrote ${out} from ${r.format} file ${cmd.file}: ${count("translated")} translated, ${count("approximated")} approximated, ${count("dropped")} dropped, ${count("ignored")} ignored (listed at the top of the file).\n`);
  }
  return EXIT.ok;
}
