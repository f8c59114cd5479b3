import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterAll, describe, expect, it } from 'vitest'
import { dumpPayloadCrcOk } from '../../../../src/data/rdb/dump.js'
import { frameArgsAt } from '../../../../src/data/resp/frame-scanner.js'
import { writeRestoreStreams } from '../../../../src/ops/snapshot/restore.js'
import { rdbFile, str } from '../../../helpers/rdb-craft.js'

const dir = mkdtempSync(join(tmpdir(), 'kvtop-restore-streams-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Every command of a RESP stream, as its arguments. */
function commandsOf(stream: Buffer): Buffer[][] {
  const out: Buffer[][] = []
  let at = 0
  while (at < stream.length) {
    const args = frameArgsAt(stream, at)
    out.push(args)
    // The frame's length: its header, then each argument's header, bytes and CR LF.
    at += 3 + String(args.length).length
    for (const a of args) at += 5 + String(a.length).length + a.length
  }
  return out
}

describe('writeRestoreStreams (the RESTORE streams redis-cli --pipe replays in the benchmarks)', () => {
  it('splits the keys over the sinks, every payload with its CRC, binary keys and values byte for byte', async () => {
    const keys = Array.from({ length: 600 }, (_, i) =>
      Buffer.from([0x6b, i >> 8, i & 0xff, 0x00, 0x0d, 0x0a]),
    )
    const values = keys.map((_, i) => Buffer.alloc(i % 7 === 0 ? 2000 : 1 + (i % 150), 0xff - (i % 3)))
    const path = join(dir, 'keys.rdb')
    writeFileSync(
      path,
      rdbFile(9, [{ db: 0, entries: keys.map((key, i) => ({ type: 0, key, value: str(values[i]) })) }]),
    )
    const sinks = [new PassThrough(), new PassThrough()]
    const received = sinks.map(() => [] as Buffer[])
    sinks.forEach((s, n) => s.on('data', (d: Buffer) => received[n].push(d)))
    const stats = await writeRestoreStreams(path, sinks, (key) => key[2] & 1)
    const streams = received.map((parts) => Buffer.concat(parts))
    expect(stats.map((s) => s.commands)).toEqual([300, 300])
    expect(stats.map((s) => s.bytes)).toEqual(streams.map((s) => s.length))
    streams.forEach((stream, n) => {
      const wrong = commandsOf(stream).filter((args) => {
        const i = (args[1][1] << 8) | args[1][2]
        return !(
          args[0].toString() === 'RESTORE' &&
          args[1].equals(keys[i]) &&
          (i & 1) === n &&
          dumpPayloadCrcOk(args[3]) &&
          args[3].subarray(1, args[3].length - 10).equals(str(values[i]))
        )
      })
      expect(wrong).toEqual([])
    })
  })
})
