import { describe, expect, it } from 'vitest'
import { compareKeys } from '../../../../src/ops/verify/compare-keys.js'
import type { Endpoints } from '../../../../src/ops/verify/logical.js'
import type { Side } from '../../../../src/ops/verify/side.js'
import { buildDumpPayload } from '../../../../src/data/rdb/dump.js'
import { RDB_TYPE } from '../../../../src/data/rdb/constants.js'
import { RespError, type Reply } from '../../../../src/wire/reply-parser.js'
import { scriptedSide } from './scripted-side.js'

/** A side answering from a table: command name -> reply (per key). */
const side = (label: 'source' | 'target', answer: (cmd: string, key: Buffer) => Reply): Side =>
  scriptedSide(label, (args, key) => answer(args[0].toString(), key))

const settings = { ttlToleranceMs: 1000, chunkElements: 1000, showValues: false }
const key = Buffer.from([0x6b, 0x00, 0x0d, 0x0a, 0xff])
const stringPayload = buildDumpPayload(RDB_TYPE.STRING, Buffer.from([0x01, 0x78]), 10)
/** A list too big to read whole: compared piece by piece, after its length. */
const bigListPayload = (tag: number) =>
  buildDumpPayload(RDB_TYPE.LIST_QUICKLIST_2, Buffer.alloc(600 * 1024, tag), 10)

describe('verify: an error reply is never a value', () => {
  it('PTTL answered with an error on either side fails the comparison, naming the command and the side; never "no expiry"', async () => {
    const ok = side('target', (cmd) => (cmd === 'DUMP' ? stringPayload : 5000))
    const refusing = side('source', (cmd) =>
      cmd === 'DUMP'
        ? stringPayload
        : new RespError("NOPERM this user has no permissions to run the 'pttl' command"),
    )
    const e: Endpoints = { source: refusing, target: ok, sourceDb: 0, targetDb: 0 }
    await expect(compareKeys(e, [key], settings)).rejects.toThrow(
      "PTTL refused on the source: NOPERM this user has no permissions to run the 'pttl' command",
    )
    const okSource = side('source', (cmd) => (cmd === 'DUMP' ? stringPayload : 5000))
    const refusingTarget = side('target', (cmd) =>
      cmd === 'DUMP' ? stringPayload : new RespError('ERR not allowed'),
    )
    const e2: Endpoints = { source: okSource, target: refusingTarget, sourceDb: 0, targetDb: 0 }
    await expect(compareKeys(e2, [key], { ...settings, absoluteTtl: false })).rejects.toThrow(
      'PTTL refused on the target: ERR not allowed',
    )
    const absolute = side('source', (cmd) =>
      cmd === 'DUMP' ? stringPayload : new RespError('ERR proxy refused'),
    )
    await expect(
      compareKeys({ ...e, source: absolute }, [key], { ...settings, absoluteTtl: true }),
    ).rejects.toThrow('PEXPIRETIME refused on the source: ERR proxy refused')
  })

  it('an error reply to DUMP, TYPE (quick mode) or a length command fails too; a nil where a number belongs is not 0', async () => {
    const loading = side('source', () => new RespError('LOADING Redis is loading the dataset in memory'))
    const ok = side('target', (cmd) =>
      cmd === 'DUMP' ? bigListPayload(2) : cmd === 'TYPE' ? 'list' : cmd === 'PTTL' ? -1 : 3,
    )
    await expect(
      compareKeys({ source: loading, target: ok, sourceDb: 0, targetDb: 0 }, [key], settings),
    ).rejects.toThrow('DUMP refused on the source: LOADING')
    await expect(
      compareKeys({ source: loading, target: ok, sourceDb: 0, targetDb: 0 }, [key], {
        ...settings,
        typesOnly: true,
      }),
    ).rejects.toThrow('TYPE refused on the source: LOADING')
    const nilTtl = side('source', (cmd) => (cmd === 'DUMP' ? bigListPayload(1) : cmd === 'PTTL' ? null : 3))
    await expect(
      compareKeys({ source: nilTtl, target: ok, sourceDb: 0, targetDb: 0 }, [key], settings),
    ).rejects.toThrow('PTTL on the source answered null, not an integer')
    const badLen = side('source', (cmd) =>
      cmd === 'DUMP' ? bigListPayload(1) : cmd === 'PTTL' ? -1 : new RespError('NOPERM llen'),
    )
    await expect(
      compareKeys({ source: badLen, target: ok, sourceDb: 0, targetDb: 0 }, [key], settings),
    ).rejects.toThrow('LLEN refused on the source: NOPERM llen')
  })

  it('a payload of a type number kvtop does not know is never equal unless byte-identical, and says why', async () => {
    const unknown = (tag: string) => buildDumpPayload(99, Buffer.from(tag), 10)
    const at = (label: 'source' | 'target', p: Buffer) => side(label, (cmd) => (cmd === 'DUMP' ? p : -1))
    const pair = (a: Buffer, b: Buffer): Endpoints => ({
      source: at('source', a),
      target: at('target', b),
      sourceDb: 0,
      targetDb: 0,
    })
    expect(await compareKeys(pair(unknown('same'), unknown('same')), [key], settings)).toEqual([])
    expect(await compareKeys(pair(unknown('one'), unknown('two')), [key], settings)).toEqual([
      expect.objectContaining({
        category: 'value',
        detail:
          'could not compare: the DUMP payload on the source holds RDB type 99 (RDB version 10), unknown to kvtop',
      }),
    ])
    expect(await compareKeys(pair(stringPayload, unknown('x')), [key], settings)).toEqual([
      expect.objectContaining({
        category: 'value',
        detail:
          'could not compare: the DUMP payload on the target holds RDB type 99 (RDB version 10), unknown to kvtop',
      }),
    ])
  })
})
