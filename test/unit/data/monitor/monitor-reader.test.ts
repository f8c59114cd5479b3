import { describe, expect, it } from 'vitest'
import { readMonitorLog, type MonitorCommand } from '../../../../src/data/monitor/monitor-reader.js'

async function* chunks(text: string, size: number): AsyncGenerator<Buffer> {
  const buf = Buffer.from(text, 'latin1')
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size)
}

async function collect(gen: AsyncGenerator<MonitorCommand[]>): Promise<MonitorCommand[]> {
  const out: MonitorCommand[] = []
  for await (const batch of gen) out.push(...batch)
  return out
}

const LOG =
  '1700000000.000001 [0 127.0.0.1:1] "SET" "a\\x00" "1"\n1700000000.500000 [2 127.0.0.1:1] "DEL" "b\\r\\n"\r\n\n1700000001.250000 [0 lua] "INCR" "c"\n'

describe('readMonitorLog', () => {
  it.each([1, 7, 4096])(
    'yields commands with db, timestamp and offsets whatever the chunking (%i-byte chunks)',
    async (size) => {
      const cmds = await collect(readMonitorLog(chunks(LOG, size), { batchSize: 2 }))
      expect(cmds.map((c) => c.args.map((a) => a.toString('latin1')))).toEqual([
        ['SET', 'a\x00', '1'],
        ['DEL', 'b\r\n'],
        ['INCR', 'c'],
      ])
      expect(cmds.map((c) => c.db)).toEqual([0, 2, 0])
      expect(cmds.map((c) => c.timestampMs)).toEqual([1700000000000.001, 1700000000500, 1700000001250])
      expect(cmds.map((c) => c.offset)).toEqual([
        0,
        LOG.indexOf('1700000000.5'),
        LOG.indexOf('1700000001.25'),
      ])
    },
  )

  it('stops after the last complete line of a cut log, naming the offset; or accepts it when allowed', async () => {
    const cut = LOG + '1700000002.000000 [0 127.0.0.1:1] "SET" "d'
    const seen: MonitorCommand[] = []
    await expect(
      (async () => {
        for await (const batch of readMonitorLog(chunks(cut, 16))) seen.push(...batch)
      })(),
    ).rejects.toThrow(`the log ends in the middle of a line (truncated) at byte offset ${LOG.length}`)
    expect(seen).toHaveLength(3)
    let tail: number | undefined
    const all = await collect(
      readMonitorLog(chunks(cut, 16), { allowTruncatedTail: true, onTruncatedTail: (o) => (tail = o) }),
    )
    expect(all).toHaveLength(3)
    expect(tail).toBe(LOG.length)
  })

  it.each(['OK\n', '+OK\r\n'])(
    "skips MONITOR's reply (%j) on the first line, as `redis-cli monitor > file` writes it",
    async (reply) => {
      const cmds = await collect(readMonitorLog(chunks(reply + LOG, 5)))
      expect(cmds.map((c) => c.args[0].toString())).toEqual(['SET', 'DEL', 'INCR'])
      expect(cmds[0].offset).toBe(reply.length)
      await expect(collect(readMonitorLog(chunks(reply, 5)))).resolves.toEqual([])
    },
  )

  it('refuses an OK that is not the first line', async () => {
    await expect(collect(readMonitorLog(chunks(LOG + 'OK\n', 9)))).rejects.toThrow(`not a MONITOR line (`)
  })

  it('names the offset of a line that is not MONITOR output', async () => {
    await expect(collect(readMonitorLog(chunks('1.5 [0 x:1] "PING"\nhello\n', 3)))).rejects.toThrow(
      /not a MONITOR line .* at byte offset 19/,
    )
  })
})
