import { describe, expect, it } from 'vitest'
import { chartData, chartScale, sparkline } from '../../../src/dashboard/charts.js'

describe('charts', () => {
  it('sparklines, chart data and scales', () => {
    expect(sparkline([0, 1, 2, 4, 8], 10)).toBe('▁▂▃▅█')
    expect(sparkline([0, 0], 10)).toBe('▁▁')
    expect(sparkline([1, 2, 3], 2)).toBe('▆█')
    expect(chartData([], 60_000)).toEqual({ x: ['', ''], y: [0, 0] })
    expect(chartData([{ at: 0, value: 5 }], 60_000).y).toEqual([0, 5])
    expect(chartScale(150_000)).toEqual({ divisor: 1e3, suffix: ' (k)' })
    expect(chartScale(900)).toEqual({ divisor: 1, suffix: '' })
  })
})
