import { describe, expect, it } from 'vitest'
import { checkResumeOptions } from '../../../../src/ops/migrate/checkpoint.js'
import { chooseMode } from '../../../../src/ops/migrate/copy-mode.js'
import { copyLogical, readHeads } from '../../../../src/ops/migrate/logical-copy.js'
import type { DumpCompatibility } from '../../../../src/ops/migrate/plan-facts.js'
import { streamSupport, type StreamSupport } from '../../../../src/ops/migrate/stream-support.js'
import type { Checkpoint } from '../../../../src/ops/migrate/types.js'
import type { RawRespConnection } from '../../../../src/wire/connection.js'
import type { CommandArg } from '../../../../src/wire/encode.js'
import type { Reply } from '../../../../src/wire/reply-parser.js'

const b = (s: string) => Buffer.from(s)
const text = (args: readonly CommandArg[]) =>
  args.map((a) => (Buffer.isBuffer(a) ? a.toString('latin1') : String(a))).join(' ')
const flat = (o: Record<string, string | number | null>) =>
  Object.entries(o).flatMap(([k, v]) => [b(k), typeof v === 'string' ? b(v) : v])

/**
 * A Valkey source's stream: entries 3-0 and 5-0 left of 1-0..6-0 (1-0, 2-0 trimmed; 4-0, 6-0
 * deleted); group g delivered up to 5-0 with 1-0 (gone), 4-0 (gone) and 5-0 pending, and a consumer
 * with nothing pending; group h never read.
 */
function source(hHasConsumers = false): RawRespConnection {
  const entries: Record<string, string[]> = { '3-0': ['f', 'v3'], '5-0': ['f', 'v5'] }
  const answer = (args: string[]): Reply => {
    const cmd = args[0] === 'XINFO' ? `XINFO ${args[1]}` : args[0]
    switch (cmd) {
      case 'TYPE':
        return 'stream'
      case 'PEXPIRETIME':
        return -1
      case 'XLEN':
        return 2
      case 'XRANGE':
        return Object.entries(entries)
          .filter(([id]) => (args[2] === '-' ? true : args[2] === args[3] ? id === args[2] : id >= args[2]))
          .map(([id, f]) => [b(id), f.map(b)])
      case 'XINFO STREAM':
        return flat({
          length: 2,
          'last-generated-id': '6-0',
          'max-deleted-entry-id': '6-0',
          'entries-added': 6,
          'recorded-first-entry-id': '3-0',
        })
      case 'XINFO GROUPS':
        return [
          flat({
            name: 'g',
            consumers: 3,
            pending: 3,
            'last-delivered-id': '5-0',
            'entries-read': 5,
            lag: 0,
          }),
          flat({
            name: 'h',
            consumers: hHasConsumers ? 3 : 0,
            pending: 0,
            'last-delivered-id': '0-0',
            'entries-read': null,
            lag: 2,
          }),
        ]
      case 'XINFO CONSUMERS':
        return [
          flat({ name: 'alice', pending: 2, idle: 10 }),
          flat({ name: 'bob', pending: 1, idle: 20 }),
          flat({ name: 'carol', pending: 0, idle: 30 }),
        ]
      case 'XPENDING':
        return [
          [b('1-0'), b('alice'), 1000, 2],
          [b('4-0'), b('bob'), 50, 1],
          [b('5-0'), b('alice'), 10, 1],
        ]
      default:
        throw new Error(`unexpected ${args.join(' ')}`)
    }
  }
  const run = (c: readonly CommandArg[]) => answer(text(c).split(' '))
  return {
    pipeline: async (cmds: CommandArg[][]) => cmds.map(run),
    call: async (args: CommandArg[]) => run(args),
  } as unknown as RawRespConnection
}

async function copy(
  streams: StreamSupport,
  hHasConsumers = false,
): Promise<{ writes: string[]; warnings: string[] }> {
  const conn = source(hHasConsumers)
  const heads = await readHeads(conn, [b('s')], true, 'src')
  const writes: string[] = []
  const warnings: string[] = []
  await copyLogical(conn, heads, true, (_k, args) => void writes.push(text(args)), 'src', {
    streams,
    warn: (m) => warnings.push(m),
  })
  return { writes, warnings }
}

describe('migrate --mode logical: streams keep their metadata', () => {
  it('entries, gone pending entries through placeholders, groups with entries-read, every consumer, the PEL with idle times and counts, then XSETID', async () => {
    const { writes, warnings } = await copy(streamSupport('redis', '7.0.15'))
    expect(writes).toEqual([
      'DEL s',
      'XADD s 1-0 kvtop pending entry placeholder',
      'XADD s 3-0 f v3',
      'XADD s 4-0 kvtop pending entry placeholder',
      'XADD s 5-0 f v5',
      'XGROUP CREATE s g 5-0 ENTRIESREAD 5',
      'XGROUP CREATECONSUMER s g alice',
      'XGROUP CREATECONSUMER s g bob',
      'XGROUP CREATECONSUMER s g carol',
      'XCLAIM s g alice 0 1-0 IDLE 1000 RETRYCOUNT 2 FORCE JUSTID',
      'XCLAIM s g bob 0 4-0 IDLE 50 RETRYCOUNT 1 FORCE JUSTID',
      'XCLAIM s g alice 0 5-0 IDLE 10 RETRYCOUNT 1 FORCE JUSTID',
      'XGROUP CREATE s h 0-0',
      // Trimming the head moves no max-deleted-entry-id; XSETID sets it last anyway.
      'XTRIM s MINID 3-0',
      'XDEL s 4-0',
      'XSETID s 6-0 ENTRIESADDED 6 MAXDELETEDID 6-0',
    ])
    expect(warnings).toEqual([])
  })

  it('a target older than 7.0 gets what it can hold, and the run says what it could not set', async () => {
    const { writes, warnings } = await copy(streamSupport('redis', '6.0.16'))
    expect(writes.filter((w) => /ENTRIES|MAXDELETED|CREATECONSUMER|MINID/.test(w))).toEqual([])
    expect(writes).toContain('XGROUP CREATE s g 5-0')
    expect(writes).toContain('XDEL s 1-0 4-0')
    expect(writes.at(-1)).toBe('XSETID s 6-0')
    expect(warnings).toEqual([
      'stream "s": the target cannot set its entries-added, max-deleted-entry-id, entries-read, consumers with nothing pending (an older server version): it keeps values of its own',
    ])
  })

  it('what an older target cannot set is said once, however many groups lack it', async () => {
    const { writes, warnings } = await copy(streamSupport('redis', '6.0.16'), true)
    expect(writes).toContain('XGROUP CREATE s h 0-0')
    expect(warnings).toEqual([
      'stream "s": the target cannot set its entries-added, max-deleted-entry-id, entries-read, consumers with nothing pending (an older server version): it keeps values of its own',
    ])
  })

  it('stream support by engine and version', () => {
    expect(streamSupport('valkey', '7.2.5')).toEqual({ metadata: true, createConsumer: true })
    expect(streamSupport('redis', '6.2.14')).toEqual({ metadata: false, createConsumer: true })
    expect(streamSupport(undefined, undefined)).toEqual({ metadata: true, createConsumer: true })
  })
})

describe('migrate run --mode', () => {
  const unreadable: DumpCompatibility = { source: 11, accepted: 10, readable: false, target: 'redis 7.0.15' }
  const readable: DumpCompatibility = { source: 10, accepted: 11, readable: true, target: 'valkey 8.0.1' }

  it('dump (the default) refuses a target that cannot read the payloads, exit 2, naming --mode logical', () => {
    expect(() => chooseMode('dump', undefined, unreadable)).toThrow(
      "the target (redis 7.0.15) cannot read the source's DUMP payloads: the source writes RDB version 11, the target reads up to 10",
    )
    try {
      chooseMode('dump', undefined, unreadable)
    } catch (err) {
      expect(err).toMatchObject({
        exitCode: 2,
        code: 'dump-version',
        hint: expect.stringContaining('--mode logical'),
      })
    }
    expect(chooseMode('dump', undefined, readable)).toEqual({ mode: 'dump' })
    expect(chooseMode('dump', undefined, { accepted: 10, target: 'redis 7.0.15' })).toEqual({ mode: 'dump' })
  })

  it('auto chooses logical only when it must, and says why; resuming, it keeps the recorded mode', () => {
    expect(chooseMode('auto', undefined, unreadable)).toEqual({
      mode: 'logical',
      reason: 'the target (redis 7.0.15) reads DUMP payloads up to RDB version 10, the source writes 11',
    })
    expect(chooseMode('auto', undefined, readable)).toEqual({
      mode: 'dump',
      reason: "the target (valkey 8.0.1) reads the source's DUMP payloads (RDB version 10)",
    })
    expect(chooseMode('auto', 'logical', readable).mode).toBe('logical')
    expect(chooseMode('logical', undefined, readable)).toEqual({ mode: 'logical' })
  })

  it('a checkpoint resumes with --mode auto whatever mode it records; another explicit mode is refused', () => {
    const c = { mode: 'logical', dbMap: '', finished: false } as Checkpoint
    expect(() => checkResumeOptions('x.ckpt', c, { mode: 'auto' })).not.toThrow()
    expect(() => checkResumeOptions('x.ckpt', c, { mode: 'logical' })).not.toThrow()
    expect(() => checkResumeOptions('x.ckpt', c, {})).toThrow(
      'the checkpoint x.ckpt records --mode logical, not dump',
    )
  })
})
