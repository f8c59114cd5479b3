import { keySlot, type CommandBatch } from '../../wire/routed-pipeline.js'
import { frameArgsAt } from '../../data/resp/frame-scanner.js'
import type { RespError } from '../../wire/reply-parser.js'
import type { LogPosition } from './scan.js'

/** Where the current db came from: a SELECT in the log, or a command that carries its db (MONITOR). */
export interface DbOrigin extends LogPosition {
  sourceDb: number
  viaSelect: boolean
}

export interface Tag extends LogPosition {
  name: string
  /** Routing slot (0 on a standalone server). */
  slot: number
  /**
   * Where the command's bytes are until its reply came: batch.buf[start..end). The arguments are
   * not kept (holding a million small buffers past their batch costs the garbage collector dearly);
   * the rare command refused for now is copied out of the batch when its reply comes.
   */
  batch?: CommandBatch<Tag>
  start: number
  end: number
  /** The command's bytes, copied out once it was refused for now (to be sent again). */
  bytes?: Buffer
  /** Target db (standalone): a command sent again is sent in it. */
  db: number
  /** A SELECT the replay sent; `alone` when nothing was sent after it before its reply came. */
  select?: { db: number; alone: boolean; origin: DbOrigin }
  block?: Block
  /**
   * Commands sent as the log holds them, one after another in one batch, sharing this tag (no
   * object per command): command i of the batch is the run's (i - first)th. Its own tag is made
   * (commandOfRun) only when its reply needs a look (an error).
   */
  run?: CommandRun
  /** In a block: the command's index, -1 for MULTI and EXEC. */
  index?: number
  retried?: boolean
}

interface CommandRun {
  /** The batch index of its first command. */
  first: number
  offsets: number[]
  numbers: number[]
}

/** Command `index` of `batch`, one of `run`'s, with a tag of its own. */
export function commandOfRun(run: Tag, batch: CommandBatch<Tag>, index: number): Tag {
  const k = index - run.run!.first
  const start = batch.starts[index]
  const end = index + 1 < batch.starts.length ? batch.starts[index + 1] : batch.used
  const args = frameArgsAt(batch.buf, start)
  return {
    file: run.file,
    offset: run.run!.offsets[k],
    number: run.run!.numbers[k],
    name: asciiLower(args[0]),
    // A run on a cluster holds commands whose only key is their first argument.
    slot: run.slot >= 0 ? run.slot : keySlot(args[1]),
    db: run.db,
    batch,
    start,
    end,
  }
}

/** A command name as Redis looks it up: ASCII letters folded, nothing else. */
function asciiLower(name: Buffer): string {
  let out = ''
  for (const c of name) out += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c | 0x20 : c)
  return out
}

export interface BlockItem extends LogPosition {
  args: Buffer[]
  name: string
}

/** A MULTI ... EXEC block, sent whole (and sent whole again when refused for now). */
export interface Block {
  slot: number
  db: number
  items: BlockItem[]
  multi: LogPosition
  exec: LogPosition & { args: Buffer[] }
  /** Errors in reply to MULTI or to a queued command, with the command's index (-1: MULTI). */
  queueErrors: { index: number; err: RespError }[]
  retried?: boolean
}

export interface RetryEntry {
  tag?: Tag
  block?: Block
  err: RespError
  number: number
}
