import { describe, expect, it } from "vitest";
import { parseCli } from "./parse-cli.js";

describe("parseCli", () => {
  it("parses plan with every flag", () => {
    expect(parseCli(["plan", "examples/shop", "-t", "cheapest", "--offline", "--json", "--expect-no-changes", "--budget", "$250"])).toEqual({
      command: "plan", file: "examples/shop", target: "cheapest", offline: true, json: true, expectNoChanges: true, budget: 250, forceConflicts: false,
    });
  });
  it("defaults the app file to the current directory", () => {
    expect(parseCli(["validate"])).toEqual({ command: "validate", file: ".", json: false });
    expect(parseCli(["status", "-f", "x.yaml"])).toMatchObject({ command: "status", file: "x.yaml" });
  });
  it("parses deploy durations and --no-wait", () => {
    expect(parseCli(["deploy", "--yes", "--no-wait", "--timeout", "2m"])).toMatchObject({ command: "deploy", yes: true, wait: false, timeoutSeconds: 120 });
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
});
