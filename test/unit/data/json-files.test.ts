/**
 * Bad JSON in the config file or a state/checkpoint file: exit 2 naming the file and the position
 * (line, column, character offset) and what was expected, never V8's message (which quotes the text
 * around the mistake: maybe a password) nor a stack trace.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { configPath, loadConfig } from '../../../src/connect/config.js'
import { locateJsonError, parseJsonText } from '../../../src/json-text.js'
import { loadStateFile } from '../../../src/data/state-file.js'
import { ExitCode, KvtopError, UsageError } from '../../../src/errors.js'
import { toKvtopError } from '../../../src/error-mapping.js'

const dir = mkdtempSync(join(tmpdir(), 'kvtop-json-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
afterEach(() => vi.unstubAllEnvs())

function thrown(fn: () => unknown): KvtopError {
  let err: unknown
  try {
    fn()
  } catch (e) {
    err = e
  }
  expect(err).toBeInstanceOf(UsageError)
  expect((err as KvtopError).exitCode).toBe(ExitCode.usage)
  // What the CLI prints: the message as it is (exit 2), not an internal error with a stack.
  expect(toKvtopError(err).exitCode).toBe(ExitCode.usage)
  expect((err as Error).message).not.toMatch(/\n\s+at /)
  return err as KvtopError
}

describe('bad JSON in the config file', () => {
  const home = (name: string, text: string) => {
    const base = join(dir, name)
    mkdirSync(join(base, 'kvtop'), { recursive: true })
    writeFileSync(join(base, 'kvtop', 'config.json'), text)
    return base
  }

  it('under $XDG_CONFIG_HOME: the file, line, column and position, and not the text around it', () => {
    const text =
      '{\n  "profiles": {\n    "prod": {"url": "redis://h:6379", "password": "hunter2" "x": 1}\n  }\n}\n'
    const base = home('xdg', text)
    const err = thrown(() => loadConfig({ XDG_CONFIG_HOME: base }))
    const at = text.indexOf('"x"')
    const column = at - text.lastIndexOf('\n', at)
    expect(err.message).toBe(
      `config file ${join(base, 'kvtop', 'config.json')} is not valid JSON: unexpected '"' in JSON at line 3, column ${column} (position ${at}): expected ',' or '}'`,
    )
    expect(err.message).not.toContain('hunter2')
    expect(err.hint).toMatch(/Fix the file/)
  })

  it('under ~/.config when XDG_CONFIG_HOME is not set', () => {
    const text = '{"profiles": {"a": {"url": "redis://x"},}}'
    const base = home('home/.config', text)
    vi.stubEnv('HOME', join(dir, 'home'))
    const env = { HOME: join(dir, 'home') }
    expect(configPath(env)).toBe(join(base, 'kvtop', 'config.json'))
    const err = thrown(() => loadConfig(env))
    expect(err.message).toContain(
      `unexpected '}' in JSON at line 1, column ${text.indexOf(',}') + 2} (position ${text.indexOf(',}') + 1}): expected a property name`,
    )
  })

  it.each([
    ['an empty file', '', /unexpected end of the file in JSON at line 1, column 1 \(position 0\)/],
    [
      'a cut-off file',
      '{"profiles": {"a": {"url": "redis://x',
      /unterminated string in JSON at line 1, column 28 \(position 27\)/,
    ],
    ['a byte-order mark', '\ufeff{}', /unexpected byte-order mark \(U\+FEFF\) in JSON at line 1, column 1/],
    [
      'a comment',
      '{"profiles": {}} // mine',
      /unexpected '\/' in JSON at line 1, column 18 \(position 17\): expected nothing after/,
    ],
  ])('%s', (_name, text, message) => {
    const base = home(`case-${_name.replace(/\W/g, '')}`, text)
    expect(thrown(() => loadConfig({ XDG_CONFIG_HOME: base })).message).toMatch(message)
  })
})

describe('bad JSON in a state or checkpoint file', () => {
  const KIND = { kind: 'kvtop-test', version: 1, what: 'kvtop test checkpoint', flag: '--checkpoint' }

  it('names the file and the position', () => {
    const path = join(dir, 'bad.ckpt')
    const text = '{\n  "kind": "kvtop-test",\n  "version": 1,\n  "nodes": {"a": [1, 2,]}\n}\n'
    writeFileSync(path, text)
    const err = thrown(() => loadStateFile(path, KIND))
    const at = text.indexOf(',]') + 1
    expect(err.message).toBe(
      `${path} is not a kvtop test checkpoint: unexpected ']' in JSON at line 4, column ${at - text.lastIndexOf('\n', at)} (position ${at}): expected a value (object, array, string, number, true, false or null)`,
    )
  })

  it('a file cut short (a crash while it was written by something else)', () => {
    const path = join(dir, 'cut.ckpt')
    writeFileSync(path, '{"kind": "kvtop-test", "version": 1, "nodes": {"a": [1, 2')
    expect(thrown(() => loadStateFile(path, KIND)).message).toMatch(
      /cut\.ckpt is not a kvtop test checkpoint: unexpected end of the file in JSON at line 1, column 58 \(position 57\): expected ',' or ']'/,
    )
  })
})

describe('locating JSON errors', () => {
  it('agrees with JSON.parse on what is valid', () => {
    for (const text of [
      '{}',
      '[]',
      '0',
      '-1.5e+3',
      '"\\u00e9\\n"',
      '{"a":[true,false,null,{"b":""}]}',
      ' 1 ',
    ]) {
      expect(locateJsonError(text), text).toBeUndefined()
      expect(parseJsonText(text)).toEqual(JSON.parse(text))
    }
    for (const text of [
      '',
      '{',
      '[1,]',
      '01',
      '1.',
      '"\\x"',
      "{'a':1}",
      'tru',
      '{"a" 1}',
      '"a\nb"',
      '[1]]',
      'NaN',
    ]) {
      expect(() => JSON.parse(text)).toThrow()
      expect(locateJsonError(text), JSON.stringify(text)).toBeDefined()
    }
  })

  it('any nesting depth (no recursion)', () => {
    expect(locateJsonError('['.repeat(200_000))!.message).toMatch(/position 200000/)
    expect(locateJsonError('['.repeat(200_000) + ']'.repeat(200_000))).toBeUndefined()
  })
})
