import type { Reply } from '../../data/resp/reply-parser.js'

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

  static fromCommandReply(reply: Reply): CommandTable {
    const table = new CommandTable()
    const add = (entry: Reply) => {
      if (!Array.isArray(entry) || entry.length < 6) return
      const name = String(entry[0]).toLowerCase()
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

  get size(): number {
    return this.specs.size
  }

  lookup(args: Buffer[]): { name: string; spec: CommandKeySpec | undefined } {
    const name = args[0].toString('latin1').toLowerCase()
    if (args.length > 1) {
      const sub = this.specs.get(`${name}|${args[1].toString('latin1').toLowerCase()}`)
      if (sub) return { name: `${name}|${args[1].toString('latin1').toLowerCase()}`, spec: sub }
    }
    return { name, spec: this.specs.get(name) }
  }

  /** Indexes of the key arguments, or 'movable' when only the server can tell (COMMAND GETKEYS). */
  keyIndexes(args: Buffer[]): number[] | 'movable' | 'unknown' {
    const { spec } = this.lookup(args)
    if (!spec) return 'unknown'
    if (spec.movable) return 'movable'
    if (spec.first <= 0) return []
    const last = spec.last < 0 ? args.length + spec.last : spec.last
    const out: number[] = []
    for (let i = spec.first; i <= last && i < args.length; i += Math.max(1, spec.step)) out.push(i)
    return out
  }
}
