import { describe, expect, it } from "vitest";
import { didYouMean, editDistance } from "./did-you-mean.js";

describe("didYouMean", () => {
  it("counts a swap of neighbours as one edit", () => {
    expect(editDistance("plna", "plan")).toBe(1);
    expect(editDistance("kitten", "sitting")).toBe(3);
  });
  it("suggests close candidates, best first, and nothing for unrelated input", () => {
    expect(didYouMean("replcias", ["replicas", "resources", "rollout"])).toEqual(["replicas"]);
    expect(didYouMean("zzz", ["replicas", "ports"])).toEqual([]);
  });
});
