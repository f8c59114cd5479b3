/**
 * AOF manifests and replay inputs that cannot be read: bad input (exit 2) naming the line or the
 * file, never a crash later on (a NUL in a file name, '..', a bad \x escape, an odd token).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ManifestError, parseManifest } from '../../../../src/data/aof/manifest.js'
import { detectLogFormat } from '../../../../src/data/logs/detect.js'
import { ExitCode, KvtopError, UsageError } from '../../../../src/errors.js'

function thrown(fn: () => unknown): KvtopError {
  let err: unknown
  try {
    fn()
  } catch (e) {
    err = e
  }
  expect(err).toBeInstanceOf(UsageError)
  expect((err as KvtopError).exitCode).toBe(ExitCode.usage)
  return err as KvtopError
}

describe('AOF manifest: refused line by line', () => {
  const ok = 'file appendonly.aof.1.base.rdb seq 1 type b\n'
  it.each([
    [
      'a bad \\x escape',
      'file "a\\xZZ.aof" seq 2 type i\n',
      /line 2: invalid \\x escape in a quoted file name \(column 8\)/,
    ],
    ['a backslash at the end of the line', 'file "a\\', /line 2: unterminated quoted file name/],
    ['a NUL in the name', 'file "a\\x00.aof" seq 2 type i\n', /line 2: "a\\u0000\.aof" is not a file name/],
    ['..', 'file .. seq 2 type i\n', /line 2: "\.\." is not a file name/],
    [
      'an odd number of tokens',
      'file a.aof seq 2 type i extra\n',
      /line 2: expected 'file NAME seq N type b\|h\|i'/,
    ],
    [
      'a type that is an Object property',
      'file a.aof seq 2 type constructor\n',
      /line 2: unknown file type 'constructor'/,
    ],
    [
      'a seq beyond 2^53',
      'file a.aof seq 99999999999999999999 type i\n',
      /line 2: seq '99999999999999999999' is not a number/,
    ],
  ])('%s', (_name, line, message) => {
    const err = thrown(() => parseManifest(ok + line))
    expect(err).toBeInstanceOf(ManifestError)
    expect((err as ManifestError).line).toBe(2)
    expect(err.message).toMatch(message)
  })
})

describe('replay input detection', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvtop-detect-bad-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('a path that cannot be read is exit 2 naming it', () => {
    const missing = join(dir, 'nope.aof')
    expect(thrown(() => detectLogFormat(missing)).message).toBe(`cannot read ${missing}: ENOENT`)
  })
})
