/**
 * The one place secrets are scrubbed. Every URL, error message, log line and report that might
 * hold a password goes through `redact` before it leaves the process.
 */
const secrets = new Set<string>()

/** Remember a secret (password, token) so that it is scrubbed wherever it shows up later. */
export function registerSecret(secret: string | undefined | null): void {
  // Very short strings would mangle unrelated text; real secrets are longer.
  if (secret && secret.length >= 3) secrets.add(secret)
}

export function forgetSecretsForTests(): void {
  secrets.clear()
}

const MASK = '***'

// scheme://user:password@  or  scheme://password@ (redis URLs allow a bare password)
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^/\s:@]*)(?::([^/\s@]*))?@/gi
const KEY_VALUE =
  /\b(password|passwd|pass|auth|token|secret|authtoken|masterauth|requirepass)(["']?\s*[:=]\s*["']?)([^\s"',}&]+)/gi
const AWS_SIG = /\b(X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token)=([^&\s"']+)/gi
const QUOTED_AUTH = /("AUTH")(\s+)("(?:[^"\\]|\\.)*")(\s+"(?:[^"\\]|\\.)*")?/gi
const AUTH_COMMAND = /\b(AUTH|HELLO\s+\d+\s+AUTH)(\s+)("[^"]*"|\S+)(\s+("[^"]*"|\S+))?/gi

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

export function redact(text: string): string {
  let out = text
  for (const secret of secrets) {
    out = out.replace(new RegExp(escapeRegExp(secret), 'g'), MASK)
    const encoded = encodeURIComponent(secret)
    if (encoded !== secret) out = out.replace(new RegExp(escapeRegExp(encoded), 'g'), MASK)
  }
  out = out.replace(URL_USERINFO, (_m, scheme: string, user: string, pass: string | undefined) => {
    // `user@` carries a name, not a secret (kvtop parses it as the ACL user).
    if (pass === undefined) return `${scheme}${user}@`
    return `${scheme}${user}:${MASK}@`
  })
  out = out.replace(KEY_VALUE, (_m, key: string, sep: string) => `${key}${sep}${MASK}`)
  out = out.replace(AWS_SIG, (_m, key: string) => `${key}=${MASK}`)
  out = out.replace(QUOTED_AUTH, (_m, cmd: string, sp: string, first: string, rest: string | undefined) =>
    rest ? `${cmd}${sp}${first} "${MASK}"` : `${cmd}${sp}"${MASK}"`,
  )
  out = out.replace(AUTH_COMMAND, (_m, cmd: string, sp: string, first: string, rest: string | undefined) =>
    rest ? `${cmd}${sp}${first} ${MASK}` : `${cmd}${sp}${MASK}`,
  )
  return out
}

/** Redact every string inside a JSON-able value (for reports and bundles). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T
  if (value && typeof value === 'object' && !(value instanceof Buffer)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      out[k] = /password|secret|token|credential/i.test(k) && typeof v === 'string' ? MASK : redactDeep(v)
    }
    return out as T
  }
  return value
}
