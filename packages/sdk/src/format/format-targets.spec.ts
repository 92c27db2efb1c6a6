import { describe, expect, it } from "vitest";
import type { CostModel } from "../backend/backend.js";
import type { Target } from "../model/app.js";
import { pricingBasis } from "./format-targets.js";

const target = (pricing?: Target["pricing"]): Target => ({ name: "t", kind: "acme", overrides: [], settings: {}, ...(pricing ? { pricing } : {}) }) as Target;
const aws = { provider: "aws", region: "us-east-1", nodeTypes: ["m6i.large"], spot: false, dedicatedCluster: false, controlPlane: "none" } as const;

describe("pricingBasis", () => {
  it.each<[string, Target, CostModel | undefined, string]>([
    ["nodes with a profile", target(aws), { kind: "nodes", reserve: { kind: "fixed", cpuMillis: 100, memoryMiB: 256 } }, "aws us-east-1 m6i.large (nodes)"],
    ["nodes without node types", target({ ...aws, nodeTypes: [] }), { kind: "nodes", reserve: { kind: "fixed", cpuMillis: 0, memoryMiB: 0 } }, "aws us-east-1 (nodes)"],
    ["nodes without a profile", target(), { kind: "nodes", reserve: { kind: "fixed", cpuMillis: 0, memoryMiB: 0 } }, "nodes: no pricing profile"],
    ["tasks", target(), { kind: "tasks", rates: "fargate", provider: "aws", region: "eu-west-1", spot: true, size: (c, m) => ({ cpuMillis: c, memoryMiB: m }) }, "aws fargate eu-west-1"],
    ["flat", target(aws), { kind: "flat", monthlyUsd: 1234.5, description: "box" }, "flat $1,235/month"],
    ["unpriced", target(aws), { kind: "unpriced", reason: "billed by contract" }, "not priced: billed by contract"],
    ["no model", target(aws), undefined, "not priced: no cost model"],
  ])("%s", (_, t, model, text) => {
    expect(pricingBasis(t, model)).toBe(text);
  });
});
