import { SdxError, type App, type BilledTaskSize, type ChoosePolicy, type CostLine } from "@sdx/sdk";
import type { Arch, CatalogRate, FargateRates } from "../catalog/price-catalog.js";
import { costLine, HOURS_PER_MONTH, NOT_PRICED_COMMON, oldestAsOf, sumHourly, usd, type PricedCandidate } from "./candidate.js";
import { planReplicas, type ReplicaPlan } from "./replica-plan.js";

/** Ephemeral storage every Fargate task gets without charge, in GiB. */
export const FARGATE_FREE_EPHEMERAL_GIB = 20;

/** Input of {@link estimateFargate}. */
export interface EstimateFargateInput {
  readonly app: App;
  readonly target: string;
  /** @default "ecs" */
  readonly backend?: string;
  readonly region: string;
  /** Rates for each architecture the app's services use. */
  readonly rates: Partial<Record<Arch, FargateRates>>;
  /** The target runs Fargate Spot (FARGATE_SPOT capacity provider). */
  readonly spotAvailable: boolean;
  /**
   * The task size a replica is billed at, as the target's backend declares it
   * (`CostModel.size`: the ECS backend rounds up to a valid Fargate size).
   * Throws `SdxError` (fault `user`) when no size holds the request.
   */
  readonly size: (cpuMillis: number, memoryMiB: number) => BilledTaskSize;
  readonly policy?: Pick<ChoosePolicy, "allowSpot" | "minOnDemandShare">;
}

/**
 * Prices an app on Fargate: each replica is billed at the task size its
 * backend's cost model rounds it up to (`input.size`), per vCPU-hour and GB-hour of its architecture, on
 * on-demand or Fargate Spot rates by the replica split, plus ephemeral storage
 * above the free 20 GB. Pure.
 *
 * @throws SdxError `SDX_PRICING` (fault `user`) when a rate is missing, and
 * whatever `input.size` throws when a service is larger than any task.
 */
export function estimateFargate(input: EstimateFargateInput): PricedCandidate {
  const { app, target, region } = input;
  const assumptions: string[] = [];
  const base = planReplicas(app, target, { spotAvailable: input.spotAvailable, ...(input.policy ? { policy: input.policy } : {}) });
  const lines = fargateLines(input, base, assumptions);
  const fallback = fargateLines(input, planReplicas(app, target, { spotAvailable: input.spotAvailable, allOnDemand: true }), []);
  const hourlyUsd = sumHourly(lines);

  const scaled = base.filter((p) => p.autoscale);
  if (scaled.length > 0) {
    const atMax = sumHourly(fargateLines(input, planReplicas(app, target, { spotAvailable: input.spotAvailable, at: "max", ...(input.policy ? { policy: input.policy } : {}) }), []));
    assumptions.push(
      `autoscaled services priced at their minimum replicas (${scaled.map((p) => `${p.service} ${p.autoscale!.min}–${p.autoscale!.max}`).join(", ")}); at the maximum: ${usd(atMax * HOURS_PER_MONTH)}/month`,
    );
  }
  const onDemandReplicas = base.reduce((n, p) => n + p.onDemand, 0);
  const spotReplicas = base.reduce((n, p) => n + p.spot, 0);
  if (spotReplicas > 0) assumptions.push("Fargate Spot rates float (typically 50–70% below on-demand) and tasks get a two-minute interruption notice");
  assumptions.push("billed per second with a one-minute minimum; priced as running all month (730 h)");

  const arches = [...new Set(base.map((p) => p.arch))];
  const capacity = `fargate${spotReplicas === 0 ? "" : onDemandReplicas === 0 ? "-spot" : "+spot"}${arches.includes("arm64") ? ` (${arches.join("+")})` : ""}`;
  return {
    kind: "priced",
    onDemandReplicas,
    spotReplicas,
    machines: { kind: "task", count: onDemandReplicas + spotReplicas, onDemandCount: onDemandReplicas + spotReplicas },
    estimate: {
      target,
      backend: input.backend ?? "ecs",
      provider: "aws",
      region,
      capacity,
      hourlyUsd,
      monthlyUsd: hourlyUsd * HOURS_PER_MONTH,
      onDemandHourlyUsd: sumHourly(fallback),
      lines,
      assumptions,
      notPriced: [...NOT_PRICED_COMMON],
      priceAsOf: oldestAsOf(lines, "unknown"),
      chosen: false,
    },
  };
}

function fargateLines(input: EstimateFargateInput, plans: readonly ReplicaPlan[], assumptions: string[]): CostLine[] {
  const lines: CostLine[] = [];
  for (const p of plans) {
    const rates = input.rates[p.arch];
    if (!rates) {
      throw new SdxError("SDX_PRICING", `no Fargate ${p.arch} rates for ${input.region}`, {
        fault: "user",
        hint: `Run \`sdx prices refresh --region ${input.region}\` to fetch them, or deploy ${p.service} with placement.arch ${p.arch === "arm64" ? "amd64" : "arm64"}.`,
        details: { region: input.region, arch: p.arch },
      });
    }
    const billed = input.size(p.cpuMillis, p.memoryMiB);
    const size = { vcpu: billed.cpuMillis / 1000, memoryGb: billed.memoryMiB / 1024 };
    if (billed.cpuMillis !== p.cpuMillis || billed.memoryMiB !== p.memoryMiB) {
      assumptions.push(
        `${p.service}: requests ${p.cpuMillis / 1000} vCPU / ${p.memoryMiB} MiB, billed as the Fargate size ${size.vcpu} vCPU / ${size.memoryGb} GB`,
      );
    }
    const arm = p.arch === "arm64" ? " ARM" : "";
    const storageGb = Math.max(0, p.ephemeralMiB / 1024 - FARGATE_FREE_EPHEMERAL_GIB);
    const add = (n: number, capacity: "on-demand" | "spot", vcpu: CatalogRate, memory: CatalogRate): void => {
      if (n === 0) return;
      lines.push(costLine(`Fargate${arm} vCPU (${capacity})`, n * size.vcpu, "vCPU", vcpu.usd, vcpu.provenance, p.service));
      lines.push(costLine(`Fargate${arm} memory (${capacity})`, n * size.memoryGb, "GB", memory.usd, memory.provenance, p.service));
    };
    add(p.onDemand, "on-demand", rates.vcpu, rates.memory);
    if (p.spot > 0) {
      if (rates.spotVcpu && rates.spotMemory) add(p.spot, "spot", rates.spotVcpu, rates.spotMemory);
      else {
        assumptions.push(`${p.service}: no Fargate Spot rate for ${input.region}; spot replicas priced at on-demand rates`);
        add(p.spot, "on-demand", rates.vcpu, rates.memory);
      }
    }
    if (storageGb > 0) {
      const rate = rates.ephemeralStorage;
      if (!rate) {
        assumptions.push(`${p.service}: ephemeral storage above ${FARGATE_FREE_EPHEMERAL_GIB} GB is not priced (no rate for ${input.region})`);
      } else {
        lines.push(costLine(`Fargate ephemeral storage over ${FARGATE_FREE_EPHEMERAL_GIB} GB`, p.replicas * storageGb, "GB", rate.usd, rate.provenance, p.service));
      }
    }
  }
  return lines;
}
