import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  ephemeralPortRange,
  findFreePortBlock,
  portBaseWindows,
  type PortRange,
} from '../../../src/sandbox/ports.js'
import { freePort } from '../../helpers/ports.js'

const LINUX: PortRange = { low: 32768, high: 60999 }
const IANA: PortRange = { low: 49152, high: 65535 }

const dir = mkdtempSync(join(tmpdir(), 'kvtop-ports-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Every port of the block (and its bus ports) outside `range` and a valid port number. */
function expectOutside(base: number, count: number, withBus: boolean, range: PortRange): void {
  const ports = Array.from({ length: count }, (_, i) => base + i)
  for (const p of withBus ? [...ports, ...ports.map((x) => x + 10000)] : ports) {
    expect(p, `port ${p} of block ${base}+${count}`).toBeGreaterThanOrEqual(1024)
    expect(p).toBeLessThanOrEqual(65535)
    expect(p < range.low || p > range.high, `port ${p} inside ${range.low}-${range.high}`).toBe(true)
  }
}

const alwaysFree = async () => true

describe('port blocks stay out of the ephemeral range', () => {
  it('with bus ports under Linux defaults: ports and bus ports both below 32768', () => {
    expect(portBaseWindows(3, true, LINUX)).toEqual([[10000, 22765]])
  })

  it('without bus ports: below the range, or above it up to 65535', () => {
    expect(portBaseWindows(3, false, LINUX)).toEqual([
      [10000, 32765],
      [61000, 65533],
    ])
  })

  it('the extremes of the random choice are still outside', async () => {
    for (const range of [LINUX, IANA, { low: 15000, high: 20000 }]) {
      for (const withBus of [true, false]) {
        for (const r of [0, 0.5, 0.999999]) {
          const base = await findFreePortBlock(6, withBus, { range, random: () => r, allFree: alwaysFree })
          expectOutside(base, 6, withBus, range)
        }
      }
    }
  })

  it('two hundred random choices never touch the range', async () => {
    for (let i = 0; i < 200; i++) {
      const base = await findFreePortBlock(9, true, { range: LINUX, allFree: alwaysFree })
      expectOutside(base, 9, true, LINUX)
    }
  })

  it('a taken block is skipped: the next choice is checked again', async () => {
    const tried: number[][] = []
    const values = [0, 0.5]
    const base = await findFreePortBlock(2, true, {
      range: LINUX,
      random: () => values.shift() ?? 0.9,
      allFree: async (ports) => (tried.push(ports), tried.length > 1),
    })
    expect(tried[0]).toEqual([10000, 10001, 20000, 20001])
    expect(base).toBe(tried[1][0])
    expectOutside(base, 2, true, LINUX)
  })

  it('refuses clearly when no block fits outside the range', async () => {
    await expect(
      findFreePortBlock(3, true, { range: { low: 1024, high: 65535 }, allFree: alwaysFree }),
    ).rejects.toThrow(/outside the ephemeral range 1024-65535/)
  })

  it('reads the range from the kernel file, and falls back to the widest usual one', () => {
    const file = join(dir, 'range')
    writeFileSync(file, '40000\t50000\n')
    expect(ephemeralPortRange(file)).toEqual({ low: 40000, high: 50000 })
    writeFileSync(file, 'garbage\n')
    expect(ephemeralPortRange(file)).toEqual({ low: 32768, high: 65535 })
    expect(ephemeralPortRange(join(dir, 'missing'))).toEqual({ low: 32768, high: 65535 })
  })

  it('on this machine: real free ports outside the kernel range, for sandboxes and test servers', async () => {
    const range = ephemeralPortRange()
    expectOutside(await findFreePortBlock(6, true), 6, true, range)
    expectOutside(await freePort(), 1, false, range)
    expectOutside(await freePort(true), 1, true, range)
  })
})
