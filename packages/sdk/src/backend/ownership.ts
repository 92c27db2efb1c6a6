/**
 * Ownership labels. Every object sdx creates carries them; an object without
 * `LABEL_APP` = this app's name (and `LABEL_MANAGED_BY` = sdx) is not sdx's to touch.
 */
export const LABEL_MANAGED_BY = "app.kubernetes.io/managed-by";
export const MANAGED_BY_VALUE = "sdx";
export const LABEL_APP = "sdx.dev/app";
export const LABEL_SERVICE = "sdx.dev/service";
/** The service revision (12 hex) that produced the object. */
export const LABEL_REVISION = "sdx.dev/revision";

/** The labels that mark an object as owned by `app` (and `service`, when given). */
export function ownershipLabels(app: string, service?: string, revision?: string): Record<string, string> {
  return {
    [LABEL_MANAGED_BY]: MANAGED_BY_VALUE,
    [LABEL_APP]: app,
    ...(service === undefined ? {} : { [LABEL_SERVICE]: service }),
    ...(revision === undefined ? {} : { [LABEL_REVISION]: revision }),
  };
}

/** True when labels say sdx created the object for `app`. */
export function isOwnedBy(labels: Readonly<Record<string, string>> | undefined, app: string): boolean {
  return labels?.[LABEL_MANAGED_BY] === MANAGED_BY_VALUE && labels[LABEL_APP] === app;
}
