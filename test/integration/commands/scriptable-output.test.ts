import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { STATUS_CSV_COLUMNS } from '../../../src/metrics/csv.js'
import { runCli } from '../../helpers/cli.js'
import { startSandbox, type TestSandbox } from '../../helpers/sandbox.js'

/** A RESP log of `n` SETs with binary keys. */
function respLog(n: number): Buffer {
  const parts: Buffer[] = []
  for (let i = 0; i < n; i++) {
    const key = Buffer.concat([Buffer.from(`k:${i}:`), Buffer.from([0x00, 0xff])])
    parts.push(Buffer.from(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n`), key, Buffer.from(`\r\n$1\r\nv\r\n`))
  }
  return Buffer.concat(parts)
}

/** A heartbeat line: `replay LOG: TASK FIGURES; TASK FIGURES | elapsed T | phase P`. */
const HEARTBEAT = /^replay [^:]+: (.+?) \| elapsed \d+s(?: \| phase .+)?$/
/** One task's figures: `replay 1200 commands, 40.2 KiB, 5000 commands/s`, with a total `1200/3000 ... (40.0%)` and ETA. */
const TASK_FIGURES =
  /^(scan|replay) (\d+)(?:\/\d+)? commands(?: \(\d+\.\d%\))?(?:, [\d.]+ (?:B|KiB|MiB|GiB))?, \d+ commands\/s(?:, ETA \S+)?(?:, \d+ errors)?$/

const BIN = fileURLToPath(new URL('../../../bin/kvtop.js', import.meta.url))

const stderrLines = (stderr: string) => stderr.split('\n').filter(Boolean)

describe('scriptable output: heartbeat lines, --quiet, NDJSON stderr under --json, CSV', () => {
  let node: TestSandbox
  let dir: string
  let log: string

  beforeAll(async () => {
    node = await startSandbox({ shards: 0, replicas: 0 })
    dir = mkdtempSync(join(process.env.KVTOP_TEST_ROOT!, 'scriptable-'))
    log = join(dir, 'sets.resp')
    writeFileSync(log, respLog(3000))
  })
  afterAll(async () => {
    await node?.down()
    rmSync(dir, { recursive: true, force: true })
  })

  it('piped without --json: phase lines and heartbeat lines on stderr, the last one with the final count', async () => {
    const r = await runCli(['replay', log, '--to', node.url, '--replace'], {
      env: { KVTOP_PROGRESS_INTERVAL: '0.05' },
    })
    expect(r.code, r.stderr).toBe(0)
    const lines = stderrLines(r.stderr)
    const beats = lines.filter((l) => !/: phase /.test(l.split(' | ')[0]))
    expect(beats.length).toBeGreaterThan(0)
    const tasks = beats.map((line) => {
      expect(line).toMatch(HEARTBEAT)
      return HEARTBEAT.exec(line)![1]
        .split('; ')
        .map((figures) => {
          expect(figures).toMatch(TASK_FIGURES)
          const [, task, done] = TASK_FIGURES.exec(figures)!
          return [task, Number(done)] as const
        })
    })
    // The line written when the replay ends counts every command.
    expect(new Map(tasks.at(-1)).get('replay')).toBe(3000)
    for (const line of lines.filter((l) => !beats.includes(l)))
      expect(line).toMatch(/^replay [^:]+: phase \S/)
    expect(r.stdout).toMatch(/^Replayed 3000 commands \(resp\)/)
  })

  it('--quiet: nothing on stderr, the result on stdout', async () => {
    const r = await runCli(['replay', log, '--to', node.url, '--replace', '--quiet'], {
      env: { KVTOP_PROGRESS_INTERVAL: '0.05' },
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(/^Replayed 3000 commands/)
  })

  it('--json: every stderr line is an NDJSON event with type and at; stdout one document', async () => {
    const r = await runCli(['replay', log, '--to', node.url, '--replace', '--json'], {
      env: { KVTOP_PROGRESS_INTERVAL: '0.05' },
    })
    expect(r.code, r.stderr).toBe(0)
    const events = stderrLines(r.stderr).map((l) => JSON.parse(l))
    expect(events.length).toBeGreaterThan(0)
    for (const e of events) {
      expect(typeof e.type).toBe('string')
      expect(typeof e.at).toBe('number')
    }
    expect(JSON.parse(r.stdout)).toMatchObject({ commands: 3000, format: 'resp' })
  })

  it('--json: a failure is one error event on stderr (with its exit code) and the error document on stdout', async () => {
    const r = await runCli(['status', 'redis://127.0.0.1:1', '--timeout', '2', '--json'])
    expect(r.code).toBe(3)
    const lines = stderrLines(r.stderr)
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0])).toMatchObject({ type: 'error', exitCode: 3, message: expect.any(String) })
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { exitCode: 3 } })
  })

  it.each([
    ['status', '--watch'],
    ['slowlog', '--follow'],
  ])(
    '%s %s --json: the stream ends with one {"type":"error"} line carrying the exit code',
    async (cmd, flag) => {
      const r = await runCli([cmd, 'redis://127.0.0.1:1', flag, '--timeout', '2', '--json'])
      expect(r.code).toBe(3)
      const out = r.stdout.trim().split('\n')
      expect(out).toHaveLength(1)
      expect(JSON.parse(out[0])).toMatchObject({ type: 'error', exitCode: 3, at: expect.any(Number) })
      for (const l of stderrLines(r.stderr)) expect(JSON.parse(l)).toHaveProperty('type')
    },
  )

  it('an unknown command under --json: one NDJSON error event, exit 2', async () => {
    const r = await runCli(['no-such-command', '--json'])
    expect(r.code).toBe(2)
    expect(stderrLines(r.stderr).map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ type: 'error', exitCode: 2 }),
    ])
  })

  it('status --watch --csv: the header once, then one row per node per round', async () => {
    const r = await runCli(['status', node.url, '--watch', '--csv', '--count', '3', '--interval', '0.2'])
    expect(r.code, r.stderr).toBe(0)
    const rows = r.stdout.trim().split('\n')
    expect(rows[0]).toBe(STATUS_CSV_COLUMNS.map((c) => c.name).join(','))
    expect(rows.filter((l) => l.startsWith('at,'))).toHaveLength(1)
    const data = rows.slice(1).map((l) => l.split(','))
    expect(data).toHaveLength(3) // one node, three rounds
    const col = (name: string) => STATUS_CSV_COLUMNS.findIndex((c) => c.name === name)
    for (const cells of data) {
      expect(cells).toHaveLength(STATUS_CSV_COLUMNS.length)
      expect(cells[col('node')]).toBe(`127.0.0.1:${node.summary.nodes[0].port}`)
      expect(cells[col('role')]).toBe('primary')
      expect(cells[col('up')]).toBe('true')
      expect(Number(cells[col('memoryUsed')])).toBeGreaterThan(0)
    }
    expect(data.map((c) => Number(c[col('round')]))).toEqual(
      [...data.map((c) => Number(c[col('round')]))].sort(),
    )
  })

  it('status --csv with --json is refused (exit 2)', async () => {
    const r = await runCli(['status', node.url, '--csv', '--json'])
    expect(r.code).toBe(2)
  })

  it('top under TERM=dumb refuses, naming status --watch (exit 2)', async () => {
    const r = await runCli(['top', node.url], { env: { TERM: 'dumb' } })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('Error: kvtop top needs a terminal that can move the cursor (TERM is dumb)')
    expect(r.stderr).toContain(`Use: kvtop status ${node.url} --watch`)
  })

  it('top --record refuses an existing file without --force (exit 2), before connecting', async () => {
    const existing = join(dir, 'existing.ndjson')
    writeFileSync(existing, 'keep me\n')
    const { runCliInPty, hasScript } = await import('../../helpers/pty.js')
    if (!hasScript()) return
    const r = await runCliInPty(['top', 'redis://127.0.0.1:1', '--record', existing], '', {
      env: { TERM: 'xterm' },
    })
    expect(r.code).toBe(2)
    expect(r.output).toContain(`${existing} already exists`)
    expect(r.output).toContain('--force')
    expect(readFileSync(existing, 'utf8')).toBe('keep me\n')
  })

  it('top --record FILE: every polled round as the NDJSON lines of status --watch --json, FILE in place when top ends', async () => {
    const { hasScript } = await import('../../helpers/pty.js')
    if (!hasScript()) return
    const out = join(dir, 'top.ndjson')
    const command = [process.execPath, BIN, 'top', node.url, '--record', out, '--interval', '0.2']
      .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
      .join(' ')
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      env: { ...process.env, TERM: 'xterm', NO_COLOR: '1' },
      stdio: ['pipe', 'ignore', 'ignore'],
    })
    const closed = new Promise<number | null>((r) => child.once('close', r))
    try {
      // The recording grows under a temporary name; three status rounds, then quit.
      const partialRounds = () => {
        const partial = readdirSync(dir).find((f) => f.startsWith('.top.ndjson.') && f.endsWith('.partial'))
        return partial
          ? readFileSync(join(dir, partial), 'utf8')
              .split('\n')
              .filter((l) => l.includes('"type":"status"')).length
          : 0
      }
      const deadline = Date.now() + 30_000
      while (partialRounds() < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
      expect(partialRounds()).toBeGreaterThanOrEqual(3)
      child.stdin.write('q')
      expect(await closed).toBe(0)
    } finally {
      child.kill('SIGKILL')
    }
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const rounds = lines.filter((l) => l.type === 'status')
    expect(rounds.length).toBeGreaterThanOrEqual(3)
    expect(rounds.map((r) => r.round)).toEqual(rounds.map((_r, i) => rounds[0].round + i))
    for (const r of rounds) {
      expect(r.nodes).toEqual([
        expect.objectContaining({ port: node.summary.nodes[0].port, role: 'primary', up: true }),
      ])
      expect(r).not.toHaveProperty('events')
    }
    // No temporary file left beside it.
    expect(readdirSync(dir).filter((f) => f.includes('top.ndjson'))).toEqual(['top.ndjson'])
  })
})
