import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const pkg = join(import.meta.dirname, "../..");
const data = process.env.SDX_PRICING_DATA ?? join(pkg, "../../../shared/pricing-data");

describe("scripts/build-catalog.mjs", () => {
  it.skipIf(!existsSync(join(data, "README.md")))("the committed catalog is what the script derives from the price tables", () => {
    const out = execFileSync(process.execPath, [join(pkg, "scripts/build-catalog.mjs"), "--check", "--from", data], { encoding: "utf8" });
    expect(out).toMatch(/catalog-\d{4}-\d{2}-\d{2}\.json is up to date/);
  }, 30_000);
});
