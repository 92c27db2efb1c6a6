/** Identifies one backend object. `kind` is the backend's own word (Deployment, service, task-definition…). */
export interface ResourceRef {
  readonly kind: string;
  readonly name: string;
  /** The app service this object belongs to, when it belongs to one. */
  readonly service?: string;
}

/** A rendered, desired object. `body` is plain JSON except for `Redacted` secret values. */
export interface Resource extends ResourceRef {
  readonly body: Readonly<Record<string, unknown>>;
}

/** An object observed on the backend. */
export interface LiveResource extends Resource {
  /** Carries sdx's ownership labels for this app. Objects that don't are never changed or deleted. */
  readonly owned: boolean;
  /** The backend's own version token, for optimistic concurrency (Swarm version index, ECS revision). */
  readonly version?: string | number;
}

/** `kind/name`, the identity used to pair desired and live objects. */
export const resourceKey = (r: ResourceRef): string => `${r.kind}/${r.name}`;
