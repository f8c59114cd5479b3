import { describe, expect, it } from 'vitest'
import { compareStreamIds, nextStreamId, parseScore, sameScore } from '../../../../src/ops/verify/logical.js'
import { b } from './scripted-side.js'

describe('verify: scores are numbers', () => {
  it('parses what servers print: inf, -inf, long and short forms; not a number is NaN, compared as bytes', () => {
    expect(parseScore('inf')).toBe(Infinity)
    expect(parseScore('+inf')).toBe(Infinity)
    expect(parseScore('-inf')).toBe(-Infinity)
    expect(parseScore('1.1000000000000001')).toBe(1.1)
    expect(parseScore('')).toBeNaN()
    expect(sameScore(b('1.0000000000000001e+300'), b('1e+300'))).toBe(true)
    expect(sameScore(b('-0'), b('0'))).toBe(true)
    expect(sameScore(b('1.1'), b('1.1000000000000002'))).toBe(false) // the next double: another score
    expect(sameScore(b('x'), b('x'))).toBe(true)
    expect(sameScore(b('x'), b('y'))).toBe(false)
  })
})

describe('verify: stream metadata', () => {
  it('stream ids order as numbers and page on without exclusive ranges', () => {
    expect(compareStreamIds('10-0', '9-5')).toBe(1)
    expect(compareStreamIds('9-5', '9-10')).toBe(-1)
    expect(compareStreamIds('7-7', '7-7')).toBe(0)
    expect(nextStreamId('5-1')).toBe('5-2')
    expect(nextStreamId('5-18446744073709551615')).toBe('6-0')
  })
})
