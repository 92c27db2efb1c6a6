import { parseArgs, type ParseArgsConfig } from "node:util";
import { parseDuration } from "../model/units.js";
import { didYouMean } from "../util/did-you-mean.js";

/** The longest `--timeout`: beyond it a rollout wait is a mistake (and timers overflow after ~24.8 days). */
const MAX_TIMEOUT_SECONDS = 24 * 3600;

/** Exit codes. Only the CLI sets them. */
export const EXIT = { ok: 0, failure: 1, usage: 2, changes: 3 } as const;

/** Flags shared by commands that read an app file. */
interface AppArgs {
  /** App file or directory. @default "." (finds sdx.yaml, sdx.json or sdx.config.ts) */
  readonly file: string;
  readonly json: boolean;
  /** `--allow-outside <dir>` (repeatable): directories outside the app's that files may be read from. Absent when not given. */
  readonly allowOutside?: readonly string[];
}

/** A parsed command line. A tagged union on `command`; the runner switches over it exhaustively. */
export type CliCommand =
  | { readonly command: "help"; readonly topic?: string }
  | { readonly command: "version" }
  | ({ readonly command: "validate" } & AppArgs)
  | { readonly command: "schema"; readonly out?: string }
  | ({
      readonly command: "plan";
      readonly target?: string;
      readonly offline: boolean;
      readonly expectNoChanges: boolean;
      readonly budget?: number;
      readonly forceConflicts: boolean;
    } & AppArgs)
  | ({
      readonly command: "deploy";
      readonly target?: string;
      readonly yes: boolean;
      readonly wait: boolean;
      readonly timeoutSeconds?: number;
      readonly budget?: number;
      readonly forceConflicts: boolean;
    } & AppArgs)
  | ({ readonly command: "status"; readonly target?: string } & AppArgs)
  | ({ readonly command: "destroy"; readonly target?: string; readonly yes: boolean } & AppArgs)
  | ({ readonly command: "targets" } & AppArgs)
  | ({ readonly command: "check"; readonly target?: string } & AppArgs)
  | { readonly command: "import"; readonly file: string; readonly out?: string; readonly force: boolean; readonly json: boolean; readonly profiles: readonly string[]; readonly allowOutside?: readonly string[]; readonly inlineEnv?: boolean }
  | { readonly command: "prices"; readonly provider: string; readonly region: string; readonly instanceType?: string; readonly json: boolean }
  | { readonly command: "prices-refresh"; readonly regions: readonly string[]; readonly endpoint?: string; readonly json: boolean };

/** A command line that could not be understood, with what to do about it. */
export interface UsageError {
  readonly command: "usage-error";
  readonly message: string;
  readonly hint?: string;
}

type Options = NonNullable<ParseArgsConfig["options"]>;
const common: Options = { json: { type: "boolean" }, help: { type: "boolean", short: "h" }, file: { type: "string", short: "f" }, "allow-outside": { type: "string", multiple: true } };
const COMMANDS: Readonly<Record<string, Options>> = {
  validate: { ...common },
  schema: { out: { type: "string", short: "o" }, help: common.help! },
  plan: { ...common, target: { type: "string", short: "t" }, offline: { type: "boolean" }, "expect-no-changes": { type: "boolean" }, budget: { type: "string" }, "force-conflicts": { type: "boolean" } },
  deploy: { ...common, target: { type: "string", short: "t" }, yes: { type: "boolean", short: "y" }, "no-wait": { type: "boolean" }, timeout: { type: "string" }, budget: { type: "string" }, "force-conflicts": { type: "boolean" } },
  status: { ...common, target: { type: "string", short: "t" } },
  destroy: { ...common, target: { type: "string", short: "t" }, yes: { type: "boolean", short: "y" } },
  targets: { ...common },
  check: { ...common, target: { type: "string", short: "t" } },
  prices: { json: common.json!, help: common.help!, region: { type: "string", multiple: true }, endpoint: { type: "string" } },
  import: { json: common.json!, help: common.help!, out: { type: "string", short: "o" }, force: { type: "boolean" }, profile: { type: "string", multiple: true }, "allow-outside": common["allow-outside"]!, "inline-env": { type: "boolean" } },
  help: {},
};

/** Command names, for help and did-you-mean. */
export const COMMAND_NAMES = Object.keys(COMMANDS);

/**
 * Parses `sdx` arguments into a command. Pure: no I/O, no exit. Every mistake
 * becomes a {@link UsageError} that says what was wrong and how to fix it.
 */
export function parseCli(argv: readonly string[]): CliCommand | UsageError {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h") return { command: "help" };
  if (first === "--version" || first === "-v" || first === "version") return { command: "version" };
  const options = COMMANDS[first];
  if (!options) {
    const s = didYouMean(first, COMMAND_NAMES);
    return { command: "usage-error", message: `unknown command "${first}"`, hint: s.length ? `Did you mean "sdx ${s[0]}"?` : "Run `sdx --help` for the list of commands." };
  }
  if (first === "help") return rest[0] === undefined ? { command: "help" } : { command: "help", topic: rest[0] };
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...rest], options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const flag = /'(--?[\w-]+)'/.exec(msg)?.[1];
    const known = Object.keys(options).map((o) => `--${o}`);
    const s = flag ? didYouMean(flag, known) : [];
    return {
      command: "usage-error",
      message: flag ? `sdx ${first}: unknown or malformed option ${flag}` : `sdx ${first}: ${msg}`,
      hint: s.length ? `Did you mean ${s[0]}?` : `Options: ${known.join(", ")}.`,
    };
  }
  const v = parsed.values;
  const pos = parsed.positionals;
  if (v.help) return { command: "help", topic: first };
  // An empty value (`-t ""`, `--budget=`) is a slip, never "use the default".
  for (const [k, val] of Object.entries(v)) {
    if ((Array.isArray(val) ? val : [val]).some((x) => typeof x === "string" && x.trim() === "")) {
      return { command: "usage-error", message: `sdx ${first}: --${k} needs a value, got ${JSON.stringify(Array.isArray(val) ? val.find((x) => typeof x === "string" && x.trim() === "") : val)}`, hint: `Give --${k} a value, or leave the flag out.` };
    }
  }
  if (pos.some((p) => p.trim() === "")) return { command: "usage-error", message: `sdx ${first}: an argument is empty`, hint: `Run \`sdx ${first} --help\`.` };
  const json = v.json === true;
  const str = (k: string): string | undefined => (typeof v[k] === "string" ? (v[k] as string) : undefined);
  const maxPos = first === "prices" ? 3 : first === "schema" ? 0 : 1;
  if (pos.length > maxPos) return { command: "usage-error", message: `sdx ${first}: unexpected argument "${pos[maxPos]}"`, hint: `Run \`sdx ${first} --help\`.` };
  const file = str("file") ?? pos[0] ?? ".";
  if (str("file") && pos[0]) return { command: "usage-error", message: `sdx ${first}: give the app file once (either -f or a positional)` };
  const allowOutside = (v["allow-outside"] as string[] | undefined) ?? [];
  if (allowOutside.some((d) => d.trim() === "")) return { command: "usage-error", message: `sdx ${first}: --allow-outside needs a directory`, hint: "e.g. --allow-outside ../shared (repeat it for several directories)" };
  const access = allowOutside.length > 0 ? { allowOutside } : {};
  const money = (k: string): number | UsageError | undefined => {
    const s = str(k);
    if (s === undefined) return undefined;
    // Plain decimals only: Number() would also take "0x10" (16), "1e3" and " " (0).
    const m = /^\$?(\d+(?:\.\d+)?)$/.exec(s);
    const n = m ? Number(m[1]) : Number.NaN;
    return Number.isFinite(n) ? n : { command: "usage-error", message: `--${k} must be a plain number of USD per month, got ${JSON.stringify(s)}`, hint: `e.g. --${k} 250 or --${k} 12.5` };
  };
  const t = str("target");
  const target = t === undefined ? {} : { target: t };
  switch (first) {
    case "validate":
    case "targets":
      return { command: first, file, json, ...access };
    case "schema":
      return { command: "schema", ...(str("out") ? { out: str("out")! } : {}) };
    case "plan": {
      const budget = money("budget");
      if (typeof budget === "object") return budget;
      return {
        command: "plan", file, json, ...access, ...target, offline: v.offline === true, expectNoChanges: v["expect-no-changes"] === true,
        ...(budget === undefined ? {} : { budget }), forceConflicts: v["force-conflicts"] === true,
      };
    }
    case "deploy": {
      if (t === "all") return { command: "usage-error", message: "sdx deploy: --target all is for plan only", hint: "Deploy to one target at a time: --target <name> or --target cheapest." };
      const budget = money("budget");
      if (typeof budget === "object") return budget;
      let timeoutSeconds: number | undefined;
      if (str("timeout") !== undefined) {
        const d = parseDuration(str("timeout")!);
        if (!d.ok || d.value <= 0) return { command: "usage-error", message: `--timeout: cannot read ${JSON.stringify(str("timeout"))}`, hint: 'Write a duration like "5m" or "90s".' };
        if (d.value > MAX_TIMEOUT_SECONDS) return { command: "usage-error", message: `--timeout ${str("timeout")} is longer than the maximum of 24h`, hint: "Give a duration up to 24h." };
        timeoutSeconds = d.value;
      }
      return {
        command: "deploy", file, json, ...access, ...target, yes: v.yes === true, wait: v["no-wait"] !== true,
        ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }), ...(budget === undefined ? {} : { budget }), forceConflicts: v["force-conflicts"] === true,
      };
    }
    case "status":
    case "check":
      return { command: first, file, json, ...access, ...target };
    case "destroy":
      return { command: "destroy", file, json, ...access, ...target, yes: v.yes === true };
    case "import":
      if (pos[0] === undefined) return { command: "usage-error", message: "sdx import: which file?", hint: "e.g. sdx import compose.yaml (or score.yaml)" };
      return { command: "import", file: pos[0], ...(str("out") ? { out: str("out")! } : {}), force: v.force === true, json, profiles: (v.profile as string[] | undefined) ?? [], ...access, ...(v["inline-env"] === true ? { inlineEnv: true } : {}) };
    case "prices": {
      if (pos[0] === "refresh") {
        const regions = (v.region as string[] | undefined) ?? [];
        return { command: "prices-refresh", regions: regions.length ? regions : ["us-east-1"], json, ...(str("endpoint") ? { endpoint: str("endpoint")! } : {}) };
      }
      if (pos.length < 2) return { command: "usage-error", message: "sdx prices: needs a provider and a region", hint: "e.g. sdx prices aws us-east-1 m6i.large, or sdx prices refresh --region us-east-1" };
      return { command: "prices", provider: pos[0]!, region: pos[1]!, ...(pos[2] ? { instanceType: pos[2] } : {}), json };
    }
    default:
      return { command: "usage-error", message: `unhandled command ${first}` };
  }
}

/** Help text for `sdx --help` and `sdx <command> --help`. */
export function helpText(topic?: string): string {
  const lines: Record<string, string> = {
    validate: "sdx validate [file] [--json]            Check an app file; prints every problem (exit 2 on errors).",
    schema: "sdx schema [-o file]                      Print the JSON Schema of sdx.yaml for editors.",
    plan: "sdx plan [file] [-t target|cheapest|all] [--offline] [--json] [--expect-no-changes] [--budget usd]\n                                          Cost table across targets and the changes a deploy would make.",
    deploy: "sdx deploy [file] [-t target|cheapest] [--yes] [--no-wait] [--timeout 10m] [--budget usd] [--json]\n                                          Plan, confirm, apply with progress, wait; exit 1 if the rollout failed.",
    status: "sdx status [file] [-t target] [--json]    Desired/ready instances per service and recent warnings.",
    destroy: "sdx destroy [file] [-t target] [--yes]    Remove this app's objects from a target (only sdx-owned ones).",
    targets: "sdx targets [file] [--json]               List the app's targets and their backends.",
    check: "sdx check [file] [-t target] [--json]     Fidelity report: which fields each target carries exactly, approximates or drops.",
    prices: "sdx prices <provider> <region> [type]     Look up prices. `sdx prices refresh --region r` caches live AWS prices.",
    import: "sdx import <compose.yaml|score.yaml> [-o sdx.yaml] [--force] [--profile p] [--inline-env] [--json]\n                                          Convert to sdx.yaml with a report of what did not carry over.\n                                          Variables stay ${VAR} references; --inline-env writes their values (never secret ones).",
  };
  if (topic && lines[topic]) return `${lines[topic]}\n`;
  return [
    "sdx: describe an app once; price it and deploy it to Kubernetes, Docker Swarm or AWS ECS/Fargate.",
    "",
    "Usage:",
    ...Object.values(lines).map((l) => `  ${l}`),
    "",
    "The app file defaults to sdx.yaml (or sdx.json, sdx.config.ts) in the current directory.",
    "Files it names must be inside its directory; --allow-outside <dir> (repeatable, or SDX_ALLOW_OUTSIDE) allows another.",
    "Exit codes: 0 ok, 1 failure, 2 usage or validation error, 3 changes present (plan --expect-no-changes).",
    "",
  ].join("\n");
}
