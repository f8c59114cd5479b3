import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Config, Flags, Parser, settings } from '@oclif/core'
import { describe, expect, it } from 'vitest'
import { kvtopInvocation } from '../../../src/invocation.js'
import { runCli } from '../../helpers/cli.js'

// The built commands, as the binary runs them (no TypeScript transpiling of the sources).
settings.enableAutoTranspile = false

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const README = readFileSync(join(ROOT, 'README.md'), 'utf8')

/** Placeholders the README uses in examples, and what stands for them here. */
const PLACEHOLDERS: Record<string, string> = { URL: 'redis://127.0.0.1:6379' }

/** Words of a shell line, quotes removed; stops at a comment, a redirection, a pipe or `&&`. */
function shellWords(line: string): string[] {
  const words: string[] = []
  let word: string | undefined
  let quote: string | undefined
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (quote) {
      if (c === quote) quote = undefined
      else word = (word ?? '') + c
    } else if (c === "'" || c === '"') {
      quote = c
      word ??= ''
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word)
      word = undefined
    } else if (word === undefined && (c === '#' || c === '>' || c === '<' || c === '|' || c === '&')) break
    else word = (word ?? '') + c
  }
  if (word !== undefined) words.push(word)
  return words
}

/** Every `kvtop ...` line of the README's shell code blocks (continuations joined), with its line number. */
function readmeExamples(): { line: number; text: string; argv: string[] }[] {
  const out: { line: number; text: string; argv: string[] }[] = []
  const lines = README.split('\n')
  let inShell = false
  for (let i = 0; i < lines.length; i++) {
    const fence = /^\s*```(\w*)/.exec(lines[i])
    if (fence) {
      inShell = !inShell && ['sh', 'bash', 'shell'].includes(fence[1])
      continue
    }
    if (!inShell) continue
    let text = lines[i].trim()
    const start = i
    while (text.endsWith('\\') && i + 1 < lines.length) text = text.slice(0, -1) + ' ' + lines[++i].trim()
    const words = shellWords(text)
    const at = words[0] === 'npx' ? 1 : 0
    if (words[at] !== 'kvtop') continue
    const argv = words
      .slice(at + 1)
      // `[--replace]`, `[--db-map 2:0]`: optional parts, checked as given.
      .map((w) => w.replace(/^\[/, '').replace(/\]$/, ''))
      .map((w) => PLACEHOLDERS[w] ?? w)
    out.push({ line: start + 1, text, argv })
  }
  return out
}

describe('README', () => {
  const examples = readmeExamples()

  it('has kvtop examples in its shell blocks', () => {
    expect(examples.length).toBeGreaterThan(40)
    const commands = new Set(examples.map((e) => e.argv[0]))
    for (const c of [
      'sandbox',
      'discover',
      'top',
      'status',
      'snapshot',
      'replay',
      'verify',
      'migrate',
      'scale',
    ])
      expect(commands).toContain(c)
  })

  it('every kvtop example names a command and parses with its flags and arguments (oclif parse, no run)', async () => {
    const config = await Config.load(ROOT)
    const problems: string[] = []
    for (const ex of examples) {
      if (ex.argv[0]?.startsWith('-')) {
        if (!['--help', '--version'].includes(ex.argv[0])) problems.push(`line ${ex.line}: ${ex.text}`)
        continue
      }
      // Topics are separated by spaces: the longest run of words that is a command id.
      let id: string | undefined
      let used = 0
      for (let n = Math.min(3, ex.argv.length); n > 0 && !id; n--) {
        const candidate = ex.argv.slice(0, n).join(':')
        if (config.findCommand(candidate)) [id, used] = [candidate, n]
      }
      if (!id) {
        problems.push(`line ${ex.line}: no such command: ${ex.text}`)
        continue
      }
      const command = await config.findCommand(id)!.load()
      try {
        await Parser.parse(ex.argv.slice(used), {
          flags: {
            ...command.baseFlags,
            ...command.flags,
            ...(command.enableJsonFlag ? { json: Flags.boolean() } : {}),
          },
          args: command.args ?? {},
          strict: command.strict ?? true,
          context: undefined as never,
        })
      } catch (err) {
        problems.push(`line ${ex.line}: ${ex.text}\n    ${(err as Error).message.split('\n')[0]}`)
      }
    }
    expect(problems).toEqual([])
  })

  it('a wrong flag in an example would be caught (the check is not vacuous)', async () => {
    const config = await Config.load(ROOT)
    const verify = await config.findCommand('verify')!.load()
    await expect(
      Parser.parse(['--elasticache', 'orders'], {
        flags: { ...verify.baseFlags, ...verify.flags },
        args: verify.args ?? {},
        strict: true,
        context: undefined as never,
      }),
    ).rejects.toThrow(/Nonexistent flag: --elasticache/)
  })

  it('npx kvtop runs the package bin from the checkout', () => {
    const r = spawnSync('npx', ['--offline', '--no-install', 'kvtop', '--version'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    })
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^kvtop\/0\.1\.0 /)
  })

  it('npm test installs what the tests need first (pretest runs scripts/ensure-redis.sh)', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
    expect(pkg.scripts.pretest).toBe('sh scripts/ensure-redis.sh')
  })
})

describe('the commands kvtop suggests', () => {
  it('are `kvtop ...` only when kvtop on PATH is this program, `npx kvtop ...` otherwise', () => {
    const dir = mkdtempSync(join(process.env.KVTOP_TEST_ROOT ?? '/tmp', 'path-'))
    try {
      const script = join(ROOT, 'bin', 'kvtop.js')
      const bin = join(dir, 'bin')
      const other = join(dir, 'other')
      for (const d of [bin, other]) spawnSync('mkdir', ['-p', d])
      symlinkSync(script, join(bin, 'kvtop'))
      writeFileSync(join(other, 'kvtop'), '#!/bin/sh\n')
      chmodSync(join(other, 'kvtop'), 0o755)
      expect(kvtopInvocation({ PATH: bin }, script)).toBe('kvtop')
      expect(kvtopInvocation({ PATH: `${other}:${bin}` }, script)).toBe('npx kvtop')
      expect(kvtopInvocation({ PATH: dir }, script)).toBe('npx kvtop')
      // Under npm (npm run, npx) PATH has npm's additions: the user's shell does not.
      expect(kvtopInvocation({ PATH: bin, npm_lifecycle_event: 'demo' }, script)).toBe('npx kvtop')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('sandbox up, run from the checkout, says how to connect with npx kvtop', async () => {
    const name = `readme-${process.pid}`
    try {
      const r = await runCli(['sandbox', 'up', '--name', name, '--shards', '0', '--replicas', '0'], {
        env: { PATH: process.env.PATH, npm_lifecycle_event: '' },
      })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toContain(`Connect with: npx kvtop discover --profile sandbox:${name}`)
    } finally {
      await runCli(['sandbox', 'down', '--name', name])
    }
  })
})
