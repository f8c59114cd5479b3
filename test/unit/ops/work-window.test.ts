import { describe, expect, it } from 'vitest'
import { WorkWindow } from '../../../src/ops/work-window.js'

const tick = () => new Promise((r) => setTimeout(r, 1))

describe('WorkWindow', () => {
  it('keeps at most `size` tasks running and runs them all', async () => {
    const window = new WorkWindow(3)
    let running = 0
    let peak = 0
    let done = 0
    for (let i = 0; i < 20; i++)
      await window.add(async () => {
        running++
        peak = Math.max(peak, running)
        await tick()
        running--
        done++
      })
    await window.drain()
    expect(peak).toBe(3)
    expect(done).toBe(20)
  })

  it('rethrows the first failure from the next add or from drain, never unhandled', async () => {
    const window = new WorkWindow(2)
    await window.add(async () => {
      await tick()
      throw new Error('first')
    })
    // The window is full: this add waits for a place, sees the failure, and throws it.
    await expect(
      window.add(async () => {
        await tick()
        throw new Error('second')
      }),
    ).rejects.toThrow('first')
    await expect(window.add(async () => {})).rejects.toThrow('first')
    await expect(window.drain()).rejects.toThrow('first')
  })
})
