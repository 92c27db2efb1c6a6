import { describe, expect, it } from "vitest";
import type { CostEstimate, EstimateReport } from "../pricing/pricing-contract.js";
import { formatEstimates, formatVerdict } from "./format-plan.js";

describe("formatVerdict", () => {
  it("says each verdict in a few words", () => {
    expect(formatVerdict({ kind: "exact" })).toBe("exact");
    expect(formatVerdict({ kind: "approximated", approximated: 3, dropped: 0 })).toBe("approximated (3)");
    expect(formatVerdict({ kind: "approximated", approximated: 2, dropped: 1 })).toBe("approximated (2), drops 1");
    expect(formatVerdict({ kind: "approximated", approximated: 0, dropped: 2 })).toBe("drops 2");
    expect(formatVerdict({ kind: "refused", errors: 2 })).toBe("cannot run (2 errors)");
    expect(formatVerdict({
      kind: "degraded", breaks: ["discovery", "persistent-data"], approximated: 0, dropped: 3,
      entries: [
        { service: "api", field: "ports", level: "dropped", breaks: "discovery" },
        { service: "cache", field: "ports", level: "dropped", breaks: "discovery" },
        { service: "db", field: "volumes.data", level: "dropped", breaks: "persistent-data" },
      ],
    })).toBe("breaks discovery by name (api, cache), persistent data (db)");
  });
});

describe("formatEstimates with verdicts", () => {
  const estimate = (target: string, monthlyUsd: number): CostEstimate => ({
    target, backend: target, provider: "aws", region: "us-east-1", capacity: "1 box", hourlyUsd: monthlyUsd / 730, monthlyUsd, onDemandHourlyUsd: monthlyUsd / 730,
    lines: [], assumptions: [], notPriced: [], priceAsOf: "2025-06-01", chosen: target === "a",
  });
  const report: EstimateReport = { estimates: [estimate("a", 10), estimate("b", 20)], chosen: "a", reason: "cheapest", rejected: [], diagnostics: [] };
  it("adds a FIDELITY column, and says when a target was not checked", () => {
    const text = formatEstimates(report, undefined, {}, { verdicts: { a: { kind: "approximated", approximated: 1, dropped: 0 } } });
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/PRICES AS OF\s+FIDELITY$/);
    expect(lines[1]).toMatch(/^→\s+a\s.*approximated \(1\)$/);
    expect(lines[2]).toMatch(/^\s+b\s.*not checked$/);
  });
  it("has no FIDELITY column without verdicts", () => {
    expect(formatEstimates(report).split("\n")[0]).not.toContain("FIDELITY");
  });
});
