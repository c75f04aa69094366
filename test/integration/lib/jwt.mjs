// A tiny JSON Web Token maker for the auth tests (node:crypto only): the
// server accepts HS256 only, so HS512 and "none" exist to be refused.
import crypto from "node:crypto";

/** base64url without padding, of a Buffer or a string (UTF-8). */
export function b64url(data) {
  return Buffer.from(data).toString("base64url");
}

const HMAC = { HS256: "sha256", HS512: "sha512" };

/**
 * makeToken({sub: "alice", exp: now() + 60}, "secret") -> "xxx.yyy.zzz".
 * alg: "HS256" (default), "HS512" (signed with the same secret) or "none"
 * (empty signature). header: extra header members (e.g. {crit: ["x"]}), or
 * members that replace the default ones.
 */
export function makeToken(payload, secret, { alg = "HS256", header = {} } = {}) {
  const h = { alg, typ: "JWT", ...header };
  const input = `${b64url(JSON.stringify(h))}.${b64url(JSON.stringify(payload))}`;
  if (alg === "none") return `${input}.`;
  const hash = HMAC[alg];
  if (!hash) throw new Error(`makeToken: unsupported alg ${alg}`);
  return `${input}.${crypto.createHmac(hash, secret).update(input).digest("base64url")}`;
}

/** The current time as a JWT NumericDate (seconds since the epoch). */
export const now = () => Math.floor(Date.now() / 1000);
