import type { Reply } from '../wire/reply-parser.js'

/** Where a command's keys are, from the server's own COMMAND table (first key, last key, step). */
export interface CommandKeySpec {
  arity: number
  first: number
  last: number
  step: number
  movable: boolean
  write: boolean
}

/**
 * The target's command table, so that routing knows every command the server knows — including
 * new ones and modules' — without a hand-kept list. Container commands (OBJECT, XINFO, MEMORY ...)
 * are looked up as `name|subcommand`.
 */
export class CommandTable {
  private readonly specs = new Map<string, CommandKeySpec>()
  /** Names with subcommands: only these look at their second argument. */
  private readonly containers = new Set<string>()

  static fromCommandReply(reply: Reply): CommandTable {
    const table = new CommandTable()
    const add = (entry: Reply) => {
      if (!Array.isArray(entry) || entry.length < 6) return
      const name = String(entry[0]).toLowerCase()
      const bar = name.indexOf('|')
      if (bar > 0) table.containers.add(name.slice(0, bar))
      const flags = Array.isArray(entry[2]) ? entry[2].map((f) => String(f)) : []
      table.specs.set(name, {
        arity: Number(entry[1]),
        first: Number(entry[3]),
        last: Number(entry[4]),
        step: Number(entry[5]),
        movable: flags.includes('movablekeys'),
        write: flags.includes('write'),
      })
      // Redis 7: element 9 lists subcommands in the same shape.
      if (Array.isArray(entry[9])) for (const sub of entry[9]) add(sub)
    }
    if (Array.isArray(reply)) for (const entry of reply) add(entry)
    return table
  }

  /** Has subcommands (OBJECT, XINFO, CONFIG ...): its key spec depends on its second argument. */
  isContainer(name: string): boolean {
    return this.containers.has(name)
  }

  get size(): number {
    return this.specs.size
  }

  /** `name`: the command's name in lower case, when the caller has it already. */
  lookup(
    args: Buffer[],
    name = args[0].toString('latin1').toLowerCase(),
  ): { name: string; spec: CommandKeySpec | undefined } {
    if (args.length > 1 && this.containers.has(name)) {
      const full = `${name}|${args[1].toString('latin1').toLowerCase()}`
      const sub = this.specs.get(full)
      if (sub) return { name: full, spec: sub }
    }
    return { name, spec: this.specs.get(name) }
  }

  /** Indexes of the key arguments, or 'movable' when only the server can tell (COMMAND GETKEYS). */
  keyIndexes(args: Buffer[], name?: string): number[] | 'movable' | 'unknown' {
    const { spec } = this.lookup(args, name)
    if (!spec) return 'unknown'
    if (spec.movable) return 'movable'
    if (spec.first <= 0) return []
    const last = spec.last < 0 ? args.length + spec.last : spec.last
    const out: number[] = []
    for (let i = spec.first; i <= last && i < args.length; i += Math.max(1, spec.step)) out.push(i)
    return out
  }
}
