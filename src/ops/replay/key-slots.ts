import type { RawRespConnection } from '../../wire/connection.js'
import { RespError } from '../../wire/reply-parser.js'
import { keySlot } from '../../wire/routed-pipeline.js'
import { isCommandRefusal } from '../../wire/classify.js'
import { UsageError } from '../../errors.js'
import type { CommandTable } from '../../redis/command-table.js'
import { where } from './report.js'
import type { LogPosition } from './scan.js'

/** The keys' slots of a command (`keys`: their indexes, when the table locates them), or 'unknown' to the target. */
export type Routed = { keys: number[]; slots: Set<number> } | 'unknown'

/** Where a command's keys are: from the command table, or (movable keys) from the target's COMMAND GETKEYS. */
export class KeySlots {
  /** Since when the seed connection has owed the reply to COMMAND GETKEYS (0: not waiting). */
  seedWaitingSince = 0

  constructor(
    private readonly table: CommandTable,
    private readonly seed: RawRespConnection,
    /** Rejects when the stall watch stops the replay. */
    private readonly stall: Promise<never>,
    private readonly stalled: () => Error | undefined,
  ) {}

  /** Synchronous for every command whose keys the table locates; a promise for movable ones. */
  of(args: Buffer[], item: LogPosition, name?: string): Routed | Promise<Routed> {
    let keyIdx = this.table.keyIndexes(args, name)
    if (keyIdx === 'unknown') return 'unknown'
    if (keyIdx === 'movable') return this.movable(args, item)
    keyIdx = keyIdx.filter((i) => i < args.length)
    return { keys: keyIdx, slots: new Set(keyIdx.map((i) => keySlot(args[i]))) }
  }

  private async movable(args: Buffer[], item: LogPosition): Promise<Routed> {
    // Only the server knows (EVAL, ZUNIONSTORE, XREAD ...): ask it.
    this.seedWaitingSince = Date.now()
    try {
      // A rejection is no reply from the server (a lost connection, a stall): the replay cannot go on.
      const reply = await Promise.race([this.seed.call(['COMMAND', 'GETKEYS', ...args]), this.stall])
      if (!(reply instanceof RespError)) return { keys: [], slots: new Set((reply as Buffer[]).map(keySlot)) }
      if (isCommandRefusal(reply))
        throw new UsageError(
          `cannot find the keys of the command at ${where(item)} (command #${item.number}): the target refuses COMMAND GETKEYS (${reply.message})`,
          {
            code: 'refused',
            hint: 'Routing commands with movable keys (EVAL, ZUNIONSTORE ...) on a cluster needs COMMAND GETKEYS.',
          },
        )
      // The command has no keys (EVAL with numkeys 0), or arguments the server rejects: it gets
      // the server's own reply when sent.
      return { keys: [], slots: new Set() }
    } finally {
      this.seedWaitingSince = 0
    }
  }
}
