import { describe, expect, it } from "vitest";
import { parseCpu, parseDuration, parseMemory, parseSizeGiB } from "./units.js";

describe("units", () => {
  it.each([[0.5, 500], ["250m", 250], ["2", 2000], [1.5, 1500]])("cpu %s → %i millicores", (input, want) => {
    expect(parseCpu(input)).toEqual({ ok: true, value: want });
  });
  it.each([["512Mi", 512], ["1Gi", 1024], ["1G", 954], ["256MB", 245], ["1.5Gi", 1536]])("memory %s → %i MiB (rounded up)", (input, want) => {
    expect(parseMemory(input)).toEqual({ ok: true, value: want });
  });
  it("refuses memory without a unit and unknown units", () => {
    expect(parseMemory(512)).toMatchObject({ ok: false, message: 'memory "512" has no unit' });
    expect(parseMemory("512")).toMatchObject({ ok: false });
    expect(parseMemory("1Xi")).toMatchObject({ ok: false, message: 'unknown memory unit "Xi" in "1Xi"' });
  });
  it.each([["10s", 10], ["1m30s", 90], ["500ms", 0.5], ["2h", 7200], [15, 15]])("duration %s → %d s", (input, want) => {
    expect(parseDuration(input)).toEqual({ ok: true, value: want });
  });
  it("refuses junk durations", () => {
    expect(parseDuration("10 minutes")).toMatchObject({ ok: false });
    expect(parseDuration("")).toMatchObject({ ok: false });
  });
  it.each([["2Gi", 2], ["512Mi", 0.5], ["1G", 954 / 1024], ["1.5Ti", 1536], [0, 0], ["0", 0], ["0Gi", 0]])("data size %s → %d GiB (to the MiB above)", (input, want) => {
    expect(parseSizeGiB(input, "usage.logs")).toEqual({ ok: true, value: want });
  });
  it("refuses negative data sizes, bare numbers and unknown units, naming the field", () => {
    expect(parseSizeGiB("-2Gi", "usage.egress")).toMatchObject({ ok: false, message: 'usage.egress must not be negative, got "-2Gi"', hint: expect.stringContaining("2Gi") });
    expect(parseSizeGiB(-1, "usage.egress")).toMatchObject({ ok: false, message: "usage.egress must not be negative, got -1" });
    expect(parseSizeGiB(10, "usage.logs")).toMatchObject({ ok: false, message: 'usage.logs "10" has no unit' });
    expect(parseSizeGiB("10", "usage.logs")).toMatchObject({ ok: false, message: 'usage.logs "10" has no unit' });
    expect(parseSizeGiB("10Gb", "usage.logs")).toMatchObject({ ok: false, message: 'unknown unit "Gb" in usage.logs "10Gb"' });
    expect(parseSizeGiB("lots", "usage.logs")).toMatchObject({ ok: false, message: 'cannot read usage.logs "lots"' });
  });
});
