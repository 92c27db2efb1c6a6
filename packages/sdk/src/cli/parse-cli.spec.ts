import { describe, expect, it } from "vitest";
import { COMMAND_NAMES, helpText, parseCli } from "./parse-cli.js";

describe("parseCli", () => {
  it("parses plan with every flag", () => {
    expect(parseCli(["plan", "examples/shop", "-t", "cheapest", "--offline", "--json", "--expect-no-changes", "--budget", "$250", "--breakdown", "--allow-degraded"])).toEqual({
      command: "plan", file: "examples/shop", target: "cheapest", offline: true, json: true, expectNoChanges: true, budget: 250, forceConflicts: false, breakdown: true, allowDegraded: true,
    });
  });
  it("defaults the app file to the current directory", () => {
    expect(parseCli(["validate"])).toEqual({ command: "validate", file: ".", json: false });
    expect(parseCli(["status", "-f", "x.yaml"])).toMatchObject({ command: "status", file: "x.yaml" });
  });
  it("parses deploy durations and --no-wait", () => {
    expect(parseCli(["deploy", "--yes", "--no-wait", "--timeout", "2m"])).toMatchObject({ command: "deploy", yes: true, wait: false, timeoutSeconds: 120, allowDegraded: false });
    expect(parseCli(["deploy", "-t", "cheapest", "--allow-degraded"])).toMatchObject({ command: "deploy", target: "cheapest", allowDegraded: true });
    expect(parseCli(["deploy", "--timeout", "soon"])).toMatchObject({ command: "usage-error" });
    expect(parseCli(["deploy", "-t", "all"])).toMatchObject({ command: "usage-error", message: expect.stringContaining("plan only") });
  });
  it("suggests commands and flags", () => {
    expect(parseCli(["plna"])).toMatchObject({ command: "usage-error", hint: 'Did you mean "sdx plan"?' });
    expect(parseCli(["plan", "--ofline"])).toMatchObject({ command: "usage-error", hint: "Did you mean --offline?" });
    expect(parseCli(["plan", "--budget", "cheap"])).toMatchObject({ command: "usage-error", message: expect.stringContaining("--budget") });
    expect(parseCli(["plan", "a", "b"])).toMatchObject({ command: "usage-error", message: expect.stringContaining('"b"') });
  });
  it("accepts only plain non-negative decimal budgets, naming the flag otherwise", () => {
    expect(parseCli(["plan", "--budget", "12"])).toMatchObject({ command: "plan", budget: 12 });
    expect(parseCli(["plan", "--budget=12.5"])).toMatchObject({ command: "plan", budget: 12.5 });
    expect(parseCli(["deploy", "--budget", "$0"])).toMatchObject({ command: "deploy", budget: 0 });
    for (const bad of ["", " ", "0x10", "1e3", "-5", "12.", ".5", "Infinity", "NaN", "12 ", "1_000", "$", "0b1"]) {
      for (const cmd of ["plan", "deploy"]) {
        const r = parseCli([cmd, `--budget=${bad}`]);
        expect(r, `${cmd} --budget=${JSON.stringify(bad)}`).toMatchObject({ command: "usage-error", message: expect.stringContaining("--budget") });
      }
    }
    expect(parseCli(["plan", "--budget", " "])).toMatchObject({ command: "usage-error", message: expect.stringContaining("--budget") });
  });
  it("refuses empty or blank string flags instead of ignoring them", () => {
    for (const argv of [["plan", "-t", ""], ["plan", "--target="], ["status", "-t", " "], ["validate", "-f", ""], ["schema", "-o", ""],
      ["import", "c.yaml", "-o", ""], ["import", "c.yaml", "--profile", ""], ["prices", "refresh", "--region", ""], ["deploy", "--timeout", ""]]) {
      const r = parseCli(argv);
      expect(r, argv.join(" ")).toMatchObject({ command: "usage-error" });
      const flag = argv.find((a) => a.startsWith("-"))!.replace(/=.*/, "");
      const long = { "-t": "--target", "-f": "--file", "-o": "--out" }[flag] ?? flag;
      expect((r as { message: string }).message, argv.join(" ")).toContain(long);
    }
    expect(parseCli(["plan", ""])).toMatchObject({ command: "usage-error", message: expect.stringContaining("empty") });
  });
  it("refuses unreadable, zero and overlong timeouts", () => {
    for (const bad of ["0x10", "10", "0s", " ", "-1m", "1e3s", "100000h"]) expect(parseCli(["deploy", "--timeout", bad]), bad).toMatchObject({ command: "usage-error", message: expect.stringContaining("--timeout") });
    expect(parseCli(["deploy", "--timeout", "1h30m"])).toMatchObject({ command: "deploy", timeoutSeconds: 5400 });
  });
  it("parses prices lookups and refresh", () => {
    expect(parseCli(["prices", "aws", "us-east-1", "m6i.large"])).toEqual({ command: "prices", provider: "aws", region: "us-east-1", instanceType: "m6i.large", json: false });
    expect(parseCli(["prices", "refresh", "--region", "eu-west-1", "--region", "us-east-1"])).toEqual({ command: "prices-refresh", regions: ["eu-west-1", "us-east-1"], json: false });
    expect(parseCli(["prices", "aws"])).toMatchObject({ command: "usage-error" });
  });
  it("handles help and version", () => {
    expect(parseCli([])).toEqual({ command: "help" });
    expect(parseCli(["--version"])).toEqual({ command: "version" });
    expect(parseCli(["plan", "--help"])).toEqual({ command: "help", topic: "plan" });
  });
  it("parses --plugin (repeatable) for commands that read an app file, and only when given", () => {
    expect(parseCli(["plan", "app.yaml", "--plugin", "@acme/sdx-nomad", "--plugin", "./p.mjs"])).toMatchObject({ command: "plan", plugins: ["@acme/sdx-nomad", "./p.mjs"] });
    expect(parseCli(["schema", "--plugin", "./p.mjs"])).toEqual({ command: "schema", plugins: ["./p.mjs"] });
    expect(parseCli(["status"])).not.toHaveProperty("plugins");
    expect(parseCli(["plan", "--plugin", ""])).toMatchObject({ command: "usage-error", message: expect.stringContaining("--plugin") });
    expect(parseCli(["import", "c.yaml", "--plugin", "x"])).toMatchObject({ command: "usage-error", message: expect.stringContaining("--plugin") });
  });
});

describe("help, generated from the option table", () => {
  const commands = COMMAND_NAMES.filter((c) => c !== "help");
  it("shows each command's flags with their descriptions, and an example", () => {
    const deploy = helpText("deploy");
    expect(deploy).toMatch(/^sdx deploy \[file\] \[options\]\n\nPlan, confirm, apply/);
    expect(deploy).toMatch(/-t, --target <target> +A target name or `cheapest`\./);
    expect(deploy).toMatch(/ {4}--no-wait +Return once the changes are sent/);
    expect(deploy).toMatch(/ {4}--timeout <duration> +Rollout timeout/);
    expect(deploy).toMatch(/ {4}--plugin <specifier> +A plugin module/);
    expect(deploy).toContain("Example:\n  sdx deploy examples/shop -t local --yes --timeout 10m\n");
    for (const c of commands) expect(helpText(c), c).toMatch(/\nExample:\n {2}sdx \S+/);
  });
  it("lists only flags the parser accepts, and every command with an example in the general help", () => {
    for (const c of commands) {
      const flags = [...helpText(c).matchAll(/(?:^|[ ,])(--[a-z-]+)(?: <[a-z]+>)?/gm)].map((m) => m[1]!);
      expect(flags.length, c).toBeGreaterThan(0);
      for (const f of flags) {
        const needsValue = new RegExp(`${f} <`).test(helpText(c));
        const argv = c === "prices" ? ["prices", "aws", "us-east-1"] : c === "import" ? ["import", "c.yaml"] : [c];
        const r = parseCli([...argv, ...(needsValue ? [`${f}=1m`] : [f])]);
        // A value the flag's own parser refuses is fine here; an unknown flag is not.
        if (r.command === "usage-error") expect(r.message, `${c} ${f}`).not.toContain("unknown or malformed option");
      }
    }
    const general = helpText();
    for (const c of commands) expect(general, c).toMatch(new RegExp(`\\n {2}sdx ${c}\\b`));
    expect(general).toContain("Exit codes");
  });
});
