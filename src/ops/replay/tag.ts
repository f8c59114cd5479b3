import type { CommandBatch } from '../../wire/routed-pipeline.js'
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
  /** In a block: the command's index, -1 for MULTI and EXEC. */
  index?: number
  retried?: boolean
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
