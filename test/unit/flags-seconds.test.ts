import { describe, expect, it } from 'vitest'
import { parseDecimal, parseSeconds, seconds, toMs } from '../../src/flags.js'
import { toKvtopError } from '../../src/error-mapping.js'
import { flagProbe, parseWith } from '../helpers/flag-probe.js'

describe('parseSeconds: every time flag reads seconds the same way', () => {
  it('takes whole and fractional seconds', () => {
    expect(parseSeconds('5', 'timeout')).toBe(5)
    expect(parseSeconds('0.5', 'timeout')).toBe(0.5)
    expect(parseSeconds('.25', 'timeout')).toBe(0.25)
    expect(parseSeconds(' 2.5 ', 'timeout')).toBe(2.5)
    expect(parseSeconds('0', 'stall-timeout')).toBe(0)
    expect(toMs(0.0015)).toBe(2)
  })

  it.each(['-1', 'abc', '', '1e3', '0x10', 'Infinity', '5s', '1,5', 'NaN'])(
    'refuses %j naming the flag and what it expects',
    (value) => {
      expect(() => parseSeconds(value, 'pass-interval')).toThrow(
        `invalid --pass-interval '${value}': expected seconds 0 or more, fractions allowed (e.g. 1.5)`,
      )
    },
  )

  it('bounds: positive refuses 0, min/max name the range', () => {
    expect(() => parseSeconds('0', 'timeout', { positive: true })).toThrow(
      "invalid --timeout '0': expected seconds more than 0, fractions allowed (e.g. 1.5)",
    )
    expect(() => parseSeconds('0.05', 'interval', { min: 0.1, max: 3600 })).toThrow(
      "invalid --interval '0.05': expected seconds from 0.1 to 3600, fractions allowed (e.g. 1.5)",
    )
    expect(() => parseSeconds('3601', 'interval', { min: 0.1, max: 3600 })).toThrow(/from 0.1 to 3600/)
    expect(parseSeconds('3600', 'interval', { min: 0.1, max: 3600 })).toBe(3600)
  })
})

describe('parseDecimal: percents read like seconds', () => {
  it('names the unit and the range', () => {
    expect(parseDecimal('92.5', 'memory-limit', 'a percent', { min: 1, max: 100 })).toBe(92.5)
    expect(() => parseDecimal('150', 'memory-limit', 'a percent', { min: 1, max: 100 })).toThrow(
      "invalid --memory-limit '150': expected a percent from 1 to 100, fractions allowed (e.g. 1.5)",
    )
  })
})

const Probe = flagProbe({
  wait: seconds({ description: 'Seconds to wait', default: 60 }),
  timeout: seconds({ description: 'Timeout', positive: true }),
})
const parse = (argv: string[]) => parseWith(Probe, argv)

describe('seconds(): a typed oclif flag', () => {
  it('gives numbers, the default when absent, undefined without one', async () => {
    expect(await parse([])).toEqual({ wait: 60 })
    expect(await parse(['--wait', '1.5', '--timeout', '0.25'])).toEqual({ wait: 1.5, timeout: 0.25 })
  })

  it('a bad value is a usage error (exit 2) with the parser message alone, not oclif wrapping', async () => {
    const err = await parse(['--timeout', '-3']).catch((e: unknown) => e)
    const mapped = toKvtopError(err)
    expect(mapped.exitCode).toBe(2)
    expect(mapped.message).toBe(
      "invalid --timeout '-3': expected seconds more than 0, fractions allowed (e.g. 1.5)",
    )
  })

  it('shows its unit and default in help', () => {
    expect(Probe.flags.wait.helpValue).toBe('<seconds>')
    expect(Probe.flags.wait.default).toBe(60)
  })
})
