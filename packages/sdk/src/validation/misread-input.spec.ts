import { describe, expect, it } from "vitest";
import { parseAppText } from "../load/load-app.js";
import { interpolate } from "../load/interpolate.js";
import { validateApp } from "./validate-app.js";
import { builtinTargetKinds } from "../testing/testing.js";

// The built-in backends' target kinds: validation knows no kind by itself.
const targetKinds = await builtinTargetKinds();

// Inputs that used to be read silently as something else (issue #16): each now
// gives the value the user meant or an error at its path.
const image = `ghcr.io/acme/web:1.0@sha256:${"a".repeat(64)}`;
const base = { name: "shop", services: { web: { image } } };
const svc = (extra: Record<string, unknown>) => ({ ...base, services: { web: { ...base.services.web, ...extra } } });
const codes = (r: ReturnType<typeof validateApp>) => r.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code} ${d.path}`);

/** Parses YAML, interpolates and validates, as `sdx validate` does. */
function fromYaml(text: string, env: Record<string, string> = {}) {
  const parsed = parseAppText(text);
  expect(parsed.diagnostics).toEqual([]);
  const interp = interpolate(parsed.doc, env);
  const r = validateApp(interp.value, { targetKinds });
  return { ...r, diagnostics: [...interp.diagnostics, ...r.diagnostics] };
}

describe("reserved keys (__proto__, constructor, prototype)", () => {
  it("rejects them as service, label, env, secret and constraint keys, at their path, from YAML", () => {
    const r = fromYaml(`name: shop
labels:
  __proto__: x
services:
  __proto__:
    image: ${image}
  constructor:
    image: ${image}
  web:
    image: ${image}
    env:
      __proto__: v
      prototype: p
    labels:
      constructor: l
    placement:
      constraints:
        __proto__: a
`);
    expect(r.app).toBeUndefined();
    const reserved = r.diagnostics.filter((d) => d.code === "SDX_RESERVED_KEY").map((d) => d.path).sort();
    expect(reserved).toEqual([
      "labels.__proto__",
      "services.__proto__",
      "services.constructor",
      "services.web.env.__proto__",
      "services.web.env.prototype",
      "services.web.labels.constructor",
      "services.web.placement.constraints.__proto__",
    ]);
    const d = r.diagnostics.find((x) => x.path === "services.__proto__" && x.code === "SDX_RESERVED_KEY")!;
    expect(d.message).toContain('"__proto__"');
    expect(d.hint).toBeTruthy();
    // One diagnostic per key: no second "unknown key" for the same path.
    expect(r.diagnostics.filter((x) => x.path === "labels.__proto__")).toHaveLength(1);
  });

  it("rejects them in objects built in code (config modules), in target settings and override patches", () => {
    const labels = JSON.parse('{"__proto__": "x", "ok": "y"}') as Record<string, string>;
    const patch = JSON.parse('{"metadata": {"__proto__": {"polluted": true}}}') as Record<string, unknown>;
    const r = validateApp({
      ...svc({ labels }),
      targets: { k: { kind: "kubernetes", overrides: [{ match: { kind: "Deployment" }, patch }] } },
    }, { targetKinds });
    expect(codes(r)).toEqual(expect.arrayContaining([
      "SDX_RESERVED_KEY services.web.labels.__proto__",
      "SDX_RESERVED_KEY targets.k.overrides[0].patch.metadata.__proto__",
    ]));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("accepts keys that merely contain the words", () => {
    const r = validateApp(svc({ env: { PROTO: "1", my_constructor: "2" }, labels: { "app.kubernetes.io/prototype": "x" } }), { targetKinds });
    expect(codes(r)).toEqual([]);
    expect(r.app!.services[0]!.env).toEqual({ PROTO: "1", my_constructor: "2" });
  });
});

describe("file modes", () => {
  const modeOf = (text: string) => {
    const r = fromYaml(`name: shop\nservices:\n  web:\n    image: ${image}\n    files:\n      - path: /etc/x\n        content: x\n        mode: ${text}\n`);
    return { mode: r.app?.services[0]!.files[0]!.mode, errors: codes(r), warnings: r.diagnostics.filter((d) => d.severity === "warning") };
  };

  it("reads an unquoted leading-zero mode as octal, as Compose and YAML 1.1 do", () => {
    expect(modeOf("0644")).toMatchObject({ mode: 0o644, errors: [] });
    expect(modeOf("0400")).toMatchObject({ mode: 0o400, errors: [] });
    expect(modeOf("0755")).toMatchObject({ mode: 0o755, errors: [] });
  });

  it("reads quoted octal, 0o octal and decimal (JSON) modes", () => {
    expect(modeOf('"0644"')).toMatchObject({ mode: 0o644, errors: [] });
    expect(modeOf('"644"')).toMatchObject({ mode: 0o644, errors: [] });
    expect(modeOf("0o644")).toMatchObject({ mode: 0o644, errors: [] });
    expect(modeOf("420")).toMatchObject({ mode: 0o644, errors: [], warnings: [] });
  });

  it("refuses modes beyond 0777 and malformed octal, with a hint to quote", () => {
    for (const m of ["999", "644", "0o1777", '"7777"', "09", '"0999"', "-1", "1.5"]) {
      const r = modeOf(m);
      expect(r.mode, m).toBeUndefined();
      expect(r.errors, m).toHaveLength(1);
      expect(r.errors[0], m).toMatch(/^SDX_(OUT_OF_RANGE|INVALID_FORMAT|WRONG_TYPE) services\.web\.files\[0\]\.mode$/);
    }
    const r = fromYaml(`name: shop\nservices:\n  web:\n    image: ${image}\n    files: [{ path: /x, content: x, mode: 644 }]\n`);
    expect(r.diagnostics[0]!.hint).toContain('"0644"');
  });

  it("warns when a decimal mode reads like an octal one the user may have meant", () => {
    const r = modeOf("400");
    expect(r.mode).toBe(400);
    expect(r.warnings).toEqual([expect.objectContaining({ code: "SDX_MODE_DECIMAL", path: "services.web.files[0].mode" })]);
    expect(r.warnings[0]!.hint).toContain('"0400"');
  });
});

describe("rollouts that can never progress", () => {
  it.each([
    [0, 0], ["0%", 0], [0, "0%"], ["0%", "0%"], ["00%", 0],
  ])("maxSurge %j with maxUnavailable %j is an error at the rollout", (maxSurge, maxUnavailable) => {
    expect(codes(validateApp(svc({ rollout: { maxSurge, maxUnavailable } }), { targetKinds }))).toEqual(["SDX_ROLLOUT services.web.rollout"]);
  });
  it("is fine with recreate, or when either side allows progress", () => {
    expect(codes(validateApp(svc({ rollout: { strategy: "recreate", maxSurge: "0%", maxUnavailable: 0 } }), { targetKinds }))).toEqual([]);
    expect(codes(validateApp(svc({ rollout: { maxSurge: "1%", maxUnavailable: 0 } }), { targetKinds }))).toEqual([]);
    expect(codes(validateApp(svc({ rollout: { maxSurge: "0%", maxUnavailable: 1 } }), { targetKinds }))).toEqual([]);
  });
  it("refuses maxUnavailable above 100%", () => {
    expect(codes(validateApp(svc({ rollout: { maxUnavailable: "150%" } }), { targetKinds }))).toEqual(["SDX_OUT_OF_RANGE services.web.rollout.maxUnavailable"]);
  });
});

describe("NUL bytes and broken text in values that did not come from a file", () => {
  it("rejects a NUL in env, command, args, labels, file content and names, at each path", () => {
    const r = validateApp(svc({
      env: { A: "x\u0000y" }, command: ["sh", "-c\u0000"], args: "a\u0000b", labels: { k: "\u0000" },
      files: [{ path: "/etc/x", content: "a\u0000" }],
    }), { targetKinds });
    expect(codes(r).filter((c) => c.startsWith("SDX_INVALID_ENCODING")).sort()).toEqual([
      "SDX_INVALID_ENCODING services.web.args",
      "SDX_INVALID_ENCODING services.web.command[1]",
      "SDX_INVALID_ENCODING services.web.env.A",
      "SDX_INVALID_ENCODING services.web.files[0].content",
      "SDX_INVALID_ENCODING services.web.labels.k",
    ]);
    expect(r.app).toBeUndefined();
  });
  it("rejects a NUL that arrives through interpolation, and a lone surrogate from code", () => {
    const r = fromYaml(`name: shop\nservices:\n  web:\n    image: ${image}\n    env:\n      A: "\${EVIL}"\n`, { EVIL: "a\u0000b" });
    expect(codes(r)).toEqual(["SDX_INVALID_ENCODING services.web.env.A"]);
    // The message never repeats the value (it may be a secret).
    expect(JSON.stringify(r.diagnostics)).not.toContain("a\\u0000b");
    expect(codes(validateApp(svc({ env: { B: "\uD800" } }), { targetKinds }))).toEqual(["SDX_INVALID_ENCODING services.web.env.B"]);
  });
  it("keeps newlines and tabs, which are ordinary in file content and env values", () => {
    expect(codes(validateApp(svc({ env: { A: "a\tb\nc" }, files: [{ path: "/x", content: "line1\r\nline2\n" }] }), { targetKinds }))).toEqual([]);
  });
});

describe("errors inside one option of a union", () => {
  it("points at the bad field of a port mapping instead of 'not accepted here'", () => {
    const r = validateApp(svc({ ports: [{ port: 80, protocol: "sctp" }] }), { targetKinds });
    expect(r.diagnostics).toEqual([expect.objectContaining({ code: "SDX_INVALID_VALUE", path: "services.web.ports[0].protocol" })]);
    expect(codes(validateApp(svc({ ports: ["80"] }), { targetKinds }))).toEqual(["SDX_WRONG_TYPE services.web.ports[0]"]);
  });
});

describe("secret sources that can never resolve", () => {
  it("refuses a fromEnv name that no environment variable can have", () => {
    for (const name of ["A=B", ""]) {
      expect(codes(validateApp(svc({ secrets: { db: { fromEnv: name, asEnv: "DB" } } }), { targetKinds })), name).toEqual(["SDX_INVALID_ENV_NAME services.web.secrets.db.fromEnv"]);
    }
  });
});
