import { describe, expect, it } from 'vitest'
import { parseLatencyLatest } from '../../../src/metrics/latency.js'
import { jsonFixture } from './fixtures.js'

const truncated = jsonFixture<{ slowlog: unknown[]; latency: unknown[] }>(
  'metrics/slowlog-7.0-truncated.json',
)
const debug = jsonFixture<{ slowlog: unknown[]; latency: unknown[] }>('metrics/slowlog-7.0-debug.json')

describe('LATENCY LATEST', () => {
  it('parses the captured reply, and an empty one', () => {
    expect(parseLatencyLatest(debug.latency)).toEqual([
      { event: 'command', at: 1795330553000, latestMs: 20, maxMs: 20 },
    ])
    expect(parseLatencyLatest(truncated.latency)).toEqual([])
  })
})
