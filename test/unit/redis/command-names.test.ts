import { describe, expect, it } from 'vitest'
import { CommandTable } from '../../../src/redis/command-table.js'
import { CommandNames, mayNotBePlain, onlyKeyIsFirstArgument } from '../../../src/redis/command-names.js'

// COMMAND's reply shape: name, arity, flags, first key, last key, step (, ..., subcommands at 9).
const table = CommandTable.fromCommandReply([
  ['set', -3, ['write'], 1, 1, 1],
  ['del', -2, ['write'], 1, -1, 1],
  ['mset', -3, ['write'], 1, -1, 2],
  ['rename', 3, ['write'], 1, 2, 1],
  ['eval', -3, ['movablekeys'], 0, 0, 0],
  ['object', -2, [], 0, 0, 0, [], [], [], [['object|encoding', 3, [], 2, 2, 1]]],
  ['flushall', -1, ['write'], 0, 0, 0],
])

describe('command names read from log bytes', () => {
  const names = new CommandNames(table)
  const of = (text: string | Buffer) => {
    const b = Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1')
    // Inside a larger buffer, as in a log chunk.
    const buf = Buffer.concat([Buffer.from('xx'), b, Buffer.from('yy')])
    return names.of(buf, 2, 2 + b.length)
  }

  it('folds ASCII case only, and gives one entry per name', () => {
    expect(of('SET')).toBe(of('set'))
    expect(of('sEt')).toBe(of('SET'))
    expect(of('SET').name).toBe('set')
    expect(of('SET').spec?.first).toBe(1)
    // Not letters: no folding onto them ('{' | 0x20 would be '{', '[' would become '{').
    expect(of('SE[').name).toBe('se[')
    expect(of('SE{').name).toBe('se{')
    expect(of(Buffer.from([0xc9, 0x54]))).not.toBe(of(Buffer.from([0xe9, 0x54])))
  })

  it('marks what must be looked into and what is not replayed', () => {
    for (const n of [
      'SELECT',
      'multi',
      'EXEC',
      'discard',
      'SWAPDB',
      'FLUSHALL',
      'flushdb',
      'SCRIPT',
      'FUNCTION',
    ])
      expect(of(n).plain).toBe(false)
    expect(of('HSET').plain).toBe(true)
    expect(of('CONFIG').admin).toBe(true)
    expect(of('SET').admin).toBe(false)
    // A container's spec depends on its subcommand: not taken from the name.
    expect(of('OBJECT').spec).toBeUndefined()
  })

  it('finds commands whose only key is the first argument', () => {
    const spec = (n: string) => of(n).spec
    expect(onlyKeyIsFirstArgument(spec('SET'), 3)).toBe(true)
    expect(onlyKeyIsFirstArgument(spec('DEL'), 2)).toBe(true)
    expect(onlyKeyIsFirstArgument(spec('DEL'), 3)).toBe(false)
    expect(onlyKeyIsFirstArgument(spec('MSET'), 3)).toBe(true)
    expect(onlyKeyIsFirstArgument(spec('MSET'), 5)).toBe(false)
    expect(onlyKeyIsFirstArgument(spec('RENAME'), 3)).toBe(false)
    expect(onlyKeyIsFirstArgument(spec('EVAL'), 4)).toBe(false)
    expect(onlyKeyIsFirstArgument(spec('FLUSHALL'), 1)).toBe(false)
    expect(onlyKeyIsFirstArgument(spec('NOSUCH'), 2)).toBe(false)
  })
})

describe('mayNotBePlain (a filter before the lookup)', () => {
  const names = new CommandNames()
  const may = (name: string) => {
    const buf = Buffer.from(`..${name}.`, 'latin1')
    return mayNotBePlain(buf, 2, 2 + name.length)
  }
  it('lets through every name that is not plain, in any case', () => {
    for (const name of [
      'select',
      'MULTI',
      'Exec',
      'disCARD',
      'SWAPDB',
      'flushall',
      'FlushDB',
      'SCRIPT',
      'function',
    ])
      expect(may(name), name).toBe(true)
  })
  it('stops most plain names on their length and first byte, and never one that is not plain', () => {
    for (const name of ['SET', 'hset', 'INCR', 'RPUSH', 'PEXPIRE', 'DEL', 'SADD', 'GET', '', 'SELECTX'])
      expect(may(name), name).toBe(false)
    // A false alarm only costs a lookup, which says plain.
    expect(may('SUBSTR')).toBe(true)
    expect(names.of(Buffer.from('SUBSTR'), 0, 6).plain).toBe(true)
    // Bytes outside the letters may share a letter's low bits: a lookup settles them too.
    expect(may('\x13elect')).toBe(true)
    expect(names.of(Buffer.from('\x13elect', 'latin1'), 0, 6).plain).toBe(true)
  })
})
