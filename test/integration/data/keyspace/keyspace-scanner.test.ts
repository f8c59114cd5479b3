import { mkdtempSync } from 'node:fs'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Deployment } from '../../../../src/connect/deployment.js'
import { scanNode } from '../../../../src/data/keyspace/scanner.js'
import { dumpPayloadCrcOk } from '../../../../src/data/rdb/dump.js'
import type { OperationEvent, ProgressEvent } from '../../../../src/ops/events.js'
import { createSnapshot } from '../../../../src/ops/snapshot/create.js'
import { SnapshotOutputs } from '../../../../src/ops/snapshot/outputs.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'
import { BIN } from '../../../helpers/snapshot-dataset.js'

describe('keyspace scanner', () => {
  let sb: TestSandbox
  let admin: Redis
  const node = () => ({ host: '127.0.0.1', port: sb.summary.nodes[0].port })

  beforeAll(async () => {
    sb = await startSandbox()
    admin = await sb.admin()
  })
  afterAll(async () => sb?.down())

  async function fill(n: number): Promise<Buffer[]> {
    await admin.flushall()
    const keys = Array.from({ length: n }, (_, i) => Buffer.concat([Buffer.from(`k${i}:`), BIN]))
    for (let i = 0; i < n; i += 500) {
      const p = admin.pipeline()
      for (const k of keys.slice(i, i + 500)) p.set(k, Buffer.concat([BIN, k]), 'PX', 3_600_000)
      await p.exec()
    }
    return keys
  }

  it('reads every key once, binary-safe, with valid DUMP payloads and absolute expiry; --max-ops paces it', async () => {
    const keys = await fill(3000)
    const seen = new Map<string, { payload: Buffer; expireAt: number }>()
    const started = performance.now()
    const result = await scanNode({
      spec: sb.spec,
      node: node(),
      db: 0,
      maxOps: 6000,
      batchKeys: 100,
      sink: {
        key: (k, ks, ke, p, ps, pe, expireAt) => {
          const key = Buffer.from(k.subarray(ks, ke)).toString('hex')
          expect(seen.has(key)).toBe(false)
          seen.set(key, { payload: Buffer.from(p.subarray(ps, pe)), expireAt })
        },
        wait: () => undefined,
      },
    })
    const seconds = (performance.now() - started) / 1000
    expect(result.keys).toBe(3000)
    expect([...seen.keys()].sort()).toEqual(keys.map((k) => k.toString('hex')).sort())
    const one = seen.get(keys[7].toString('hex'))!
    expect(dumpPayloadCrcOk(one.payload)).toBe(true)
    expect(one.expireAt).toBeGreaterThan(Date.now() + 3_500_000)
    // ~6000 DUMP/PEXPIRETIME commands plus SCANs at 6000/s: about a second, not a blink.
    expect(result.commands).toBeGreaterThan(6000)
    expect(seconds).toBeGreaterThan(0.8)
  })

  it('skips keys that vanish between SCAN and DUMP', async () => {
    await fill(4000)
    let flushed = false
    let delivered = 0
    const result = await scanNode({
      spec: sb.spec,
      node: node(),
      db: 0,
      maxOps: 8000,
      batchKeys: 100,
      sink: {
        key: () => {
          delivered++
          if (!flushed) {
            flushed = true
            void admin.flushall()
          }
        },
        wait: () => undefined,
      },
    })
    expect(result.vanished).toBeGreaterThan(0)
    expect(result.keys).toBe(delivered)
    expect(result.keys + result.vanished).toBeLessThanOrEqual(4000)
  })

  it('reports progress (keys, bytes, rate, total from the keyspace) through typed events', async () => {
    await fill(2000)
    const events: OperationEvent[] = []
    const dir = mkdtempSync(join(process.env.KVTOP_TEST_ROOT!, 'scan-'))
    const outputs = SnapshotOutputs.open(join(dir, 'p.rdb'))
    const deployment = await Deployment.connect({ url: sb.url }, { probe: true })
    try {
      const report = await createSnapshot(deployment, outputs, {
        method: 'scan',
        maxOps: 4000,
        progressIntervalMs: 50,
        onEvent: (e) => events.push(e),
      })
      expect(report.keys).toBe(2000)
      expect(report.expires).toBe(2000)
    } finally {
      await deployment.close()
    }
    const progress = events.filter((e): e is ProgressEvent => e.type === 'progress' && e.task === 'snapshot')
    expect(progress.length).toBeGreaterThan(3)
    expect(progress.every((p) => p.total === 2000 && p.unit === 'keys')).toBe(true)
    expect(progress.at(-1)).toMatchObject({ done: 2000 })
    expect(progress.some((p) => (p.rate ?? 0) > 0 && p.etaSeconds !== undefined && (p.bytes ?? 0) > 0)).toBe(
      true,
    )
    expect(events.some((e) => e.type === 'phase' && e.phase === 'scanning')).toBe(true)
  })
})
