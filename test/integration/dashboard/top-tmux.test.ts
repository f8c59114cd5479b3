import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { sandboxDown } from '../../../src/sandbox/sandbox.js'
import { sandboxEnv } from '../../helpers/sandbox.js'

/**
 * `npm run demo` in a real terminal: tmux at 80x24 (the default SSH or tmux pane), the built CLI,
 * a 3-shard sandbox with a replica each and the load generator running. The pane is read back as
 * text with capture-pane.
 */
const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const hasTmux = spawnSync('tmux', ['-V']).status === 0
const socket = `kvtop-test-${randomBytes(4).toString('hex')}`
const tmux = (...args: string[]) =>
  spawnSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' })
const pane = (): string[] => tmux('capture-pane', '-p', '-t', 'demo').stdout.replace(/\n+$/, '').split('\n')
const env = () => sandboxEnv()

afterAll(async () => {
  if (!hasTmux) return
  tmux('kill-server')
  // The demo stops its sandbox when it ends; this is for a test that failed before that.
  await sandboxDown('demo', env()).catch(() => {})
})

/** Capture the pane until `done` holds for a frame; every frame seen is kept. */
async function watch(
  done: (frame: string[]) => boolean,
  frames: string[][],
  what: string,
): Promise<string[]> {
  const deadline = Date.now() + 120_000
  for (;;) {
    const frame = pane()
    frames.push(frame)
    if (done(frame)) return frame
    if (Date.now() > deadline) throw new Error(`tmux pane never showed ${what}:\n${frame.join('\n')}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

/**
 * blessed draws borders in the terminal's line-drawing charset (ACS) where the terminal has one, as
 * xterm's terminfo says; capture-pane prints those cells as the plain letters (q for ─, x for │).
 */
const V = '[│x]'
const NODE_ROW = new RegExp(`^${V}  127\\.0\\.0\\.1:\\d+ +(primary|replica) +[0-2] up `)

describe('npm run demo under tmux at 80x24', () => {
  it.skipIf(!hasTmux)(
    'one header line, six nodes up with their lag, a chart, no load output over the frame (skipped without tmux)',
    async () => {
      const command =
        `env TERM=xterm-256color LANG=C.UTF-8 KVTOP_SANDBOX_DIR='${env().KVTOP_SANDBOX_DIR}' ` +
        `'${process.execPath}' scripts/demo.js; echo "demo exit=$?"; sleep 600`
      const started = tmux('new-session', '-d', '-s', 'demo', '-x', '80', '-y', '24', '-c', ROOT, command)
      expect(started.status, started.stderr).toBe(0)
      const frames: string[][] = []
      // The dashboard with all six nodes up and the load's ops showing, in three frames in a row.
      let busy = 0
      const frame = await watch(
        (f) => {
          const live =
            f.filter((l) => NODE_ROW.test(l)).length === 6 && /ops\/s \d+(\.\d)?k /.test(f[1] ?? '')
          busy = live ? busy + 1 : 0
          return busy >= 3
        },
        frames,
        'the dashboard under load',
      )
      expect(frame).toHaveLength(24)
      expect(frame[0]).toMatch(/^[┌l][─q]{78}[┐k]$/)
      expect(frame[1]).toMatch(
        new RegExp(
          `^${V}kvtop {2}6/6 nodes up {2}state ok {2}alerts 0 {2}ops/s \\d+(\\.\\d)?k {2}mem \\S+ .*${V}$`,
        ),
      )
      expect(frame[2]).toMatch(/^[└m][─q]{78}[┘j]$/)
      const rows = frame.filter((l) => NODE_ROW.test(l))
      expect(rows.filter((r) => / primary /.test(r))).toHaveLength(3)
      // Replicas: their lag (bytes/seconds) in the LAG column.
      for (const r of rows.filter((x) => / replica /.test(x)))
        expect(r).toMatch(new RegExp(` \\d+(\\.\\d)?[BKMG]/\\d+(\\.\\d)?s +${V}$`))
      expect(frame.find((l) => l.includes('NODE'))).toMatch(new RegExp(` STATE +OPS/S +LAT +P99 LAG +${V}$`))
      const chart = frame.findIndex((l) => /^[┌l][─q] ops\/s cluster/.test(l))
      expect(chart).toBeGreaterThan(0)
      expect(frame.slice(chart + 1).join('')).toMatch(/[⠁-⣿]/)
      // The load generator wrote nothing to the terminal, before or during the dashboard.
      for (const f of frames) expect(f.join('\n')).not.toMatch(/(seeding|running): \d+ ops/)

      tmux('send-keys', '-t', 'demo', 'q')
      const end = await watch((f) => f.some((l) => l.startsWith('demo exit=')), frames, 'the demo ending')
      expect(end).toContain('demo exit=0')
      // Once the dashboard has closed: the load's summary, then the sandbox stopped.
      expect(end.join('\n')).toMatch(
        /\nload: \d+ operations \(\d+ keys seeded\) in [\d.]+s: \d+ ops\/s, 0 errors\nSandbox 'demo' stopped/,
      )
    },
    240_000,
  )
})
