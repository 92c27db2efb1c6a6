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
