import { validateApp, type App } from "@sdx/sdk";
import { builtinTargetKinds } from "@sdx/sdk/testing";

// The built-in backends' target kinds: validation knows no kind by itself.
const targetKinds = await builtinTargetKinds();

/** A minimal valid service input with the given resources and extras. */
export function svc(cpu: string | number, memory: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { image: "ghcr.io/acme/x:1.0@sha256:" + "a".repeat(64), resources: { cpu, memory }, ...extra };
}

/** Validates an app document and returns the normalised app, failing loudly on errors. */
export function makeApp(services: Record<string, unknown>, targets: Record<string, unknown> = {}): App {
  const { app, diagnostics } = validateApp({ name: "t", services, targets }, { targetKinds });
  if (!app) throw new Error(`invalid test app: ${JSON.stringify(diagnostics, undefined, 2)}`);
  return app;
}
