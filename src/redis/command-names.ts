import { isAdminCommand } from './commands.js'
import type { CommandKeySpec, CommandTable } from './command-table.js'

/** What the replay decides from a command's name alone, worked out once per distinct name. */
export interface CommandName {
  /** In lower case. */
  name: string
  /** Not replayed (CONFIG, SHUTDOWN, REPLICAOF ...). */
  admin: boolean
  /**
   * Sent as the log holds it, with no look at its arguments: not SELECT, MULTI, EXEC, DISCARD,
   * SWAPDB or a command that may act on a whole dataset (FLUSHALL, FLUSHDB, SCRIPT, FUNCTION).
   */
  plain: boolean
  /** Its key spec when the name alone finds it (not a container such as OBJECT or XINFO). */
  spec: CommandKeySpec | undefined
}

const NOT_PLAIN = new Set([
  'select',
  'multi',
  'exec',
  'discard',
  'swapdb',
  'flushall',
  'flushdb',
  'script',
  'function',
])

/** For a name's length (below 16) and its first letter folded (& 31): could it be one of NOT_PLAIN? */
const NOT_PLAIN_START = (() => {
  const table = new Uint8Array(16 * 32)
  for (const name of NOT_PLAIN) table[name.length * 32 + (name.charCodeAt(0) & 31)] = 1
  return table
})()

/**
 * False when the name in buf[start..end) is surely plain, from its length and first byte alone
 * (most names: SET, HSET, INCR, RPUSH ...); true when CommandNames must tell. No lookup.
 */
export function mayNotBePlain(buf: Uint8Array, start: number, end: number): boolean {
  const len = end - start
  // Upper- and lower-case letters agree in their low 5 bits.
  return len > 0 && len < 16 && NOT_PLAIN_START[len * 32 + (buf[start] & 31)] === 1
}

/**
 * Command names met in a log, by their bytes, compared in place (ASCII case folded): a log uses a
 * handful of names, so the per-command cost is a short byte compare, with no string made.
 */
export class CommandNames {
  /** By name length: the names of that length seen so far, lower-cased bytes beside their entry. */
  private readonly byLength: { bytes: Uint8Array; entry: CommandName }[][] = []

  constructor(private readonly table?: CommandTable) {}

  of(buf: Uint8Array, start: number, end: number): CommandName {
    const len = end - start
    const bucket = (this.byLength[len] ??= [])
    outer: for (const known of bucket) {
      const b = known.bytes
      for (let i = 0; i < len; i++) {
        const c = buf[start + i]
        if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== b[i]) continue outer
      }
      return known.entry
    }
    // ASCII case folding only, as Redis looks commands up.
    const bytes = Buffer.from(buf.subarray(start, end))
    for (let i = 0; i < len; i++) if (bytes[i] >= 0x41 && bytes[i] <= 0x5a) bytes[i] |= 0x20
    const name = bytes.toString('latin1')
    const entry: CommandName = {
      name,
      admin: isAdminCommand(name),
      plain: !NOT_PLAIN.has(name),
      spec: this.table?.isContainer(name) ? undefined : this.table?.lookup([], name).spec,
    }
    // Only names a real log would repeat are kept (a garbage log must not grow this without bound).
    if (bucket.length < 64) bucket.push({ bytes, entry })
    return entry
  }
}

/** Is a command's only key its first argument (GET, SET, HSET, DEL k ...)? From its spec and argument count. */
export function onlyKeyIsFirstArgument(spec: CommandKeySpec | undefined, argc: number): boolean {
  if (!spec || spec.movable || spec.first !== 1 || argc < 2) return false
  const last = spec.last < 0 ? argc + spec.last : spec.last
  return last < 1 + Math.max(1, spec.step)
}
