import { parseArgs, type ParseArgsConfig } from "node:util";
// Type-only: the option table is checked against the API's options without loading the API.
import type { BuildOptions } from "../api/build.js";
import type { CheckOptions } from "../api/check.js";
import type { DeployOptions } from "../api/deploy.js";
import type { ImportFileOptions, WriteImportOptions } from "../api/import-file.js";
import type { PlanOptions } from "../api/plan.js";
import type { TargetOperationOptions } from "../api/status.js";
import type { ValidateOptions } from "../api/validate.js";
import { parseDuration } from "../model/units.js";
import { didYouMean } from "../util/did-you-mean.js";

/** The longest `--timeout`: beyond it a rollout wait is a mistake (and timers overflow after ~24.8 days). */
const MAX_TIMEOUT_SECONDS = 24 * 3600;

/** Exit codes. Only the CLI sets them. */
export const EXIT = { ok: 0, failure: 1, usage: 2, changes: 3 } as const;

/** A command line that could not be understood, with what to do about it. */
export interface UsageError {
  readonly command: "usage-error";
  readonly message: string;
  readonly hint?: string;
}

/** Flags every command that reads an app file takes. */
interface AppFlags extends Pick<ValidateOptions, "allowOutside"> {
  /** App file or directory. @default "." (finds sdx.yaml, sdx.json or sdx.config.ts) */
  readonly file: string;
  readonly json: boolean;
  /** `--plugin <specifier>` (repeatable): plugin modules to load besides the app file's. Absent when not given. */
  readonly plugins?: readonly string[];
}

/**
 * Each command's flags, as API options where the API has the option (picked
 * from its `XxxOptions`, so a renamed or retyped option breaks the table at
 * compile time) and as CLI settings where only the CLI needs them (output,
 * confirmation, exit codes).
 */
interface CommandFlags {
  validate: AppFlags;
  targets: AppFlags;
  schema: { readonly out?: string; readonly plugins?: readonly string[] };
  plan: AppFlags & Pick<PlanOptions, "target"> & Required<Pick<PlanOptions, "offline" | "forceConflicts" | "allowDegraded">> & {
    /** Exit 3 when the plan has changes. */
    readonly expectNoChanges: boolean;
    /** USD per month; becomes `policy.maxMonthlyUsd`. */
    readonly budget?: number;
    /** Print each planned target's cost per service and per line (`FormatCostOptions.breakdown`). */
    readonly breakdown: boolean;
  };
  deploy: AppFlags & Pick<DeployOptions, "target" | "timeoutSeconds"> & Required<Pick<DeployOptions, "wait" | "forceConflicts" | "allowDegraded">> & {
    /** Apply without asking (the answer to `DeployOptions.confirm`). */
    readonly yes: boolean;
    /** USD per month; becomes `policy.maxMonthlyUsd`. */
    readonly budget?: number;
  };
  build: AppFlags & Pick<BuildOptions, "target" | "services"> & Required<Pick<BuildOptions, "push">>;
  status: AppFlags & Pick<TargetOperationOptions, "target">;
  destroy: AppFlags & Pick<TargetOperationOptions, "target"> & { readonly yes: boolean };
  check: AppFlags & Pick<CheckOptions, "target">;
  import: Pick<ImportFileOptions, "out" | "allowOutside" | "inlineEnv"> & Required<Pick<ImportFileOptions, "profiles">> & Required<Pick<WriteImportOptions, "force">> & { readonly json: boolean };
  prices: { readonly json: boolean; readonly regions: readonly string[]; readonly endpoint?: string };
}

/** A command name with flags. */
export type CommandName = keyof CommandFlags;

/** A parsed command line. A tagged union on `command`; the runner switches over it exhaustively. */
export type CliCommand =
  | { readonly command: "help"; readonly topic?: string }
  | { readonly command: "version" }
  | ({ readonly command: "validate" } & CommandFlags["validate"])
  | ({ readonly command: "schema" } & CommandFlags["schema"])
  | ({ readonly command: "plan" } & CommandFlags["plan"])
  | ({ readonly command: "deploy" } & CommandFlags["deploy"])
  | ({ readonly command: "build" } & CommandFlags["build"])
  | ({ readonly command: "status" } & CommandFlags["status"])
  | ({ readonly command: "destroy" } & CommandFlags["destroy"])
  | ({ readonly command: "targets" } & CommandFlags["targets"])
  | ({ readonly command: "check" } & CommandFlags["check"])
  | ({ readonly command: "import"; readonly file: string } & CommandFlags["import"])
  | { readonly command: "prices"; readonly provider: string; readonly region: string; readonly instanceType?: string; readonly json: boolean }
  | ({ readonly command: "prices-refresh" } & Omit<CommandFlags["prices"], "json"> & { readonly json: boolean });

/** What a flag's parser got: the text, or `true` for a boolean flag, or every text for a repeatable one. */
type Raw = string | boolean | readonly string[];

/** One flag of the table: how it is written, what it means, and how its text becomes the option's value. */
export interface Flag<V> {
  /** The flag without dashes. @default the option key in kebab-case */
  readonly name?: string;
  readonly short?: string;
  /** One line for help. */
  readonly description: string;
  /** Placeholder of the value in help (e.g. "usd"); absent for a boolean flag. */
  readonly value?: string;
  /** May be given several times; the parser gets every value. @default false */
  readonly multiple?: boolean;
  /** The value when the flag is absent. @default undefined (the key is left out) */
  readonly default?: V;
  /** The option's value, or a usage error naming the flag. */
  readonly parse: (raw: Raw, flag: string) => V | UsageError;
}

/** Every option key of a command has exactly one flag (`-?`): a key without a flag does not compile. */
export type FlagTable<O> = { readonly [K in keyof O]-?: Flag<Exclude<O[K], undefined>> };

/** A command: its flags, positionals, summary and an example, from which help is generated. */
interface CommandSpec<O> {
  readonly summary: string;
  /** Positionals in help, e.g. "[file]". */
  readonly args: string;
  readonly maxPositionals: number;
  readonly example: string;
  /** The flags; `file` is also the first positional where a command has one. */
  readonly flags: FlagTable<O>;
  /** Lines added after the flags in `sdx <command> --help`. @default [] */
  readonly notes?: readonly string[];
}

const usage = (message: string, hint?: string): UsageError => ({ command: "usage-error", message, ...(hint ? { hint } : {}) });
const isUsage = (x: unknown): x is UsageError => typeof x === "object" && x !== null && (x as { command?: unknown }).command === "usage-error";

const bool = (description: string, extra: Partial<Flag<boolean>> = {}): Flag<boolean> => ({ description, default: false, parse: () => true, ...extra });
const text = (description: string, value: string, extra: Partial<Flag<string>> = {}): Flag<string> => ({ description, value, parse: (raw) => String(raw), ...extra });
const list = (description: string, value: string, extra: Partial<Flag<readonly string[]>> = {}): Flag<readonly string[]> => ({
  description, value, multiple: true, parse: (raw) => (Array.isArray(raw) ? raw : [String(raw)]), ...extra,
});

// Plain decimals only: Number() would also take "0x10" (16), "1e3" and " " (0).
const money: Flag<number> = {
  description: "Fail (exit 1) when the selected target's estimate is over this many USD per month, or it has no estimate to compare (not priced); deploy then changes nothing.", value: "usd",
  parse: (raw, flag) => {
    const m = /^\$?(\d+(?:\.\d+)?)$/.exec(String(raw));
    const n = m ? Number(m[1]) : Number.NaN;
    return Number.isFinite(n) ? n : usage(`${flag} must be a plain number of USD per month, got ${JSON.stringify(raw)}`, `e.g. ${flag} 250 or ${flag} 12.5`);
  },
};

const timeout: Flag<number> = {
  description: "Rollout timeout for every service (replaces each service's own).", value: "duration",
  parse: (raw, flag) => {
    const d = parseDuration(String(raw));
    if (!d.ok || d.value <= 0) return usage(`${flag}: cannot read ${JSON.stringify(raw)}`, 'Write a duration like "5m" or "90s".');
    if (d.value > MAX_TIMEOUT_SECONDS) return usage(`${flag} ${String(raw)} is longer than the maximum of 24h`, "Give a duration up to 24h.");
    return d.value;
  },
};

const appFlags: FlagTable<AppFlags> = {
  file: text("The app file or its directory (or give it as the first argument).", "file", { short: "f" }),
  json: bool("Print one JSON document on stdout instead of text."),
  allowOutside: list("A directory outside the app's that files it names may be read from (repeatable; also SDX_ALLOW_OUTSIDE).", "dir"),
  plugins: list("A plugin module that adds backends or price sources (repeatable; also SDX_PLUGINS). Plugins run code: load only what you trust.", "specifier", { name: "plugin" }),
};
const targetFlag = (description: string): Flag<string> => text(description, "target", { short: "t" });
const forceConflicts = bool("Take over fields another field manager set (Kubernetes server-side apply).");
const allowDegraded = bool("Let `-t cheapest` choose a target that breaks what the app depends on (discovery by name, a public port, persistent data); the table shows each target's fidelity.");

const COMMANDS: { readonly [C in CommandName]: CommandSpec<CommandFlags[C]> } = {
  validate: {
    summary: "Check an app file; prints every problem (exit 2 on errors).", args: "[file]", maxPositionals: 1,
    example: "sdx validate examples/shop", flags: appFlags,
  },
  schema: {
    summary: "Print the JSON Schema of sdx.yaml for editors (with the target kinds of every registered backend and plugin).", args: "", maxPositionals: 0,
    example: "sdx schema -o sdx.schema.json",
    flags: { out: text("Write the schema to this file instead of stdout.", "file", { short: "o" }), plugins: appFlags.plugins },
  },
  plan: {
    summary: "Cost table across targets and the changes a deploy would make.", args: "[file]", maxPositionals: 1,
    example: "sdx plan examples/shop -t cheapest --budget 250",
    flags: {
      ...appFlags,
      target: targetFlag("A target name, `cheapest` (by estimate) or `all`."),
      offline: bool("Render only: contact no backend and use embedded prices."),
      expectNoChanges: bool("Exit 3 when the plan has changes (a drift check in CI)."),
      budget: money,
      forceConflicts,
      allowDegraded,
      breakdown: bool("Show the planned target's cost per service (with bars) and per line, and what is not priced there; every target's with -t all. Fits $COLUMNS."),
    },
  },
  deploy: {
    summary: "Plan, confirm, apply with progress, wait; exit 1 if the rollout failed.", args: "[file]", maxPositionals: 1,
    example: "sdx deploy examples/shop -t local --yes --timeout 10m",
    flags: {
      ...appFlags,
      target: { ...targetFlag("A target name or `cheapest`."), parse: (raw) => (raw === "all" ? usage("sdx deploy: --target all is for plan only", "Deploy to one target at a time: --target <name> or --target cheapest.") : String(raw)) },
      yes: bool("Apply without asking.", { short: "y" }),
      wait: bool("Return once the changes are sent, without waiting for rollouts.", { name: "no-wait", default: true, parse: () => false }),
      timeoutSeconds: { ...timeout, name: "timeout" },
      budget: money,
      forceConflicts,
      allowDegraded,
    },
  },
  build: {
    summary: "Build the services that have `build` into images (no Docker) and push them; prints service → repository@sha256:….", args: "[file]", maxPositionals: 1,
    example: "sdx build examples/self-deploy -s web",
    notes: [
      "An unchanged source gives the same digest and uploads nothing; only layers the registry lacks are sent.",
      "Credentials: SDX_REGISTRY_HOST/USER/PASSWORD, ~/.docker/config.json (auths, credHelpers, credsStore), ECR via the AWS SDK.",
    ],
    flags: {
      ...appFlags,
      target: targetFlag("The target whose `registry` to push to (default: the app's build.registry)."),
      services: list("Build only this service (repeatable).", "service", { name: "service", short: "s" }),
      push: bool("Build and print the digest without pushing.", { name: "no-push", default: true, parse: () => false }),
    },
  },
  status: {
    summary: "Desired/ready instances per service and recent warnings.", args: "[file]", maxPositionals: 1,
    example: "sdx status examples/shop -t local", flags: { ...appFlags, target: targetFlag("A target name.") },
  },
  destroy: {
    summary: "Remove this app's objects from a target (only sdx-owned ones).", args: "[file]", maxPositionals: 1,
    example: "sdx destroy examples/shop -t local --yes",
    flags: { ...appFlags, target: targetFlag("A target name."), yes: bool("Remove without asking.", { short: "y" }) },
  },
  targets: {
    summary: "List the app's targets, their backends and how each is priced.", args: "[file]", maxPositionals: 1,
    example: "sdx targets examples/shop --json", flags: appFlags,
  },
  check: {
    summary: "Fidelity report: which fields each target carries exactly, approximates or drops.", args: "[file]", maxPositionals: 1,
    example: "sdx check examples/shop -t local", flags: { ...appFlags, target: targetFlag("A target name (default: every target).") },
  },
  import: {
    summary: "Convert a Compose file or Score workload to sdx.yaml with a report of what did not carry over.", args: "<compose.yaml|score.yaml>", maxPositionals: 1,
    example: "sdx import compose.yaml -o sdx.yaml --profile dev",
    notes: ["Variables stay ${VAR} references; --inline-env writes their values (never secret ones)."],
    flags: {
      json: appFlags.json,
      out: text("Where to write (default: sdx.yaml next to the source).", "file", { short: "o" }),
      force: bool("Overwrite an existing file."),
      profiles: list("A Compose profile to activate (repeatable; default: COMPOSE_PROFILES).", "profile", { name: "profile", default: [] }),
      inlineEnv: { description: "Write the values of the variables the source reads instead of ${VAR} references.", parse: () => true },
      allowOutside: appFlags.allowOutside,
    },
  },
  prices: {
    summary: "Look up prices; `sdx prices refresh --region r` caches live AWS prices.", args: "<provider> <region> [type] | refresh", maxPositionals: 3,
    example: "sdx prices aws us-east-1 m6i.large",
    flags: {
      json: appFlags.json,
      regions: list("A region to refresh (repeatable; default: us-east-1).", "region", { name: "region", default: [] }),
      endpoint: text("The price list API endpoint to refresh from.", "url"),
    },
  },
};

/** Command names, for help and did-you-mean. */
export const COMMAND_NAMES: readonly string[] = [...Object.keys(COMMANDS), "help"];

const kebab = (k: string): string => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const flagName = (key: string, f: Flag<unknown>): string => f.name ?? kebab(key);

type Entries = readonly (readonly [string, Flag<unknown>])[];
const entriesOf = (flags: FlagTable<object>): Entries => Object.entries(flags) as unknown as Entries;

/** What parseArgs needs, with `--help`. */
function parseArgsOptions(entries: Entries): NonNullable<ParseArgsConfig["options"]> {
  const out: NonNullable<ParseArgsConfig["options"]> = { help: { type: "boolean", short: "h" } };
  for (const [key, f] of entries) {
    out[flagName(key, f)] = { type: f.value === undefined ? "boolean" : "string", ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) };
  }
  return out;
}

/**
 * Parses `sdx` arguments into a command. Pure: no I/O, no exit. Every mistake
 * becomes a {@link UsageError} that says what was wrong and how to fix it.
 */
export function parseCli(argv: readonly string[]): CliCommand | UsageError {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h") return { command: "help" };
  if (first === "--version" || first === "-v" || first === "version") return { command: "version" };
  if (first === "help") return rest[0] === undefined ? { command: "help" } : { command: "help", topic: rest[0] };
  if (!Object.hasOwn(COMMANDS, first)) {
    const s = didYouMean(first, COMMAND_NAMES);
    return usage(`unknown command "${first}"`, s.length ? `Did you mean "sdx ${s[0]}"?` : "Run `sdx --help` for the list of commands.");
  }
  const name = first as CommandName;
  const spec = COMMANDS[name] as CommandSpec<object>;
  const entries = entriesOf(spec.flags);
  const options = parseArgsOptions(entries);
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...rest], options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const flag = /'(--?[\w-]+)'/.exec(msg)?.[1];
    const known = Object.keys(options).filter((o) => o !== "help").map((o) => `--${o}`);
    const s = flag ? didYouMean(flag, known) : [];
    return usage(flag ? `sdx ${name}: unknown or malformed option ${flag}` : `sdx ${name}: ${msg}`, s.length ? `Did you mean ${s[0]}?` : `Options: ${known.join(", ")}.`);
  }
  const v = parsed.values;
  const pos = parsed.positionals;
  if (v.help) return { command: "help", topic: name };
  // An empty value (`-t ""`, `--budget=`) is a slip, never "use the default".
  for (const [k, val] of Object.entries(v)) {
    if ((Array.isArray(val) ? val : [val]).some((x) => typeof x === "string" && x.trim() === "")) {
      return usage(`sdx ${name}: --${k} needs a value, got ${JSON.stringify(Array.isArray(val) ? val.find((x) => typeof x === "string" && x.trim() === "") : val)}`, `Give --${k} a value, or leave the flag out.`);
    }
  }
  if (pos.some((p) => p.trim() === "")) return usage(`sdx ${name}: an argument is empty`, `Run \`sdx ${name} --help\`.`);
  if (pos.length > spec.maxPositionals) return usage(`sdx ${name}: unexpected argument "${pos[spec.maxPositionals]}"`, `Run \`sdx ${name} --help\`.`);

  // Each flag through its parser, into the command's options.
  const values: Record<string, unknown> = {};
  for (const [key, f] of entries) {
    const raw = v[flagName(key, f)];
    if (raw === undefined) {
      if (f.default !== undefined) values[key] = f.default;
      continue;
    }
    const value = f.parse(raw as Raw, `--${flagName(key, f)}`);
    if (isUsage(value)) return value;
    values[key] = value;
  }
  const cmd = { command: name, ...values } as Record<string, unknown>;
  switch (name) {
    case "validate": case "targets": case "plan": case "deploy": case "build": case "status": case "destroy": case "check": {
      if (values.file !== undefined && pos[0] !== undefined) return usage(`sdx ${name}: give the app file once (either -f or a positional)`);
      return { ...cmd, file: (values.file as string | undefined) ?? pos[0] ?? "." } as CliCommand;
    }
    case "schema":
      return cmd as CliCommand;
    case "import":
      if (pos[0] === undefined) return usage("sdx import: which file?", "e.g. sdx import compose.yaml (or score.yaml)");
      return { ...cmd, file: pos[0] } as CliCommand;
    case "prices": {
      if (pos[0] === "refresh") {
        const regions = values.regions as readonly string[];
        const { endpoint } = values as { endpoint?: string };
        return { command: "prices-refresh", regions: regions.length ? regions : ["us-east-1"], json: values.json === true, ...(endpoint ? { endpoint } : {}) };
      }
      if (pos.length < 2) return usage("sdx prices: needs a provider and a region", "e.g. sdx prices aws us-east-1 m6i.large, or sdx prices refresh --region us-east-1");
      return { command: "prices", provider: pos[0]!, region: pos[1]!, ...(pos[2] ? { instanceType: pos[2] } : {}), json: values.json === true };
    }
    default: {
      const never: never = name;
      return usage(`unhandled command ${String(never)}`);
    }
  }
}

/** One flag's help line: `-t, --target <target>  A target name.` */
function flagLine(key: string, f: Flag<unknown>): [string, string] {
  const long = `--${flagName(key, f)}${f.value ? ` <${f.value}>` : ""}`;
  return [`${f.short ? `-${f.short}, ` : "    "}${long}`, f.description];
}

const pad = (rows: readonly [string, string][], indent: string): string[] => {
  const w = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `${indent}${a.padEnd(w)}  ${b}`);
};

/**
 * Help text for `sdx --help`, `sdx help <command>` and `sdx <command> --help`,
 * generated from the option table: every flag with its description, and an
 * example per command.
 */
export function helpText(topic?: string): string {
  if (topic !== undefined && Object.hasOwn(COMMANDS, topic)) {
    const spec = COMMANDS[topic as CommandName] as CommandSpec<object>;
    return [
      `sdx ${topic}${spec.args ? ` ${spec.args}` : ""} [options]`,
      "",
      spec.summary,
      "",
      "Options:",
      ...pad([...entriesOf(spec.flags).map(([k, f]) => flagLine(k, f)), ["-h, --help", "Show this help."]], "  "),
      ...(spec.notes?.length ? ["", ...spec.notes] : []),
      "",
      "Example:",
      `  ${spec.example}`,
      "",
    ].join("\n");
  }
  const names = Object.keys(COMMANDS) as CommandName[];
  return [
    "sdx: describe an app once; price it and deploy it to Kubernetes, Docker Swarm, AWS ECS/Fargate or a plugin's backend.",
    "",
    "Usage:",
    ...pad(names.map((n) => [`sdx ${n}${COMMANDS[n].args ? ` ${COMMANDS[n].args}` : ""}`, COMMANDS[n].summary]), "  "),
    "",
    "Examples:",
    ...names.map((n) => `  ${COMMANDS[n].example}`),
    "",
    "`sdx help <command>` (or `sdx <command> --help`) lists a command's flags.",
    "The app file defaults to sdx.yaml (or sdx.json, sdx.config.ts) in the current directory.",
    "Files it names must be inside its directory; --allow-outside <dir> (repeatable, or SDX_ALLOW_OUTSIDE) allows another.",
    "Plugins (`plugins:` in the app file, --plugin, SDX_PLUGINS) add backends and price sources; they run code, so load only what you trust.",
    "Exit codes: 0 ok, 1 failure, 2 usage or validation error, 3 changes present (plan --expect-no-changes).",
    "",
  ].join("\n");
}
