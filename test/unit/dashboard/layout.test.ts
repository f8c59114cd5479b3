import { describe, expect, it } from 'vitest'
import { computeLayout } from '../../../src/dashboard/layout.js'

describe('layout', () => {
  it('panels tile the screen without overlap', () => {
    for (const [w, h, ext] of [
      [200, 60, false],
      [160, 48, true],
      [120, 30, true],
      [90, 24, false],
    ] as const) {
      const l = computeLayout(w, h, ext)
      expect(l.compact).toBe(false)
      const rects = [
        l.header,
        l.table,
        l.ops!,
        l.latency!,
        ...(l.node ? [l.node] : []),
        l.memory!,
        l.lag!,
        l.slowlog!,
        l.alerts!,
        ...(l.external ? [l.external] : []),
      ]
      for (const r of rects) {
        expect(r.width).toBeGreaterThan(0)
        expect(r.height).toBeGreaterThan(0)
        expect(r.left + r.width).toBeLessThanOrEqual(w)
        expect(r.top + r.height).toBeLessThanOrEqual(h)
      }
      // No two panels overlap, and together they cover the screen.
      for (const a of rects)
        for (const b of rects) {
          if (a === b) continue
          const overlapX = Math.min(a.left + a.width, b.left + b.width) - Math.max(a.left, b.left)
          const overlapY = Math.min(a.top + a.height, b.top + b.height) - Math.max(a.top, b.top)
          expect(overlapX > 0 && overlapY > 0).toBe(false)
        }
      expect(rects.reduce((sum, r) => sum + r.width * r.height, 0)).toBe(w * h)
      expect(Boolean(l.external)).toBe(ext)
    }
  })

  it('small terminals: header, table and two charts; tiny ones the table only', () => {
    const l = computeLayout(80, 20, true, 1, false, { tableRows: 6, panelRows: 3 })
    expect(l.compact).toBe(true)
    // Six rows, the column titles and the border: every node stays on screen.
    expect(l.table).toEqual({ top: 3, left: 0, width: 80, height: 9 })
    expect(l.ops).toEqual({ top: 12, left: 0, width: 40, height: 8 })
    expect(l.latency).toEqual({ top: 12, left: 40, width: 40, height: 8 })
    expect(l.memory).toBeUndefined()
    const tiny = computeLayout(80, 14, true, 1, false, { tableRows: 6 })
    expect(tiny.ops).toBeUndefined()
    expect(tiny.table).toEqual({ top: 3, left: 0, width: 80, height: 11 })
  })

  it('panels sized by content: six nodes take nine rows, the charts the space the table does not need', () => {
    const l = computeLayout(160, 45, false, 2, false, { tableRows: 6, panelRows: 3 })
    expect(l.table).toEqual({ top: 4, left: 0, width: 160, height: 9 })
    expect(l.ops!.height).toBe(22)
    expect(l.node).toEqual({ top: 13, left: 106, width: 54, height: 22 })
    expect(l.memory).toEqual({ top: 35, left: 0, width: 32, height: 10 })
    // Ninety nodes: the table stops at half of the room under the header.
    const big = computeLayout(160, 45, false, 2, false, { tableRows: 90, panelRows: 60 })
    expect(big.table.height).toBe(20)
    expect(big.ops!.height).toBeGreaterThanOrEqual(8)
  })
})
