import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tempDir } from "../../test/fixtures/build/build-fixtures.js";

// scripts/base-image/push-base-image.mjs runs with plain `node` from the sources; --print-only builds without a registry.
const SCRIPT = resolve(import.meta.dirname, "../../../../scripts/base-image/push-base-image.mjs");

function rootfs(): string {
  const dir = join(tempDir(), "rootfs");
  mkdirSync(join(dir, "bin"), { recursive: true });
  mkdirSync(join(dir, "tmp"));
  chmodSync(join(dir, "tmp"), 0o1777);
  writeFileSync(join(dir, "bin", "busybox"), "#!fake\n", { mode: 0o755 });
  symlinkSync("busybox", join(dir, "bin", "sh"));
  symlinkSync("/bin/busybox", join(dir, "bin", "abs"));
  return dir;
}

const printed = (...rootfsArgs: string[]) =>
  execFileSync(process.execPath, [SCRIPT, "--print-only", ...rootfsArgs.flatMap((r) => ["--rootfs", r])], { encoding: "utf8", env: { PATH: process.env["PATH"] } }).trim();

describe("scripts/base-image/push-base-image.mjs", () => {
  it("gives the same index digest for the same directories anywhere, another for other content", { timeout: 60_000 }, () => {
    const a = rootfs();
    const b = join(tempDir(), "copy");
    cpSync(a, b, { recursive: true, verbatimSymlinks: true });
    utimesSync(join(b, "bin", "busybox"), 1, 1);
    // Modes are part of a root filesystem: cp does not keep the sticky /tmp, so set it again.
    chmodSync(join(b, "tmp"), 0o1777);
    const first = printed(`amd64=${a}`, `arm64=${a}`);
    expect(first).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(printed(`arm64=${b}`, `amd64=${b}`)).toBe(first);
    writeFileSync(join(b, "bin", "busybox"), "#!other\n");
    expect(printed(`amd64=${b}`, `arm64=${b}`)).not.toBe(first);
    expect(printed(`amd64=${a}`)).not.toBe(first);
  });

  it("refuses an unknown architecture and missing arguments", () => {
    expect(() => execFileSync(process.execPath, [SCRIPT, "--print-only", "--rootfs", "riscv=/x"], { stdio: "pipe" })).toThrow(/amd64 or arm64/);
    expect(() => execFileSync(process.execPath, [SCRIPT, "--rootfs", "amd64=/x"], { stdio: "pipe" })).toThrow(/usage/);
  });
});
