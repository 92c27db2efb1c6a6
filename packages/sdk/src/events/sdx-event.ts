import type { SdxErrorData } from "../errors/sdx-error.js";
import type { ActionKind, PlanSummary } from "../plan/plan.js";
import type { ResourceRef } from "../plan/resource.js";
import type { Diagnostic } from "../validation/diagnostic.js";

/** What a long operation reports as it goes. A tagged union on `kind`; every variant names its target. */
export type SdxEvent =
  | { readonly kind: "target-selected"; readonly target: string; readonly backend: string; readonly reason: string }
  | { readonly kind: "target-unreachable"; readonly target: string; readonly error: SdxErrorData }
  | { readonly kind: "plan-ready"; readonly target: string; readonly summary: PlanSummary; readonly mode: "live" | "render-only" }
  | { readonly kind: "diagnostic"; readonly target?: string; readonly diagnostic: Diagnostic }
  | { readonly kind: "action-started"; readonly target: string; readonly action: ActionKind; readonly resource: ResourceRef }
  | { readonly kind: "action-succeeded"; readonly target: string; readonly action: ActionKind; readonly resource: ResourceRef }
  | { readonly kind: "action-failed"; readonly target: string; readonly action: ActionKind; readonly resource: ResourceRef; readonly error: SdxErrorData }
  | {
      readonly kind: "rollout-progress";
      readonly target: string;
      readonly service: string;
      readonly desired: number;
      readonly updated: number;
      readonly ready: number;
      /** Backend words for what is happening, e.g. "2 of 3 updated replicas available". */
      readonly message?: string;
    }
  | { readonly kind: "rollout-succeeded"; readonly target: string; readonly service: string }
  | { readonly kind: "rollout-failed"; readonly target: string; readonly service: string; readonly reason: string }
  | { readonly kind: "rollback-started"; readonly target: string; readonly service: string; readonly reason: string }
  | { readonly kind: "rollback-finished"; readonly target: string; readonly service: string; readonly succeeded: boolean }
  | { readonly kind: "spot-fallback"; readonly target: string; readonly service: string; readonly reason: string }
  | { readonly kind: "build-started"; readonly target?: string; readonly service: string; readonly repository: string }
  | { readonly kind: "build-progress"; readonly target?: string; readonly service: string; readonly message: string }
  | {
      readonly kind: "build-finished";
      readonly target?: string;
      readonly service: string;
      /** `repository@sha256:…` */
      readonly image: string;
      /** Blobs uploaded; absent when the image was not pushed (a plan). */
      readonly uploaded?: number;
      readonly bytesUploaded?: number;
    }
  | { readonly kind: "log"; readonly target?: string; readonly level: "info" | "warning"; readonly message: string };

/** Receives events. Exceptions thrown by a listener are swallowed: a broken progress UI must not break a deploy. */
export type EventListener = (event: SdxEvent) => void;

/** Calls the listener, never letting it throw into the caller. */
export function emit(listener: EventListener | undefined, event: SdxEvent): void {
  if (!listener) return;
  try {
    listener(event);
  } catch {
    // deliberately ignored, see EventListener
  }
}
