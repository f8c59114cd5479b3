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

// ---------------------------------------------------------------------------------------------
// Secrets inside commands

/** Configuration parameters whose value is a secret (CONFIG SET, SENTINEL SET / CONFIG SET). */
const SECRET_PARAMS = [
  'requirepass',
  'masterauth',
  'auth-pass',
  'sentinel-pass',
  'tls-key-file-pass',
  'tls-client-key-file-pass',
]
const SECRET_PARAM_SET = new Set(SECRET_PARAMS)
/** ACL rules that carry a password or its hash: >pw, <pw, #hash, !hash. */
const ACL_SECRET_RULE = /^[<>#!]/

function isWord(arg: string | undefined, word: string): boolean {
  return arg !== undefined && arg.toLowerCase() === word
}

/**
 * A command's arguments with the secrets masked: the password of AUTH, HELLO ... AUTH and MIGRATE
 * ... AUTH / AUTH2, the value of CONFIG SET requirepass / masterauth (and the other secret
 * parameters, also through SENTINEL), and the >pw <pw #hash !hash rules of ACL SETUSER. User names
 * are kept. Anything that shows command arguments (slowlog, MONITOR lines, reports) uses this.
 */
export function redactCommandArgs(args: readonly string[]): string[] {
  const out = args.slice()
  const name = (args[0] ?? '').toLowerCase()
  const mask = (i: number) => {
    if (i < out.length) out[i] = MASK
  }
  if (name === 'auth') {
    // AUTH password | AUTH username password
    if (out.length === 2) mask(1)
    else for (let i = 2; i < out.length; i++) mask(i)
  } else if (name === 'hello') {
    for (let i = 2; i < out.length; i++) {
      if (isWord(out[i], 'auth')) {
        mask(i + 2)
        i += 2
      } else if (isWord(out[i], 'setname')) i += 1
    }
  } else if (name === 'migrate') {
    // MIGRATE host port key db timeout [COPY] [REPLACE] [AUTH pw] [AUTH2 user pw] [KEYS key ...]
    for (let i = 6; i < out.length && !isWord(out[i], 'keys'); i++) {
      if (isWord(out[i], 'auth')) {
        mask(i + 1)
        i += 1
      } else if (isWord(out[i], 'auth2')) {
        mask(i + 2)
        i += 2
      }
    }
  } else if (name === 'config' && isWord(out[1], 'set')) {
    for (let i = 2; i + 1 < out.length; i += 2) if (SECRET_PARAM_SET.has(out[i].toLowerCase())) mask(i + 1)
  } else if (name === 'sentinel') {
    for (let i = 2; i + 1 < out.length; i++) if (SECRET_PARAM_SET.has(out[i].toLowerCase())) mask(++i)
  } else if (name === 'acl' && isWord(out[1], 'setuser')) {
    for (let i = 3; i < out.length; i++) if (ACL_SECRET_RULE.test(out[i])) out[i] = `${out[i][0]}${MASK}`
  }
  return out
}

// The same rules for commands written out as text (MONITOR lines, redis-cli style, reports): a
// token is "quoted \"text\"", 'quoted', or a run of non-blanks; a masked token keeps its quotes.
const TOKEN = String.raw`(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|[^\s"'][^\s]*)`
const TOKEN_RE = new RegExp(TOKEN, 'g')
/** A command word, bare or in quotes (MONITOR quotes every argument). */
const word = (w: string) => String.raw`(?:"${w}"|'${w}'|\b${w}\b)`
const SP = String.raw`[ \t]+`

function quoteOf(token: string): string {
  return token[0] === '"' || token[0] === "'" ? token[0] : ''
}

function maskToken(token: string): string {
  const quote = quoteOf(token)
  return `${quote}${MASK}${quote}`
}

const SECRET_PARAM_TEXT = new RegExp(
  String.raw`(${word(`(?:${SECRET_PARAMS.join('|')})`)}${SP})(${TOKEN})`,
  'gi',
)
const AUTH2_TEXT = new RegExp(String.raw`(${word('AUTH2')}${SP}${TOKEN}${SP})(${TOKEN})`, 'gi')
/** A regular expression source matching `word` in any case (where the rest of the pattern may not). */
function anyCase(word: string): string {
  return word.replace(/[a-z]/gi, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`)
}
// AUTH pw | AUTH user pw | HELLO 3 AUTH user pw | MIGRATE ... AUTH pw [KEYS ...]: with two tokens
// (the second not MIGRATE's KEYS) the first is the user name. A lower-case `auth` is a command in
// quotes, at the start of a line or after HELLO n; elsewhere it is prose ("IAM auth tokens").
const AUTH_WORD = [
  `"${anyCase('auth')}"`,
  `'${anyCase('auth')}'`,
  String.raw`\bAUTH\b`,
  String.raw`^[ \t]*${anyCase('auth')}\b`,
  String.raw`\b${anyCase('hello')}[ \t]+\d+[ \t]+${anyCase('auth')}\b`,
].join('|')
const AUTH_TEXT = new RegExp(
  String.raw`((?:${AUTH_WORD})${SP})(${TOKEN})(?:(${SP})(?!["']?${anyCase('keys')}\b)(${TOKEN}))?`,
  'gm',
)
const ACL_SETUSER_TEXT = new RegExp(
  String.raw`(${word('ACL')}${SP}${word('SETUSER')}${SP}${TOKEN})([^\n]*)`,
  'gi',
)

/** Mask the secrets of commands written out in `text` (see redactCommandArgs for which). */
function redactCommandText(text: string): string {
  return text
    .replace(SECRET_PARAM_TEXT, (_m, head: string, value: string) => head + maskToken(value))
    .replace(AUTH2_TEXT, (_m, head: string, value: string) => head + maskToken(value))
    .replace(AUTH_TEXT, (_m, head: string, first: string, sp?: string, second?: string) =>
      second !== undefined ? `${head}${first}${sp}${maskToken(second)}` : `${head}${maskToken(first)}`,
    )
    .replace(
      ACL_SETUSER_TEXT,
      (_m, head: string, rules: string) =>
        head +
        rules.replace(TOKEN_RE, (token) => {
          const quote = quoteOf(token)
          const body = token.slice(quote.length)
          return ACL_SECRET_RULE.test(body) ? `${quote}${body[0]}${MASK}${quote}` : token
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// Text

// A whitespace- and quote-delimited token holding `scheme://` (matched from the token's start only,
// so that long tokens cost linear time).
const URL_TOKEN = /(?<![^\s"'<>])[^\s"'<>]*:\/\/[^\s"'<>]*/g
const SCHEME = /[a-z][a-z0-9+.-]*:\/\//i

/**
 * scheme://user:password@host: the password runs to the last '@' of the token ('/' and '@' may be
 * in it) and is masked. scheme://name@host is left alone: redis-cli reads it as a password, and
 * those are registered as secrets when parsed, but `user@` in kvtop's own descriptions
 * (describeEndpoint) is a user name.
 */
function maskUrlPasswords(token: string): string {
  const m = SCHEME.exec(token)
  if (!m) return token
  const start = m.index + m[0].length
  const at = token.lastIndexOf('@')
  if (at < start) return token
  const colon = token.indexOf(':', start)
  if (colon < 0 || colon > at) return token
  return `${token.slice(0, colon)}:${MASK}${token.slice(at)}`
}
const KEY_VALUE =
  /\b(password|passwd|pass|auth|token|secret|authtoken|masterauth|requirepass)(["']?\s*[:=]\s*["']?)([^\s"',}&]+)/gi
const AWS_SIG = /\b(X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token)=([^&\s"']+)/gi

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
  out = out.replace(URL_TOKEN, maskUrlPasswords)
  out = out.replace(KEY_VALUE, (_m, key: string, sep: string) => `${key}${sep}${MASK}`)
  out = out.replace(AWS_SIG, (_m, key: string) => `${key}=${MASK}`)
  return redactCommandText(out)
}

/** Redact every string inside a JSON-able value (for reports and bundles). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T
  if (value && typeof value === 'object' && !(value instanceof Buffer)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      if (/password|secret|token|credential/i.test(k) && typeof v === 'string') out[k] = MASK
      else if (/^(args|argv)$/.test(k) && Array.isArray(v) && v.every((a) => typeof a === 'string'))
        out[k] = redactDeep(redactCommandArgs(v))
      else out[k] = redactDeep(v)
    }
    return out as T
  }
  return value
}
