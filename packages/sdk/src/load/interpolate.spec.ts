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

describe("interpolate: required variables and malformed syntax", () => {
  const one = (s: string, env: Record<string, string> = {}) => interpolate({ services: { web: { env: { X: s } } } }, env);
  const value = (s: string, env: Record<string, string> = {}) => (one(s, env).value as { services: { web: { env: { X: string } } } }).services.web.env.X;

  it("${VAR:?msg} fails with msg when VAR is unset or empty; ${VAR?msg} only when unset", () => {
    for (const [tpl, env, state] of [["${HOME:?boom}", {}, "not set"], ["${HOME:?boom}", { HOME: "" }, "empty"], ["${HOME?boom}", {}, "not set"]] as const) {
      const r = one(tpl, env);
      expect(r.diagnostics, tpl).toEqual([expect.objectContaining({ code: "SDX_ENV_REQUIRED", severity: "error", path: "services.web.env.X" })]);
      expect(r.diagnostics[0]!.message).toContain("boom");
      expect(r.diagnostics[0]!.message).toContain(state);
    }
    expect(one("${HOME?boom}", { HOME: "" }).diagnostics).toEqual([]);
    expect(value("${HOME:?boom}", { HOME: "/root" })).toBe("/root");
    expect(value("${HOME?}", { HOME: "/h" })).toBe("/h");
    expect(one("${HOME:?}", {}).diagnostics[0]!.message).toContain("HOME");
    // The message is not expanded: it must not carry another variable's value into the output.
    const leak = one("${A:?needs ${SECRET}}", { SECRET: "hunter2" });
    expect(leak.diagnostics[0]!.message).toContain("needs ${SECRET}");
    expect(JSON.stringify(leak.diagnostics)).not.toContain("hunter2");
  });

  it("reports malformed references with the path and the offending text", () => {
    for (const tpl of ["${}", "${!X}", "pre ${X", "${X:-unclosed", "${1X}", "${X:=y}", "${X Y}", "${ X}"]) {
      const r = one(tpl, { X: "1" });
      expect(r.diagnostics, tpl).toEqual([expect.objectContaining({ code: "SDX_INTERPOLATION", severity: "error", path: "services.web.env.X" })]);
      expect(r.diagnostics[0]!.message, tpl).toContain(tpl.trim().startsWith("pre") ? "${X" : tpl);
      expect(r.diagnostics[0]!.hint, tpl).toContain("$$");
    }
  });

  it("keeps $$ as a literal $ and leaves a lone $ or $NAME alone", () => {
    expect(value("$${X} costs $5 and $HOME stays", { X: "1" })).toBe("${X} costs $5 and $HOME stays");
    expect(value("a$", {})).toBe("a$");
    expect(value("$$$${X}", { X: "1" })).toBe("$${X}");
  });

  it("interpolates nested defaults only when they are used, and supports :+ and +", () => {
    expect(value("${A:-${B:-b}}", {})).toBe("b");
    expect(value("${A:-${B}}", { A: "a" })).toBe("a");
    expect(one("${A:-${B}}", { A: "a" }).diagnostics).toEqual([]);
    expect(one("${A:-${B}}", {}).diagnostics).toEqual([expect.objectContaining({ code: "SDX_ENV_UNSET" })]);
    expect(value('${J:-{"a":1}}', {})).toBe('{"a":1}');
    expect(value("${A:+set}|${B:+set}|${C+set}", { A: "1", B: "", C: "" })).toBe("set||set");
  });

  it("bounds nesting and reports one error for a very long malformed string", () => {
    const deep = `${"${A:-".repeat(50)}x${"}".repeat(50)}`;
    expect(one(deep).diagnostics).toEqual([expect.objectContaining({ code: "SDX_INTERPOLATION" })]);
    const long = one(`\${X${"y".repeat(100_000)}`);
    expect(long.diagnostics).toHaveLength(1);
    expect(long.diagnostics[0]!.message.length).toBeLessThan(300);
  });

  it("keeps a __proto__ key instead of dropping it, so validation can report it", () => {
    const doc = JSON.parse('{"services": {"__proto__": {"image": "x"}, "web": {"image": "y"}}}') as unknown;
    const r = interpolate(doc, {}).value as { services: Record<string, unknown> };
    expect(Object.keys(r.services)).toEqual(["__proto__", "web"]);
    expect(Object.getPrototypeOf(r.services)).toBe(Object.prototype);
  });
});

describe("interpolate: walks without recursion", () => {
  it("reports a value that contains itself instead of overflowing the stack", () => {
    const web: Record<string, unknown> = { image: "${IMG}" };
    web.labels = { loop: web };
    const r = interpolate({ services: { web } }, { IMG: "nginx:1" });
    expect(r.diagnostics).toEqual([expect.objectContaining({ code: "SDX_LIMIT_EXCEEDED", severity: "error", path: "services.web.labels.loop", message: "the value contains itself" })]);
    expect((r.value as { services: { web: { image: string } } }).services.web.image).toBe("nginx:1");
  });

  it("stops at LIMITS.depth levels, even for a list nested 200,000 deep", () => {
    let deep: unknown = "${X}";
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const r = interpolate({ a: deep }, { X: "1" });
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({ code: "SDX_LIMIT_EXCEEDED", message: "nested deeper than 64 levels" });
    expect(r.diagnostics[0]!.path).toBe(`a${"[0]".repeat(63)}`);
    let ok: unknown = "${X}";
    for (let i = 0; i < 60; i++) ok = [ok];
    expect(interpolate({ a: ok }, { X: "1" }).diagnostics).toEqual([]);
  });

  it("shares nothing with its input and keeps key order and lists (a shared, non-cyclic value is fine)", () => {
    const shared = { v: "${X}" };
    const doc = { b: shared, a: [shared, 2, null, true], c: shared };
    const r = interpolate(doc, { X: "x" });
    expect(r.diagnostics).toEqual([]);
    expect(r.value).toEqual({ b: { v: "x" }, a: [{ v: "x" }, 2, null, true], c: { v: "x" } });
    expect(Object.keys(r.value as object)).toEqual(["b", "a", "c"]);
    expect(shared.v).toBe("${X}");
  });
});
