import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { IsomorphicFetchHttpLibrary, KubeConfig, RequestContext, type HttpMethod } from "@kubernetes/client-node";
import { SdxError, revealDeep, withRetry } from "@sdx/sdk";
import type { K8sTarget } from "../k8s-target.js";
import { kindInfo } from "../k8s-kinds.js";
import { isRetryableK8sError, K8sApiError, mapK8sError, type K8sRequest, type K8sStatus } from "./map-k8s-error.js";

import { FIELD_MANAGER } from "./field-manager.js";

export { FIELD_MANAGER };

/** Object metadata as sdx reads it. */
export interface KubeMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
  readonly creationTimestamp?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly ownerReferences?: readonly { readonly uid: string; readonly kind: string; readonly name: string; readonly controller?: boolean }[];
  readonly [k: string]: unknown;
}

/** Any Kubernetes object, as plain JSON. */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: KubeMeta;
  readonly [k: string]: unknown;
}

/** Options for {@link K8sClient.apply}. */
export interface ApplyOptions {
  /** Server-side dry run: validated and defaulted, not stored. @default false */
  readonly dryRun?: boolean;
  /** Take over fields other managers own. @default false */
  readonly force?: boolean;
  /** @default "sdx" */
  readonly fieldManager?: string;
}

/**
 * The thin port over the Kubernetes API that the backend needs. Everything it
 * throws is an SdxError; "not found" is a value (`undefined` / `false`).
 */
export interface K8sClient {
  /** The API server address, for messages. */
  readonly server: string;
  /** One cheap request with a short deadline: fails fast with SDX_BACKEND_UNREACHABLE or SDX_BACKEND_AUTH. */
  probe(signal?: AbortSignal): Promise<void>;
  get(kind: string, name: string, namespace: string | undefined, signal?: AbortSignal): Promise<KubeObject | undefined>;
  list(kind: string, namespace: string | undefined, selectors: { labelSelector?: string; fieldSelector?: string }, signal?: AbortSignal): Promise<KubeObject[]>;
  /** Server-side apply. `Redacted` values in the object are revealed here, on the way out. */
  apply(obj: KubeObject, options: ApplyOptions, signal?: AbortSignal): Promise<KubeObject>;
  /** Sets `spec.replicas` through the scale subresource (merge patch). */
  scale(kind: string, name: string, namespace: string, replicas: number, fieldManager: string, signal?: AbortSignal): Promise<void>;
  /** Deletes one object; `uid` makes it a precondition. Resolves false when it was already gone. */
  delete(kind: string, name: string, namespace: string | undefined, options: { uid?: string; propagation?: "Background" | "Foreground" }, signal?: AbortSignal): Promise<boolean>;
}

/** Options for {@link HttpK8sClient}. */
export interface HttpK8sClientOptions {
  /** Deadline of one request. @default 30000 */
  readonly requestTimeoutMs?: number;
  /** Deadline of {@link K8sClient.probe}, which decides "unreachable". @default 3000 */
  readonly probeTimeoutMs?: number;
}

/**
 * Loads the kubeconfig a target names: `target.kubeconfig`, else the default
 * chain ($KUBECONFIG, ~/.kube/config, in-cluster). Missing config or context is
 * SDX_BACKEND_UNREACHABLE at once, so `sdx plan` on a laptop without a cluster
 * falls back to a render-only plan without waiting on a network timeout.
 */
export function loadKubeConfig(target: Pick<K8sTarget, "kubeconfig" | "context">): KubeConfig {
  const kc = new KubeConfig();
  const hint = "Point the target at a cluster: set `kubeconfig` and `context`, or export KUBECONFIG.";
  try {
    if (target.kubeconfig) kc.loadFromFile(target.kubeconfig);
    else {
      const envFiles = (process.env.KUBECONFIG ?? "").split(":").filter(Boolean);
      const inCluster = process.env.KUBERNETES_SERVICE_HOST !== undefined;
      if (envFiles.length === 0 && !existsSync(join(homedir(), ".kube", "config")) && !inCluster) {
        throw new SdxError("SDX_BACKEND_UNREACHABLE", "no kubeconfig found ($KUBECONFIG is unset and ~/.kube/config does not exist)", { fault: "user", hint });
      }
      kc.loadFromDefault();
    }
  } catch (e) {
    if (e instanceof SdxError) throw e;
    throw new SdxError("SDX_BACKEND_UNREACHABLE", `cannot read the kubeconfig${target.kubeconfig ? ` ${target.kubeconfig}` : ""}`, { fault: "user", cause: e, hint });
  }
  if (target.context) {
    if (!kc.getContextObject(target.context)) {
      const names = kc.getContexts().map((c) => c.name);
      throw new SdxError("SDX_BACKEND_UNREACHABLE", `the kubeconfig has no context "${target.context}"`, {
        fault: "user", hint: names.length ? `Contexts: ${names.join(", ")}.` : hint,
      });
    }
    kc.setCurrentContext(target.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new SdxError("SDX_BACKEND_UNREACHABLE", "the kubeconfig's current context names no cluster", { fault: "user", hint });
  }
  return kc;
}

/** {@link K8sClient} over HTTPS, with the client library's authentication and TLS. */
export class HttpK8sClient implements K8sClient {
  readonly server: string;
  readonly #kc: KubeConfig;
  readonly #http = new IsomorphicFetchHttpLibrary();
  readonly #timeout: number;
  readonly #probeTimeout: number;
  /**
   * One connection pool for every request. The client library builds a new
   * undici Agent (TLS context and keep-alive pool) in each
   * `applySecurityAuthentication`, so each request opened its own TLS
   * connection and left it idling: hundreds per rollout wait, all torn down
   * at once on Ctrl-C. The first Agent is kept and reused.
   */
  #dispatcher: ReturnType<RequestContext["getDispatcher"]>;

  constructor(kc: KubeConfig, options: HttpK8sClientOptions = {}) {
    this.#kc = kc;
    this.server = kc.getCurrentCluster()?.server.replace(/\/+$/, "") ?? "";
    this.#timeout = options.requestTimeoutMs ?? 30_000;
    this.#probeTimeout = options.probeTimeoutMs ?? 3_000;
  }

  /** A client for a target's kubeconfig and context. */
  static forTarget(target: Pick<K8sTarget, "kubeconfig" | "context">, options?: HttpK8sClientOptions): HttpK8sClient {
    return new HttpK8sClient(loadKubeConfig(target), options);
  }

  async probe(signal?: AbortSignal): Promise<void> {
    // A namespaced list that anybody authenticated may be denied is a poor probe;
    // /version answers any authenticated (and often anonymous) caller.
    await this.#send({ verb: "get", kind: "Namespace" }, "GET", "/version", {}, undefined, undefined, signal, this.#probeTimeout, 1);
  }

  async get(kind: string, name: string, namespace: string | undefined, signal?: AbortSignal): Promise<KubeObject | undefined> {
    const req: K8sRequest = { verb: "get", kind, name, ...(namespace ? { namespace } : {}) };
    try {
      return (await this.#send(req, "GET", this.#path(kind, namespace, name), {}, undefined, undefined, signal)) as KubeObject;
    } catch (e) {
      if (e instanceof SdxError && (e.cause as K8sApiError | undefined)?.status === 404) return undefined;
      throw e;
    }
  }

  async list(kind: string, namespace: string | undefined, selectors: { labelSelector?: string; fieldSelector?: string }, signal?: AbortSignal): Promise<KubeObject[]> {
    const req: K8sRequest = { verb: "list", kind, ...(namespace ? { namespace } : {}) };
    const items: KubeObject[] = [];
    let cont: string | undefined;
    do {
      const query: Record<string, string> = { limit: "500" };
      if (selectors.labelSelector) query.labelSelector = selectors.labelSelector;
      if (selectors.fieldSelector) query.fieldSelector = selectors.fieldSelector;
      if (cont) query.continue = cont;
      const page = (await this.#send(req, "GET", this.#path(kind, namespace), query, undefined, undefined, signal)) as { items?: KubeObject[]; metadata?: { continue?: string } };
      // List items carry no kind/apiVersion; restore them so callers can treat items like any object.
      const info = kindInfo(kind);
      for (const it of page.items ?? []) items.push({ apiVersion: info.apiVersion, kind, ...it });
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return items;
  }

  async apply(obj: KubeObject, options: ApplyOptions, signal?: AbortSignal): Promise<KubeObject> {
    const kind = obj.kind ?? "";
    const ns = obj.metadata.namespace;
    const req: K8sRequest = { verb: "patch", kind, name: obj.metadata.name, ...(ns ? { namespace: ns } : {}), ...(options.dryRun ? { dryRun: true } : {}) };
    const query: Record<string, string> = { fieldManager: options.fieldManager ?? FIELD_MANAGER };
    if (options.force) query.force = "true";
    if (options.dryRun) query.dryRun = "All";
    // JSON is YAML, and the apply-patch content type is the one SSA accepts.
    const body = JSON.stringify(revealDeep(obj));
    return (await this.#send(req, "PATCH", this.#path(kind, ns, obj.metadata.name), query, body, "application/apply-patch+yaml", signal)) as KubeObject;
  }

  async scale(kind: string, name: string, namespace: string, replicas: number, fieldManager: string, signal?: AbortSignal): Promise<void> {
    const req: K8sRequest = { verb: "patch", kind, name, namespace, subresource: "scale" };
    await this.#send(req, "PATCH", `${this.#path(kind, namespace, name)}/scale`, { fieldManager }, JSON.stringify({ spec: { replicas } }), "application/merge-patch+json", signal);
  }

  async delete(kind: string, name: string, namespace: string | undefined, options: { uid?: string; propagation?: "Background" | "Foreground" }, signal?: AbortSignal): Promise<boolean> {
    const req: K8sRequest = { verb: "delete", kind, name, ...(namespace ? { namespace } : {}) };
    const body = JSON.stringify({
      apiVersion: "v1", kind: "DeleteOptions",
      propagationPolicy: options.propagation ?? "Background",
      ...(options.uid ? { preconditions: { uid: options.uid } } : {}),
    });
    try {
      await this.#send(req, "DELETE", this.#path(kind, namespace, name), {}, body, "application/json", signal);
      return true;
    } catch (e) {
      if (e instanceof SdxError && (e.cause as K8sApiError | undefined)?.status === 404) return false;
      throw e;
    }
  }

  #path(kind: string, namespace: string | undefined, name?: string): string {
    const k = kindInfo(kind);
    const base = k.apiVersion.includes("/") ? `/apis/${k.apiVersion}` : `/api/${k.apiVersion}`;
    const ns = k.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
    return `${base}${ns}/${k.plural}${name ? `/${encodeURIComponent(name)}` : ""}`;
  }

  async #send(
    req: K8sRequest, method: string, path: string, query: Record<string, string>, body: string | undefined,
    contentType: string | undefined, signal: AbortSignal | undefined, timeoutMs = this.#timeout, attempts = 4,
  ): Promise<unknown> {
    const once = async (): Promise<unknown> => {
      const qs = new URLSearchParams(query).toString();
      const ctx = new RequestContext(`${this.server}${path}${qs ? `?${qs}` : ""}`, method as HttpMethod);
      ctx.setHeaderParam("Accept", "application/json");
      if (body !== undefined) {
        ctx.setHeaderParam("Content-Type", contentType ?? "application/json");
        ctx.setBody(body);
      }
      const timer = AbortSignal.timeout(timeoutMs);
      ctx.setSignal(signal ? AbortSignal.any([signal, timer]) : timer);
      try {
        await this.#kc.applySecurityAuthentication(ctx);
        // Headers (tokens) are refreshed per request; the connection pool is not.
        const fresh = ctx.getDispatcher();
        if (fresh) {
          this.#dispatcher ??= fresh;
          ctx.setDispatcher(this.#dispatcher);
        }
        const res = await this.#http.send(ctx).toPromise();
        const text = await res.body.text();
        if (res.httpStatusCode >= 200 && res.httpStatusCode < 300) return text ? JSON.parse(text) : {};
        let status: K8sStatus | undefined;
        try {
          status = JSON.parse(text) as K8sStatus;
        } catch {
          status = undefined;
        }
        throw new K8sApiError(req, res.httpStatusCode, status);
      } catch (e) {
        if (e instanceof K8sApiError) throw e;
        if (signal?.aborted) throw new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user", cause: e });
        if (timer.aborted) throw mapK8sError(e, req, { server: this.server, timedOut: true });
        throw e;
      }
    };
    try {
      return await withRetry(once, { attempts, retryable: isRetryableK8sError, ...(signal ? { signal } : {}), baseDelayMs: 100, maxDelayMs: 2000 });
    } catch (e) {
      throw mapK8sError(e, req, { server: this.server });
    }
  }
}
