import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  formatBytes,
  formatBytesShort,
  formatCount,
  formatCountShort,
  formatDuration,
  formatDurationShort,
} from '../../../src/format/units.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? sources(p) : /\.tsx?$/.test(name) ? [p] : []
  })
}

describe('one formatter for bytes, counts and durations', () => {
  it('bytes: plain for sentences, short for table cells, the same scale', () => {
    expect([0, 512, 1536, 50_000_000, 5 * 1024 ** 3, 3 * 1024 ** 5].map(formatBytes)).toEqual([
      '0 B',
      '512 B',
      '1.5 KiB',
      '47.7 MiB',
      '5.0 GiB',
      '3.0 PiB',
    ])
    expect([0, 512, 1536, 50_000_000, 1023 * 1024, 5 * 1024 ** 3].map(formatBytesShort)).toEqual([
      '0B',
      '512B',
      '1.5K',
      '47.7M',
      '1023K',
      '5.0G',
    ])
    expect([formatBytes(undefined), formatBytesShort(undefined)]).toEqual(['-', '-'])
  })

  it('counts', () => {
    expect([999, 9999, 12_345, 2_500_000, 3e9].map(formatCount)).toEqual([
      '999',
      '9999',
      '12.3k',
      '2.5M',
      '3.0G',
    ])
    expect([3.25, 42, 1234, 56_789, 2_500_000, undefined].map(formatCountShort)).toEqual([
      '3.3',
      '42',
      '1.2k',
      '57k',
      '2.5M',
      '-',
    ])
  })

  it('durations round to the second before splitting minutes: never "1m60s"', () => {
    expect([42, 59.4, 59.6, 119.6, 125, 7260, NaN, -1].map(formatDuration)).toEqual([
      '42s',
      '59s',
      '1m00s',
      '2m00s',
      '2m05s',
      '2h01m',
      '?',
      '?',
    ])
    expect([0, 0.54, 9.96, 42, 119.6, 7265, undefined].map(formatDurationShort)).toEqual([
      '0.0s',
      '0.5s',
      '10.0s',
      '42s',
      '2m00s',
      '2h01m',
      '-',
    ])
  })

  it('no other byte, count or duration formatter is defined under src/ or commands/', () => {
    const defining = [...sources(join(root, 'src')), ...sources(join(root, 'commands'))]
      .filter((f) => !f.endsWith(join('src', 'format', 'units.ts')))
      .filter((f) =>
        /function (fmt|format|human)(Bytes|Size|Count|Seconds|Duration)\b/.test(readFileSync(f, 'utf8')),
      )
    expect(defining).toEqual([])
  })
})
