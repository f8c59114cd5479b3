import { replyText } from '../data/escape.js'
import { redactCommandArgs } from '../redact.js'

/**
 * A SLOWLOG GET or COMMANDLOG GET reply read into entries (arguments escaped, secrets masked), and
 * the arguments shown again with the server's own marks for what it cut.
 */

export type CommandLogType = 'slow' | 'large-request' | 'large-reply'
/** The COMMANDLOG types that log a size in bytes (`slow` logs a time and is SLOWLOG's log). */
export type LargeLogKind = Exclude<CommandLogType, 'slow'>
export const LARGE_LOG_KINDS: readonly LargeLogKind[] = ['large-request', 'large-reply']

/** One entry as the server returned it, arguments escaped the way redis-cli prints them. */
export interface RawLogEntry {
  id: number
  /** Epoch ms (the server records whole seconds). */
  at: number
  /** slow: execution time in microseconds; large-request / large-reply: bytes. */
  value: number
  /** Arguments, escaped; an argument cut by the server keeps its first 128 bytes (see truncatedArgs). */
  args: string[]
  /** The server kept 31 arguments and replaced the rest with "... (N more arguments)". */
  moreArguments?: number
  /** Arguments the server cut to 128 bytes: index in args and how many bytes were dropped. */
  truncatedArgs?: { index: number; moreBytes: number }[]
  client: string
  clientName?: string
}

const MORE_ARGS = /^\.\.\. \((\d+) more arguments\)$/
const MORE_BYTES = /\.\.\. \((\d+) more bytes\)$/
/** SLOWLOG_ENTRY_MAX_STRING in the server: arguments are cut to this many bytes. */
const MAX_STRING = 128

function asBuffer(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v
  return Buffer.from(v === null || v === undefined ? '' : String(v), 'utf8')
}

function parseArgs(raw: unknown[]): Pick<RawLogEntry, 'args' | 'moreArguments' | 'truncatedArgs'> {
  const args: string[] = []
  const truncated: { index: number; moreBytes: number }[] = []
  let moreArguments: number | undefined
  raw.forEach((value, i) => {
    const buf = asBuffer(value)
    if (i === raw.length - 1 && raw.length > 1) {
      const m = MORE_ARGS.exec(buf.toString('latin1'))
      if (m) {
        moreArguments = Number(m[1])
        return
      }
    }
    if (buf.length > MAX_STRING) {
      const tail = buf.subarray(MAX_STRING).toString('latin1')
      const m = MORE_BYTES.exec(tail)
      if (m && m.index === 0) {
        truncated.push({ index: args.length, moreBytes: Number(m[1]) })
        args.push(replyText(buf.subarray(0, MAX_STRING)))
        return
      }
    }
    args.push(replyText(buf))
  })
  return {
    args,
    ...(moreArguments !== undefined ? { moreArguments } : {}),
    ...(truncated.length ? { truncatedArgs: truncated } : {}),
  }
}

/**
 * A SLOWLOG GET or COMMANDLOG GET reply (RESP2 arrays; bulk strings as Buffers or strings).
 * Redis >= 4 entries have 6 fields (id, time, value, args, client address, client name); older
 * ones 4. Malformed entries are skipped.
 */
export function parseLogEntries(reply: unknown): RawLogEntry[] {
  if (!Array.isArray(reply)) return []
  const out: RawLogEntry[] = []
  for (const item of reply) {
    if (!Array.isArray(item) || item.length < 4) continue
    const id = Number(asBuffer(item[0]).toString())
    const seconds = Number(asBuffer(item[1]).toString())
    const value = Number(asBuffer(item[2]).toString())
    if (!Number.isFinite(id) || !Number.isFinite(seconds) || !Number.isFinite(value)) continue
    const parsed = Array.isArray(item[3]) ? parseArgs(item[3]) : { args: [] }
    // Secrets (AUTH, CONFIG SET requirepass, ACL SETUSER >pw ...) are masked once, here.
    const args = { ...parsed, args: redactCommandArgs(parsed.args) }
    const clientName = item.length > 5 ? replyText(item[5]) : ''
    out.push({
      id,
      at: seconds * 1000,
      value,
      ...args,
      client: item.length > 4 ? replyText(item[4]) : '',
      ...(clientName ? { clientName } : {}),
    })
  }
  return out
}

/** Arguments as one display line: truncation shown the way the server marks it. */
export function formatArgs(entry: Pick<RawLogEntry, 'args' | 'moreArguments' | 'truncatedArgs'>): string {
  const cut = new Map((entry.truncatedArgs ?? []).map((t) => [t.index, t.moreBytes]))
  const parts = redactCommandArgs(entry.args).map((a, i) => {
    const quoted = /^[^\s"'\\]+$/.test(a) ? a : `"${a}"`
    return cut.has(i) ? `${quoted}... (${cut.get(i)} more bytes)` : quoted
  })
  if (entry.moreArguments !== undefined) parts.push(`... (${entry.moreArguments} more arguments)`)
  return parts.join(' ')
}

// ---------------------------------------------------------------------------------------------
