import { describe, expect, it } from 'vitest'
import { parseManifest, replayOrder } from '../../../../src/data/aof/manifest.js'

describe('AOF manifest', () => {
  it('parses base, history and incremental entries and orders them for replay', () => {
    const entries = parseManifest(
      [
        'file appendonly.aof.2.base.rdb seq 2 type b',
        'file appendonly.aof.1.base.rdb seq 1 type h',
        'file appendonly.aof.3.incr.aof seq 3 type i',
        'file appendonly.aof.2.incr.aof seq 2 type i',
        '',
      ].join('\n'),
    )
    expect(replayOrder(entries).map((e) => e.file)).toEqual([
      'appendonly.aof.2.base.rdb',
      'appendonly.aof.2.incr.aof',
      'appendonly.aof.3.incr.aof',
    ])
  })

  it('reads quoted names with escapes', () => {
    expect(parseManifest('file "my aof\\x21.1.incr.aof" seq 1 type i\n')[0].file).toBe('my aof!.1.incr.aof')
  })

  it.each([
    ['file x seq 1\n', /expected 'file NAME seq N type b\|h\|i'/],
    ['file x seq 1 type z\n', /unknown file type 'z'/],
    ['file x seq one type i\n', /seq 'one' is not a number/],
    ['file ../etc/passwd seq 1 type i\n', /must not contain '\/'/],
    ['file "x seq 1 type i\n', /unterminated quoted file name/],
    ['file a seq 1 type b\nfile b seq 2 type b\n', /more than one base/],
  ])('rejects %j', (text, message) => {
    expect(() => parseManifest(text)).toThrow(message)
  })
})
