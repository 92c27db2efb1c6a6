import { describe, expect, it } from "vitest";
import { parseCpu, parseDuration, parseMemory } from "./units.js";

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
});
