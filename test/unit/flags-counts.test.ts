import { describe, expect, it } from 'vitest'
import { count, parseCount } from '../../src/flags.js'
import { toKvtopError } from '../../src/error-mapping.js'
import { flagProbe, parseWith } from '../helpers/flag-probe.js'

describe('parseCount: every count flag reads whole numbers the same way', () => {
  it('takes whole numbers within the bounds', () => {
    expect(parseCount('0', 'replicas', { max: 5 })).toBe(0)
    expect(parseCount(' 5 ', 'replicas', { max: 5 })).toBe(5)
    expect(parseCount('100000', 'batch', { min: 1, max: 100_000 })).toBe(100_000)
  })

  it.each(['-1', 'abc', '', '1.5', '1e3', '0x10', '5k', 'Infinity', '99999999999999999999'])(
    'refuses %j naming the flag and the range',
    (value) => {
      expect(() => parseCount(value, 'parallel', { min: 1 })).toThrow(
        `invalid --parallel '${value}': expected a whole number 1 or more`,
      )
    },
  )

  it('min and max name the range', () => {
    expect(() => parseCount('0', 'batch', { min: 1, max: 100_000 })).toThrow(
      "invalid --batch '0': expected a whole number from 1 to 100000",
    )
    expect(() => parseCount('1025', 'slot-group', { min: 1, max: 1024 })).toThrow(
      "invalid --slot-group '1025': expected a whole number from 1 to 1024",
    )
  })
})

const Probe = flagProbe({
  batch: count({ description: 'Keys per batch', default: 1000, min: 1 }),
  shards: count({ description: 'Shards', min: 1 }),
})
const parse = (argv: string[]) => parseWith(Probe, argv)

describe('count(): a typed oclif flag', () => {
  it('gives numbers, the default when absent, undefined without one', async () => {
    expect(await parse([])).toEqual({ batch: 1000 })
    expect(await parse(['--batch', '50', '--shards', '3'])).toEqual({ batch: 50, shards: 3 })
  })

  it('a bad value is a usage error (exit 2) with the parser message alone', async () => {
    const mapped = toKvtopError(await parse(['--shards', '0']).catch((e: unknown) => e))
    expect(mapped.exitCode).toBe(2)
    expect(mapped.message).toBe("invalid --shards '0': expected a whole number 1 or more")
  })
})
