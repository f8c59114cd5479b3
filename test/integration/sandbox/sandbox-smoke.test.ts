import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSandbox, type TestSandbox } from '../../helpers/sandbox.js'

describe('test sandbox helper', () => {
  let sb: TestSandbox
  beforeAll(async () => {
    sb = await startSandbox({ shards: 0, replicas: 0 })
  })
  afterAll(async () => sb?.down())

  it('round-trips binary bytes through a real server', async () => {
    const r = await sb.client()
    const key = Buffer.from([0x6b, 0xff, 0x0d, 0x0a, 0x00])
    const value = Buffer.from([0x00, 0xc3, 0x28, 0x0d, 0x0a])
    await r.set(key, value)
    expect(Buffer.compare((await r.getBuffer(key))!, value)).toBe(0)
  })
})
