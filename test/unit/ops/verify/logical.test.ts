import { describe, expect, it } from 'vitest'
import {
  compareStreamIds,
  compareWholeReplies,
  nextStreamId,
  parseScore,
  sameScore,
} from '../../../../src/ops/verify/logical.js'
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

describe('compareWholeReplies: sets compared as sets', () => {
  const m = (...xs: (string | number[])[]) =>
    xs.map((x) => (typeof x === 'string' ? Buffer.from(x) : Buffer.from(x)))
  const BIN = [0x0d, 0x0a, 0x00, 0xff]

  it('the same members in another order are equal, binary members included', () => {
    expect(compareWholeReplies('set', m('a', BIN, 'c'), m('c', 'a', BIN))).toBeUndefined()
  })

  it('a member only in the target, or only in the source, is named with its side', () => {
    expect(compareWholeReplies('set', m('a', 'b'), m('a', 'b', BIN))?.detail).toBe(
      'set member "\\r\\n\\x00\\xff" missing in source',
    )
    expect(compareWholeReplies('set', m('a', BIN, 'c'), m('a', 'c', 'd'))?.detail).toBe(
      'set member "\\r\\n\\x00\\xff" missing in target',
    )
  })

  it("a reply repeating a member never passes for the other side's extra member", () => {
    expect(compareWholeReplies('set', m('a', 'a'), m('a', 'b'))?.detail).toBe(
      'set member "b" missing in source',
    )
  })
})
