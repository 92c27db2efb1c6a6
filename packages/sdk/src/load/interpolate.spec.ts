import { describe, expect, it } from "vitest";
import { interpolate } from "./interpolate.js";

describe("interpolate", () => {
  it("substitutes variables, defaults and escapes in every string", () => {
    const r = interpolate({ a: "${A}", b: ["x-${B:-dflt}"], c: "$${A}", d: "${E-unset}", e: "${E:-empty}", n: 3 }, { A: "1", E: "" });
    expect(r.value).toEqual({ a: "1", b: ["x-dflt"], c: "${A}", d: "", e: "empty", n: 3 });
    expect(r.diagnostics).toEqual([]);
  });
  it("reports an unset variable at its path", () => {
    const r = interpolate({ services: { web: { env: { X: "${MISSING}" } } } }, {});
    expect(r.diagnostics).toEqual([expect.objectContaining({ code: "SDX_ENV_UNSET", path: "services.web.env.X" })]);
  });
});
