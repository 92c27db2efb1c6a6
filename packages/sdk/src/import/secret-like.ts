/** Words that make a name secret wherever they appear. */
const ANYWHERE = new Set(["PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "SECRETS", "CREDENTIAL", "CREDENTIALS"]);
/** Words that make a name secret when they end it (`API_KEY`, but not `KEY_PREFIX`). */
const AT_END = new Set(["PASS", "PW", "TOKEN", "KEY", "APIKEY", "DSN"]);

/**
 * True when an environment variable name suggests a secret value, e.g.
 * `DB_PASSWORD`, `API_KEY`, `GITHUB_TOKEN`, `SECRET_KEY_BASE`, `DBPASSWORD`.
 * `*_FILE` and `*_PATH` names hold a path to a mounted secret, not the secret.
 */
export function looksSecret(name: string): boolean {
  const words = name.toUpperCase().split(/[^A-Z0-9]+/).filter((w) => w !== "");
  const last = words.at(-1);
  if (last === undefined || last === "FILE" || last === "PATH") return false;
  if (words.some((w) => ANYWHERE.has(w))) return true;
  if (AT_END.has(last)) return true;
  return /(PASSWORD|SECRET|TOKEN|APIKEY)$/.test(last);
}

/** `scheme://user:password@host`: the password part, with where it starts, or undefined. */
export function urlPassword(value: string): { readonly start: number; readonly end: number } | undefined {
  // The userinfo ends at the last "@" before the host, so a password may itself hold "@" or ":".
  const m = /\b[A-Za-z][A-Za-z0-9+.-]*:\/\/([^\s/:@]*):([^\s/]+)@[^\s@/]+/.exec(value);
  if (!m || m[2] === undefined || m[2] === "") return undefined;
  // A reference (`${DB_PASSWORD}`) is not a literal credential.
  if (/^\$\{[A-Za-z_][A-Za-z0-9_]*(?:[:?+-][^}]*)?\}$/.test(m[2])) return undefined;
  const start = m.index + m[0].indexOf("://") + 3 + m[1]!.length + 1;
  return { start, end: start + m[2].length };
}

/** Shannon entropy in bits per character. */
function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) h -= (n / s.length) * Math.log2(n / s.length);
  return h;
}

/**
 * True when a literal is a credential by its shape, whatever its name: a URL
 * with a password (`postgres://app:pw@db`), a PEM private key, or a well-known
 * token format (GitHub, Slack, Stripe live keys, AWS access key IDs).
 */
export function looksCredential(value: string): boolean {
  if (urlPassword(value) !== undefined) return true;
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value)) return true;
  return /^(gh[pousr]_[A-Za-z0-9]{20,}|xox[abpr]-[A-Za-z0-9-]{10,}|sk_live_[A-Za-z0-9]{10,}|AKIA[0-9A-Z]{16})$/.test(value);
}

/**
 * True when the value of a variable looks secret: {@link looksCredential}, or a
 * long random-looking string (24+ characters, no spaces, 4+ bits of entropy per
 * character), as generated passwords and API keys are.
 */
export function looksSecretValue(value: string): boolean {
  return looksCredential(value) || (value.length >= 24 && !/\s/.test(value) && entropy(value) >= 4);
}
