import { describe, expect, it } from "vitest";
import type { BackendApplyResult } from "../backend/backend.js";
import { formatDeploySummary } from "./format-deploy-summary.js";

const apply = (over: Partial<BackendApplyResult>): BackendApplyResult => ({ status: "failed", completed: [], failed: [], remaining: [], rollouts: [], ...over });

describe("formatDeploySummary", () => {
  it("prints a timed-out rollout with its reason, and no re-run hint when nothing is left unfinished", () => {
    const a = apply({
      rollouts: [{ service: "api", status: "timed-out", desired: 2, ready: 1, reason: "not finished after 60 s: 1 pod(s) not ready" }],
      error: { code: "SDX_ROLLOUT_TIMEOUT", fault: "backend", message: "api: the rollout did not finish in time: not finished after 60 s: 1 pod(s) not ready" },
    });
    expect(formatDeploySummary({ status: "failed", target: "k8s", apply: a })).toBe(
      "Deploy to k8s failed: api: the rollout did not finish in time: not finished after 60 s: 1 pod(s) not ready.\n"
      + "  rollout of api: timed-out (not finished after 60 s: 1 pod(s) not ready)\n",
    );
  });

  it("tells the user to re-run when a rollout's wait was aborted", () => {
    const a = apply({ status: "aborted", rollouts: [{ service: "api", status: "aborted", desired: 2, ready: 1 }], error: { code: "SDX_ABORTED", fault: "user", message: "The operation was aborted." } });
    expect(formatDeploySummary({ status: "aborted", target: "k8s", apply: a })).toBe(
      "Deploy to k8s aborted: The operation was aborted.\n  rollout of api: aborted\n  Re-run deploy to converge: it re-plans from the live state and waits for unfinished rollouts.\n",
    );
  });
});
