import { toSdxError, type SdxErrorData } from "../errors/sdx-error.js";
import { emit, type EventListener } from "../events/sdx-event.js";
import type { PlannedAction } from "../plan/plan.js";

/** Options for {@link executeActions}. */
export interface ExecuteActionsOptions {
  readonly target: string;
  /** Performs one action against the backend. */
  readonly run: (action: PlannedAction, signal: AbortSignal | undefined) => Promise<void>;
  /**
   * Actions with the same rank have no order between them and run concurrently;
   * lower ranks finish before higher ranks start. @default the action's index (strictly sequential)
   */
  readonly rank?: (action: PlannedAction, index: number) => number;
  /** Actions in flight at once within a rank. @default 4 */
  readonly concurrency?: number;
  readonly onEvent?: EventListener;
  readonly signal?: AbortSignal;
}

/** What {@link executeActions} got done. */
export interface ExecuteActionsResult {
  readonly completed: PlannedAction[];
  readonly failed: { action: PlannedAction; error: SdxErrorData }[];
  /** Not started because of a failure or an abort. */
  readonly remaining: PlannedAction[];
  readonly aborted: boolean;
}

/**
 * Runs plan actions rank by rank with bounded concurrency. On the first
 * failure or abort it lets in-flight actions finish, starts nothing new, and
 * reports exactly what completed, what failed and what remains, so a re-run
 * can converge. No-ops are skipped without events.
 */
export async function executeActions(actions: readonly PlannedAction[], options: ExecuteActionsOptions): Promise<ExecuteActionsResult> {
  const { target, run, onEvent, signal } = options;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const rankOf = options.rank ?? ((_a: PlannedAction, i: number) => i);
  const todo = actions.map((a, i) => ({ a, r: rankOf(a, i) })).filter((x) => x.a.kind !== "no-op");
  const ranks = [...new Set(todo.map((x) => x.r))].sort((x, y) => x - y);
  const completed: PlannedAction[] = [];
  const failed: { action: PlannedAction; error: SdxErrorData }[] = [];
  const started = new Set<PlannedAction>();
  let stop = false;

  for (const r of ranks) {
    if (stop) break;
    const queue = todo.filter((x) => x.r === r).map((x) => x.a);
    const worker = async (): Promise<void> => {
      for (let a = queue.shift(); a; a = queue.shift()) {
        if (stop || signal?.aborted) {
          stop = true;
          return;
        }
        started.add(a);
        emit(onEvent, { kind: "action-started", target, action: a.kind, resource: a.resource });
        try {
          await run(a, signal);
          completed.push(a);
          emit(onEvent, { kind: "action-succeeded", target, action: a.kind, resource: a.resource });
        } catch (e) {
          const error = toSdxError(e, "SDX_BACKEND_ERROR", "backend").toJSON();
          failed.push({ action: a, error });
          emit(onEvent, { kind: "action-failed", target, action: a.kind, resource: a.resource, error });
          stop = true;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  }
  const remaining = todo.map((x) => x.a).filter((a) => !started.has(a));
  return { completed, failed, remaining, aborted: signal?.aborted === true };
}
