import { parseAddress } from './address.js'
import { RespError, type Reply } from './reply-parser.js'

/**
 * What a server's reply means for the operation that sent the command. Every operation that moves
 * data asks this one function, so "was it written?" has one answer everywhere:
 * - ok: the command was applied (any non-error reply);
 * - retryable: refused for now (out of memory, a replica or loading node, a cluster reconfiguring):
 *   the same command may succeed later, after a back-off or once the operator fixed the cause;
 * - redirect: the slot lives elsewhere (MOVED) or is being moved (ASK): send it there;
 * - refused: it will never succeed as sent (permissions, unknown command, a DUMP payload the
 *   target cannot read, a wrong type, a bad argument).
 */
type ReplyClass = 'ok' | 'retryable' | 'redirect' | 'refused'

const RETRYABLE = new Set([
  'OOM',
  'READONLY',
  'LOADING',
  'TRYAGAIN',
  'CLUSTERDOWN',
  'MASTERDOWN',
  'BUSY',
  'NOREPLICAS',
])
const REDIRECT = new Set(['MOVED', 'ASK'])

export function classifyReply(reply: Reply): ReplyClass {
  if (!(reply instanceof RespError)) return 'ok'
  return classifyError(reply)
}

export function classifyError(err: RespError | { message: string }): Exclude<ReplyClass, 'ok'> {
  const prefix = firstWord(err.message)
  if (REDIRECT.has(prefix)) return 'redirect'
  if (RETRYABLE.has(prefix)) return 'retryable'
  return 'refused'
}

/**
 * A refusal that means "this server, or this user, does not allow the command" (as opposed to a
 * bad argument): NOPERM, an unknown or renamed command, a managed service's "not allowed".
 */
export function isCommandRefusal(err: RespError | Error | { message: string }): boolean {
  return COMMAND_REFUSAL.test(err.message)
}

const COMMAND_REFUSAL =
  /^NOPERM|^ERR unknown command|^ERR unknown subcommand|unknown command|not allowed|disabled|this user has no permissions/i

/**
 * Why a command was refused: `acl` (NOPERM: this user may not run it), `unknown-subcommand` (this
 * version lacks the subcommand), `unknown-command` (renamed or disabled), `forbidden` (a server
 * setting or a managed service refuses it). Undefined: not a refusal of the command (a bad argument,
 * the server's state).
 */
type RefusalReason = 'acl' | 'unknown-subcommand' | 'unknown-command' | 'forbidden'

export function refusalReason(message: string): RefusalReason | undefined {
  if (firstWord(message) === 'NOPERM') return 'acl'
  if (/unknown subcommand/i.test(message)) return 'unknown-subcommand'
  if (!COMMAND_REFUSAL.test(message)) return undefined
  if (/^ERR unknown command/i.test(message)) return 'unknown-command'
  return 'forbidden'
}

/**
 * The server's error reply in the message of an error that carries one: the message itself (a
 * RespError, a client library's reply error), or the reply a client library wrapped into its own
 * words (ioredis: `Ready check failed: NOPERM this user has no permissions to run the 'info' command`).
 */
export function replyInMessage(message: string): string {
  if (/^[A-Z][A-Z_-]* /.test(message)) return message
  const wrapped = /^[^:]*: ([A-Z][A-Z_-]* [\s\S]*)$/.exec(message)
  return wrapped ? wrapped[1] : message
}

/** A refusal because the target cannot read a DUMP payload (another RDB version, or corrupt). */
export function isPayloadRefusal(err: RespError | { message: string }): boolean {
  return /DUMP payload version or checksum are wrong|Bad data format/i.test(err.message)
}

export function firstWord(message: string): string {
  const space = message.indexOf(' ')
  return space < 0 ? message : message.slice(0, space)
}

/** The target of a MOVED/ASK error: `MOVED 3999 127.0.0.1:6381`. */
export function parseRedirect(
  err: RespError | { message: string },
): { kind: 'MOVED' | 'ASK'; slot: number; host: string; port: number } | undefined {
  const m = /^(MOVED|ASK) (\d+) (\S+)$/.exec(err.message)
  if (!m) return undefined
  const address = parseAddress(m[3])
  if (!address) return undefined
  return { kind: m[1] as 'MOVED' | 'ASK', slot: Number(m[2]), ...address }
}

export { RespError, parseAddress }
