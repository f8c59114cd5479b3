import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../helpers/cli.js'
import { freePort } from '../../helpers/ports.js'
import { sandboxEnv, startSandbox, type TestSandbox } from '../../helpers/sandbox.js'

/**
 * `kvtop top` over two deployments in a real terminal: tmux at 100x24, the built CLI, two
 * sandboxes (a primary with a replica, and a lone primary). The pane is read back with capture-pane.
 */
const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const hasTmux = spawnSync('tmux', ['-V']).status === 0
const socket = `kvtop-fleet-${randomBytes(4).toString('hex')}`
const tmux = (...args: string[]) =>
  spawnSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' })
const pane = (): string[] => tmux('capture-pane', '-p', '-t', 'fleet').stdout.replace(/\n+$/, '').split('\n')

let a: TestSandbox
let b: TestSandbox

beforeAll(async () => {
  ;[a, b] = await Promise.all([
    startSandbox({ shards: 0, replicas: 1 }),
    startSandbox({ shards: 0, replicas: 0 }),
  ])
}, 120_000)
afterAll(async () => {
  if (hasTmux) tmux('kill-server')
  await Promise.all([a?.down(), b?.down()])
})

async function waitFor(done: (frame: string[]) => boolean, what: string): Promise<string[]> {
  const deadline = Date.now() + 90_000
  for (;;) {
    const frame = pane()
    if (done(frame)) return frame
    if (Date.now() > deadline) throw new Error(`the pane never showed ${what}:\n${frame.join('\n')}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

// blessed draws borders in the terminal's line-drawing charset; capture-pane prints x for │.
const V = '[│x]'
const row = (name: string, health: string, nodes: string) =>
  new RegExp(`^${V}[ !✗] ${name.replace(/[.:]/g, '\\$&')} +${health} +${nodes} +\\S+ +\\S+ +\\S+ `)

describe('kvtop top over two deployments', () => {
  it.skipIf(!hasTmux)(
    "one line per deployment; Enter opens the second one's dashboard, q comes back, q quits (skipped without tmux)",
    async () => {
      const nameA = `sandbox:${a.name}`
      const nameB = `sandbox:${b.name}`
      const command =
        `env TERM=xterm-256color LANG=C.UTF-8 KVTOP_SANDBOX_DIR='${sandboxEnv().KVTOP_SANDBOX_DIR}' ` +
        `'${process.execPath}' bin/kvtop.js top --profile ${nameA} --profile ${nameB} --interval 0.5; echo "top exit=$?"; sleep 600`
      const started = tmux('new-session', '-d', '-s', 'fleet', '-x', '100', '-y', '24', '-c', ROOT, command)
      expect(started.status, started.stderr).toBe(0)

      const fleet = await waitFor(
        (f) =>
          f.some((l) => row(nameA, 'ok', '2/2').test(l)) && f.some((l) => row(nameB, 'ok', '1/1').test(l)),
        'both deployments ok',
      )
      expect(fleet[1]).toMatch(
        new RegExp(`^${V}kvtop fleet  2 deployments  2 ok  \\(Enter: open, q: quit\\) +${V}$`),
      )
      const header = fleet.findIndex((l) => l.includes('CLUSTER'))
      expect(fleet[header]).toMatch(
        new RegExp(`^${V}  CLUSTER +HEALTH +NODES +OPS/S +P99 +MEM +WORST LAG +ALERTS +${V}$`),
      )
      // The rows follow the header, in the order given; the replica's lag is the pair's worst lag.
      expect(fleet[header + 1]).toMatch(row(nameA, 'ok', '2/2'))
      expect(fleet[header + 1]).toMatch(/ \d+(\.\d)?[BKMG]\/\d+\.\ds +0 +[│x]$/)
      expect(fleet[header + 2]).toMatch(row(nameB, 'ok', '1/1'))
      expect(fleet[header + 2]).toMatch(/ - +0 +[│x]$/)

      // Down to the second deployment, Enter: its own dashboard with its one node.
      tmux('send-keys', '-t', 'fleet', 'j')
      await new Promise((r) => setTimeout(r, 300))
      tmux('send-keys', '-t', 'fleet', 'Enter')
      const port = b.summary.nodes[0].port
      const drilled = await waitFor(
        (f) => /kvtop {2}1\/1 nodes up/.test(f[1] ?? '') && f.some((l) => l.includes(`127.0.0.1:${port}`)),
        "the second deployment's dashboard",
      )
      expect(drilled.join('\n')).not.toContain('kvtop fleet')
      expect(drilled.filter((l) => new RegExp(`^${V}  127\\.0\\.0\\.1:\\d+ +primary`).test(l))).toHaveLength(
        1,
      )

      // q: back to the fleet, both lines again.
      tmux('send-keys', '-t', 'fleet', 'q')
      await waitFor(
        (f) =>
          /kvtop fleet/.test(f[1] ?? '') &&
          f.some((l) => row(nameA, 'ok', '2/2').test(l)) &&
          f.some((l) => row(nameB, 'ok', '1/1').test(l)),
        'the fleet again',
      )
      tmux('send-keys', '-t', 'fleet', 'q')
      const end = await waitFor((f) => f.some((l) => l.startsWith('top exit=')), 'top ending')
      expect(end).toContain('top exit=0')
    },
    240_000,
  )

  it.skipIf(!hasTmux)(
    'a deployment down when top starts is a down line, and joins the fleet once it answers (skipped without tmux)',
    async () => {
      const port = await freePort()
      const late = `redis://127.0.0.1:${port}`
      const nameA = `sandbox:${a.name}`
      const session = 'late'
      const command =
        `env TERM=xterm-256color LANG=C.UTF-8 KVTOP_SANDBOX_DIR='${sandboxEnv().KVTOP_SANDBOX_DIR}' ` +
        `'${process.execPath}' bin/kvtop.js top ${late} --profile ${nameA} --interval 0.5 --timeout 1; echo "top exit=$?"; sleep 600`
      const started = tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '24', '-c', ROOT, command)
      expect(started.status, started.stderr).toBe(0)
      const dir = mkdtempSync(join(tmpdir(), 'kvtop-fleet-late-'))
      let server: ChildProcess | undefined
      try {
        const paneOf = () => tmux('capture-pane', '-p', '-t', session).stdout.split('\n')
        const waitPane = async (done: (f: string[]) => boolean, what: string) => {
          const deadline = Date.now() + 120_000
          for (;;) {
            const f = paneOf()
            if (done(f)) return f
            if (Date.now() > deadline) throw new Error(`the pane never showed ${what}:\n${f.join('\n')}`)
            await new Promise((r) => setTimeout(r, 250))
          }
        }
        await waitPane(
          (f) =>
            f.some((l) => row(late, 'down', '\\S+').test(l)) &&
            f.some((l) => row(nameA, 'ok', '2/2').test(l)),
          'the unreachable deployment down beside the other one ok',
        )
        server = spawn(
          'redis-server',
          ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir],
          {
            stdio: 'ignore',
          },
        )
        await waitPane((f) => f.some((l) => row(late, 'ok', '1/1').test(l)), 'the late deployment ok')
        tmux('send-keys', '-t', session, 'q')
        const end = await waitPane((f) => f.some((l) => l.startsWith('top exit=')), 'top ending')
        expect(end).toContain('top exit=0')
      } finally {
        tmux('kill-session', '-t', session)
        server?.kill('SIGKILL')
        rmSync(dir, { recursive: true, force: true })
      }
    },
    240_000,
  )

  it('not on a terminal: refused (exit 2), naming status over the same deployments', async () => {
    const r = await runCli(['top', '--profile', `sandbox:${a.name}`, '--profile', `sandbox:${b.name}`])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(
      'Error: kvtop top needs an interactive terminal (stdin and stdout a TTY)\n' +
        `Use: kvtop status --profile sandbox:${a.name} --profile sandbox:${b.name} (each deployment's status; one document keyed by deployment with --json).\n`,
    )
  })
})
