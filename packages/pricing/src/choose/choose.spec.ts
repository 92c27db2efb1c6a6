import type { CostEstimate } from "@sdx/sdk";
import { describe, expect, it } from "vitest";
import { makeApp, svc } from "../__fixtures__/make-app.js";
import type { Candidate } from "../estimate/candidate.js";
import { choose } from "./choose.js";

const est = (target: string, hourlyUsd: number, region = "us-east-1"): CostEstimate => ({
  target, backend: "ecs", provider: "aws", region, capacity: "fargate", hourlyUsd, monthlyUsd: hourlyUsd * 730, onDemandHourlyUsd: hourlyUsd,
  lines: [], assumptions: [], notPriced: [], priceAsOf: "2026-01-01", chosen: false,
});
const priced = (target: string, hourly: number, opts: { region?: string; od?: number; spot?: number } = {}): Candidate => ({
  kind: "priced", estimate: est(target, hourly, opts.region), onDemandReplicas: opts.od ?? 2, spotReplicas: opts.spot ?? 0,
});
const amd = makeApp({ web: svc(1, "2Gi"), api: svc(1, "2Gi") });
const arm = makeApp({ web: svc(1, "2Gi", { placement: { arch: "arm64" } }) });

describe("choose", () => {
  it("picks the cheapest, lists every candidate cheapest first, and says why", () => {
    const r = choose(amd, [priced("a", 0.3), priced("b", 0.1), priced("c", 0.2), { kind: "unpriced", target: "d", reason: "no pricing profile" }]);
    expect(r.chosen?.target).toBe("b");
    expect(r.considered.map((e) => [e.target, e.chosen])).toEqual([["b", true], ["c", false], ["a", false]]);
    expect(r.rejected).toEqual([{ target: "d", reason: "no pricing profile" }]);
    expect(r.reason).toBe("b is the cheapest of 3 targets that meet the policy: $73.00/month, next c at $146.00/month");
  });

  it("breaks ties by fewer spot replicas, then input order", () => {
    expect(choose(amd, [priced("a", 0.1, { spot: 2 }), priced("b", 0.1)]).chosen?.target).toBe("b");
    expect(choose(amd, [priced("a", 0.1), priced("b", 0.1)]).chosen?.target).toBe("a");
  });

  it("rejects regions outside the allowed list", () => {
    const r = choose(amd, [priced("cheap", 0.1, { region: "sa-east-1" }), priced("ok", 0.2)], { regions: ["us-east-1", "eu-west-1"] });
    expect(r.chosen?.target).toBe("ok");
    expect(r.rejected).toEqual([{ target: "cheap", reason: "region sa-east-1 is not among the allowed regions (us-east-1, eu-west-1)" }]);
    expect(r.reason).toBe("ok is the only target that meets the policy ($146.00/month)");
  });

  it("rejects candidates over the monthly budget, and chooses none when all are", () => {
    const r = choose(amd, [priced("a", 0.1), priced("b", 0.2)], { maxMonthlyUsd: 100 });
    expect(r.chosen?.target).toBe("a");
    expect(r.rejected).toEqual([{ target: "b", reason: "$146.00/month is over the $100.00/month budget" }]);
    const none = choose(amd, [priced("a", 0.1)], { maxMonthlyUsd: 50 });
    expect(none.chosen).toBeUndefined();
    expect(none.reason).toBeUndefined();
    expect(none.considered).toEqual([expect.objectContaining({ target: "a", chosen: false })]);
  });

  it("rejects spot when the policy forbids it (replicas still on spot come from spot-only services)", () => {
    const r = choose(amd, [priced("a", 0.1, { od: 0, spot: 2 }), priced("b", 0.3)], { allowSpot: false });
    expect(r.chosen?.target).toBe("b");
    expect(r.rejected[0]!.reason).toBe("2 replica(s) must run on spot (placement.spot: only) but the policy forbids spot");
  });

  it("enforces the minimum on-demand share", () => {
    const r = choose(amd, [priced("a", 0.1, { od: 1, spot: 3 }), priced("b", 0.2, { od: 2, spot: 2 })], { minOnDemandShare: 0.5 });
    expect(r.chosen?.target).toBe("b");
    expect(r.rejected).toEqual([{ target: "a", reason: "25% of replicas on on-demand capacity, the policy needs 50%" }]);
  });

  it("allows arm64 only when every service is arm64-capable", () => {
    const r = choose(amd, [priced("a", 0.1)], { arch: "arm64" });
    expect(r.chosen).toBeUndefined();
    expect(r.rejected[0]!.reason).toBe("the policy wants arm64 but web, api are not arm64-capable (placement.arch)");
    expect(choose(arm, [priced("a", 0.1)], { arch: "arm64" }).chosen?.target).toBe("a");
    expect(choose(arm, [priced("a", 0.1)], { arch: "amd64" }).rejected[0]!.reason).toMatch(/web is not amd64-capable/);
  });

  it("lists a candidate with blockers (the app does not fit its hosts) but never chooses it, even when cheapest", () => {
    const blocked: Candidate = { ...(priced("hosts", 0.05) as Extract<Candidate, { kind: "priced" }>), blockers: ["1 of 3 replicas of api does not fit on the hosts of target hosts: not enough memory left"] };
    const r = choose(amd, [blocked, priced("b", 0.2)]);
    expect(r.chosen?.target).toBe("b");
    expect(r.considered.map((e) => [e.target, e.chosen])).toEqual([["hosts", false], ["b", true]]);
    expect(r.rejected).toEqual([{ target: "hosts", reason: "1 of 3 replicas of api does not fit on the hosts of target hosts: not enough memory left" }]);
    expect(choose(amd, [blocked]).chosen).toBeUndefined();
  });

  it("joins every reason a candidate fails", () => {
    const r = choose(amd, [priced("a", 1, { region: "eu-west-1" })], { regions: ["us-east-1"], maxMonthlyUsd: 10 });
    expect(r.rejected[0]!.reason).toBe("region eu-west-1 is not among the allowed regions (us-east-1); $730.00/month is over the $10.00/month budget");
  });
});
