import { describe, expect, it } from "vitest";
import { isSdxError } from "@sdx/sdk";
import { billedFargateSize, FARGATE_CPU_TIERS, fargateSize } from "./fargate-size.js";

describe("fargateSize", () => {
  // [cpuMillis, memoryMiB] → [billed vCPU, billed GB]; valid sizes from the AWS Fargate task-size table.
  const cases: [number, number, number, number][] = [
    [250, 256, 0.25, 0.5], // the model defaults: 250m / 256Mi → smallest task
    [250, 512, 0.25, 0.5],
    [250, 1500, 0.25, 2], // 0.25 vCPU allows only 0.5, 1 and 2 GB
    [250, 3000, 0.5, 3], // 3 GB does not fit 0.25 vCPU → 0.5 vCPU, 1 GB steps
    [300, 600, 0.5, 1],
    [1000, 2048, 1, 2], // the 1 vCPU / 2 GB example is already a valid size
    [1000, 1024, 1, 2], // 1 vCPU needs at least 2 GB
    [1000, 9000, 2, 9], // 8.8 GB is over 1 vCPU's 8 GB → 2 vCPU, 9 GB
    [2000, 17 * 1024, 4, 17],
    [4000, 31 * 1024, 8, 32], // over 30 GB → 8 vCPU in 4 GB steps from 16: 32
    [8000, 61 * 1024, 16, 64], // over 60 GB → 16 vCPU in 8 GB steps from 32: 64
    [16000, 120 * 1024, 16, 120],
    [5000, 1024, 8, 16], // 5 vCPU → 8 vCPU, whose minimum is 16 GB
  ];
  it.each(cases)("%im / %iMi → %f vCPU / %f GB", (cpu, mem, vcpu, gb) => {
    const s = fargateSize(cpu, mem);
    expect(s.requested).toEqual({ cpuMillis: cpu, memoryMiB: mem });
    expect(s.billed.vcpu).toBe(vcpu);
    expect(s.billed.memoryGb).toBe(gb);
    expect(s.billed.cpuUnits).toBe(vcpu * 1024);
    expect(s.billed.memoryMiB).toBe(gb * 1024);
    // What pricing is handed as CostModel.size: the same size in millicores and MiB.
    expect(billedFargateSize(cpu, mem)).toEqual({ cpuMillis: vcpu * 1000, memoryMiB: gb * 1024 });
  });

  it("only ever returns a size from the valid table", () => {
    for (let cpu = 100; cpu <= 16000; cpu += 700) {
      for (let mem = 128; mem <= 120 * 1024; mem += 1531) {
        const { billed } = fargateSize(cpu, mem);
        const tier = FARGATE_CPU_TIERS.find((t) => t.cpuUnits === billed.cpuUnits)!;
        expect(tier.memoryMiB).toContain(billed.memoryMiB);
        expect(billed.vcpu * 1000).toBeGreaterThanOrEqual(cpu);
        expect(billed.memoryMiB).toBeGreaterThanOrEqual(mem);
      }
    }
  });

  it("refuses requests larger than the biggest task, with a hint", () => {
    for (const [cpu, mem] of [[17000, 1024], [1000, 121 * 1024]] as const) {
      try {
        fargateSize(cpu, mem);
        expect.unreachable();
      } catch (e) {
        expect(isSdxError(e) && e.code).toBe("SDX_VALIDATION");
        expect(isSdxError(e) && e.fault).toBe("user");
        expect(isSdxError(e) && e.hint).toMatch(/16 vCPU and 120 GB/);
      }
    }
  });

  it("refuses non-positive requests", () => {
    expect(() => fargateSize(0, 512)).toThrow(/positive/);
  });
});
