import { UsageError } from '../../errors.js'
import type { ReplayOptions } from './options.js'
import { where } from './report.js'
import type { Retries } from './retries.js'
import { parseSelectArg, type LogPosition } from './scan.js'
import { selectArgs, type Sender } from './sender.js'
import type { ReplayItem } from './sources.js'
import type { DbOrigin } from './tag.js'

/**
 * The log's db (its SELECTs, or the db a MONITOR line carries), mapped onto the target's with
 * --db-map, and the standalone connection pointed at it: the first SELECT of a db is sent alone
 * and its reply awaited, so that if the target refuses it nothing meant for that db is sent.
 */
export class LogDbs {
  /** The db the log's last SELECT chose. */
  logDb = 0
  /** The log's db mapped onto the target's (--db-map). */
  logDbMapped = 0
  /** Target dbs a SELECT was accepted for. */
  private readonly knownDbs = new Set([0])
  private selectedAt: LogPosition = { file: '', offset: 0, number: 0 }

  constructor(
    private readonly sender: Sender,
    private readonly retries: Retries,
    private readonly dbMap: ReplayOptions['dbMap'],
  ) {}

  /** A SELECT of the log, command `number`: the db of the commands after it. */
  selected(item: ReplayItem, number: number): void {
    const db = parseSelectArg(item.args[1])
    // The pre-pass refuses it before anything is sent; kept for safety.
    if (db === undefined) throw new UsageError(`invalid SELECT at ${where(item)}`)
    this.logDb = db
    this.logDbMapped = this.dbMap.get(db) ?? db
    this.selectedAt = { file: item.file, offset: item.offset, number }
  }

  /** The target db of a command in source db `db`. */
  mapDb(db: number, item: ReplayItem): number {
    const mapped = this.dbMap.get(db) ?? db
    if (this.sender.cluster && mapped !== 0) {
      // The pre-pass refuses this before anything is sent; kept for safety.
      throw new UsageError(`the command at ${where(item)} is in db ${db}, and a cluster holds only db 0`, {
        code: 'db-not-allowed',
        hint: `Map it with --db-map ${db}:0 (keys from several dbs may then collide).`,
      })
    }
    return mapped
  }

  /**
   * Point the standalone connection at `db`. The first SELECT of a db is sent alone and its reply
   * awaited: if the target refuses it, nothing meant for that db is sent anywhere.
   */
  async selectDb(db: number, origin: DbOrigin): Promise<void> {
    const sender = this.sender
    if (sender.cluster || db === sender.laneDb) return
    if (this.knownDbs.has(db)) {
      const wait = sender.appendTo(sender.selectTag(db, false, origin), selectArgs(db))
      sender.laneDb = db
      if (wait) await wait
      return
    }
    await this.retries.settle()
    sender.appendTo(sender.selectTag(db, true, origin), selectArgs(db))
    sender.laneDb = db
    await this.retries.settle()
    this.knownDbs.add(db)
  }

  /** Where the db of command `number` was chosen: the log's last SELECT, or the command itself. */
  origin(item: ReplayItem, sourceDb: number, number: number): DbOrigin {
    return item.db === undefined && this.selectedAt.number > 0
      ? { ...this.selectedAt, sourceDb, viaSelect: true }
      : { file: item.file, offset: item.offset, number, sourceDb, viaSelect: false }
  }

  /** SWAPDB's two dbs go through the db map like SELECT's. */
  mapSwapdb(args: Buffer[]): Buffer[] {
    const dbMap = this.dbMap
    if (!dbMap.size || args.length !== 3) return args
    const map = (a: Buffer) => {
      const db = parseSelectArg(a)
      return db === undefined ? a : Buffer.from(String(dbMap.get(db) ?? db))
    }
    return [args[0], map(args[1]), map(args[2])]
  }
}
