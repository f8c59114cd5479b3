/**
 * Through the built CLI (npm test builds first): a corrupt RDB and a config file with bad JSON exit
 * 2 with the file, the position and what was wrong, one message, no stack trace.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { lzfCompress } from '../../../src/data/lzf.js'
import { runCli } from '../../helpers/cli.js'
import { len, rdbFile, str } from '../../helpers/rdb-craft.js'

const dir = mkdtempSync(join(tmpdir(), 'kvtop-bad-input-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const STACK = /\n\s+at .*:\d+/

describe('bad input files through the CLI: exit 2, no stack trace', () => {
  it('snapshot inspect: an LZF value declaring 0xFFFFFFF0 bytes (CRC-64 matching) is corrupt, not "checksum ok"', async () => {
    const c = lzfCompress(Buffer.from('a'.repeat(100)))!
    const value = Buffer.concat([Buffer.from([0xc3]), len(c.length), len(0xfffffff0), c])
    const path = join(dir, 'bad-lzf.rdb')
    writeFileSync(
      path,
      rdbFile(9, [
        {
          db: 0,
          entries: [
            { type: 0, key: Buffer.from('a'), value: str('first') },
            { type: 0, key: Buffer.from('k'), value },
          ],
        },
      ]),
    )
    const r = await runCli(['snapshot', 'inspect', path])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stdout).not.toMatch(/checksum ok/)
    expect(r.stderr).toMatch(
      /bad-lzf\.rdb: corrupt RDB: corrupt LZF string in a string value: 4294967280 bytes declared.* at byte offset 26/,
    )
    expect(r.stderr).not.toMatch(STACK)
    expect(r.stderr).not.toMatch(/internal error/)
  })

  it('a config file with bad JSON: the file and the position, not the password next to it', async () => {
    const home = join(dir, 'xdg')
    mkdirSync(join(home, 'kvtop'), { recursive: true })
    writeFileSync(
      join(home, 'kvtop', 'config.json'),
      '{\n  "profiles": {\n    "prod": {"url": "redis://h:6379", "password": "hunter2" "x": 1}\n  }\n}\n',
    )
    const r = await runCli(['discover', '--profile', 'prod'], { env: { XDG_CONFIG_HOME: home } })
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain(
      `config file ${join(home, 'kvtop', 'config.json')} is not valid JSON: unexpected '"' in JSON at line 3, column 61 (position 78)`,
    )
    expect(r.stderr).not.toContain('hunter2')
    expect(r.stderr).not.toMatch(STACK)
  })
})
