import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MonitorEngine } from '../../../src/metrics/engine.js'
import { openMonitor } from '../../../src/metrics/service.js'
import type { Snapshot } from '../../../src/metrics/types.js'
import { startSandbox, type TestSandbox } from '../../helpers/sandbox.js'

/** `top`'s latency chart draws p99 from the monitor's history: per node, and the worst node's. */
describe('p99 latency as a series', () => {
  let sb: TestSandbox
  let engine: MonitorEngine
  beforeAll(async () => {
    sb = await startSandbox({ shards: 0, replicas: 1 })
    engine = await openMonitor({ url: sb.url }, { intervalMs: 250 })
  })
  afterAll(async () => {
    await engine?.stop()
    await sb?.down()
  })

  it("each node's p99 and the cluster's (the worst node's) are kept round by round", async () => {
    const primary = await sb.client()
    const replica = await sb.client(sb.summary.nodes[1].port)
    // Until a round has p99 figures on both nodes: commands ran on each between two rounds.
    let snap: Snapshot | undefined
    for (let round = 0; round < 200; round++) {
      await primary.set('k', 'v')
      await replica.get('k')
      snap = await engine.poll()
      if (snap.nodes.every((n) => n.p99Us !== undefined)) break
    }
    expect(snap!.nodes.every((n) => n.p99Us !== undefined)).toBe(true)
    for (const n of snap!.nodes)
      expect(engine.history.last(`${n.id}:p99`)).toEqual({ at: snap!.at, value: n.p99Us })
    expect(engine.history.last('cluster:p99')).toEqual({
      at: snap!.at,
      value: Math.max(...snap!.nodes.map((n) => n.p99Us!)),
    })
  })
})
