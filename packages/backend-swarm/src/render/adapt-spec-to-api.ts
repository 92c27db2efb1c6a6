import { compareApiVersions } from "../client/api-version.js";

/** API version that added `Healthcheck.StartInterval` (Docker 25). */
export const START_INTERVAL_API = "1.44";

/**
 * Adds fields that only newer engines understand to a rendered ServiceSpec.
 * Render targets API 1.41; an older engine would reject or silently drop
 * these, so they are added at send time for the negotiated version only.
 * Returns a new object.
 */
export function adaptSpecToApi(spec: Record<string, unknown>, apiVersion: string): Record<string, unknown> {
  if (compareApiVersions(apiVersion, START_INTERVAL_API) < 0) return spec;
  const t = spec.TaskTemplate as { ContainerSpec?: { Healthcheck?: { Interval?: number; StartPeriod?: number } } } | undefined;
  const h = t?.ContainerSpec?.Healthcheck;
  if (!t?.ContainerSpec || !h?.StartPeriod || !h.Interval) return spec;
  // Probe faster during the start period so a service becomes healthy sooner.
  const healthcheck = { ...h, StartInterval: Math.min(h.Interval, 2_000_000_000) };
  return { ...spec, TaskTemplate: { ...t, ContainerSpec: { ...t.ContainerSpec, Healthcheck: healthcheck } } };
}
