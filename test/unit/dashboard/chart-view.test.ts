import { describe, expect, it } from 'vitest'
import { chartLabel } from '../../../src/dashboard/chart-view.js'

describe('chartLabel', () => {
  const series = [
    { title: 'avg', key: 'cluster:latency', color: 'yellow' },
    { title: 'p99 worst node', key: 'cluster:p99', color: 'red' },
  ]

  it('one series: the title alone', () => {
    expect(chartLabel('ops/s cluster · 5m', series.slice(0, 1), 10)).toEqual({ text: 'ops/s cluster · 5m' })
  })

  it('two series: a colored key for each, by first word where the full names do not fit', () => {
    expect(chartLabel('latency usec · 5m', series, 80)).toEqual({
      text: 'latency usec · 5m  {yellow-fg}━{/yellow-fg} avg {red-fg}━{/red-fg} p99 worst node',
      fallback: 'latency usec · 5m',
    })
    expect(chartLabel('latency usec · 5m', series, 40)).toEqual({
      text: 'latency usec · 5m {yellow-fg}━{/yellow-fg} avg {red-fg}━{/red-fg} p99',
      fallback: 'latency usec · 5m',
    })
  })
})
