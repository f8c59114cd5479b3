import { PassThrough, Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { RespCommandWriter } from '../../../src/wire/command-writer.js'
import { BIN, chunks, collect } from '../data/resp/resp-records.js'

describe('RESP command writer', () => {
  it('encodes commands binary-safe; the parser reads back the same arguments', async () => {
    const sink = new PassThrough()
    const out: Buffer[] = []
    sink.on('data', (d: Buffer) => out.push(d))
    const w = new RespCommandWriter(sink, 64)
    const cmds = [
      ['SET', BIN, Buffer.alloc(300, 1)],
      ['DEL', 'x'],
      [Buffer.from('ECHO'), 12345],
    ] as const
    for (const c of cmds) await w.write(c)
    await w.end()
    const parsed = await collect(chunks(Buffer.concat(out), 13))
    expect(parsed.map((r) => (r.kind === 'command' ? r.args.map((a) => a.toString('hex')) : []))).toEqual(
      cmds.map((c) => c.map((a) => (Buffer.isBuffer(a) ? a : Buffer.from(String(a))).toString('hex'))),
    )
    expect(w.stats.commands).toBe(3)
  })

  it('waits for drain when the sink is full', async () => {
    let release: () => void = () => {}
    const slow = new Writable({
      highWaterMark: 16,
      write(_chunk, _enc, cb) {
        release = cb
      },
    })
    const w = new RespCommandWriter(slow, 32)
    const pending = w.write(['SET', 'k', 'x'.repeat(100)])
    expect(pending).toBeInstanceOf(Promise)
    let done = false
    void (pending as Promise<void>).then(() => (done = true))
    await new Promise((r) => setTimeout(r, 20))
    expect(done).toBe(false)
    release()
    await pending
    expect(done).toBe(true)
  })
})
