import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../helpers/cli.js'
import { freePort } from '../../helpers/ports.js'
import { startSandbox, type TestSandbox } from '../../helpers/sandbox.js'

/** `status` over several deployments: two sandboxes and an address where nothing listens. */
let a: TestSandbox
let b: TestSandbox
let dir: string
let env: NodeJS.ProcessEnv
let deadUrl: string

beforeAll(async () => {
  ;[a, b] = await Promise.all([
    startSandbox({ shards: 0, replicas: 1 }),
    startSandbox({ shards: 0, replicas: 0 }),
  ])
  deadUrl = `redis://127.0.0.1:${await freePort()}`
  dir = mkdtempSync(join(tmpdir(), 'kvtop-fleet-status-'))
  mkdirSync(join(dir, 'kvtop'))
  writeFileSync(
    join(dir, 'kvtop', 'config.json'),
    JSON.stringify({ profiles: { orders: { url: a.url }, sessions: { url: b.url } } }),
  )
  env = { XDG_CONFIG_HOME: dir, KVTOP_URL: '', KVTOP_PROFILE: '', KVTOP_PASSWORD: '', REDISCLI_AUTH: '' }
}, 120_000)
afterAll(async () => {
  await Promise.all([a?.down(), b?.down()])
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const status = (args: string[]) => runCli(['status', ...args, '--interval', '0.3'], { env })

describe('status over several deployments', () => {
  it('--json: one document keyed by deployment; an unreachable one is reported, the others answer; exit 3', async () => {
    const r = await status(['--profile', 'orders', '--profile', `sandbox:${b.name}`, deadUrl, '--json'])
    expect(r.code, r.stderr).toBe(3)
    const doc = JSON.parse(r.stdout)
    expect(Object.keys(doc.deployments)).toEqual([deadUrl, 'orders', `sandbox:${b.name}`])
    expect(doc.deployments[deadUrl]).toEqual({
      reachable: false,
      error: {
        code: 'refused',
        message: `cannot connect to ${deadUrl.slice('redis://'.length)}: connection refused`,
        hint: 'Is the server running, and are the host and port right?',
        exitCode: 3,
      },
    })
    const orders = doc.deployments.orders
    expect(orders.reachable).toBe(true)
    expect(
      orders.status.nodes.map((n: { port: number; role: string; up: boolean }) => [n.port, n.role, n.up]),
    ).toEqual(a.summary.nodes.map((n) => [n.port, n.role, true]))
    expect(orders.status.deployment.mode).toBe('replicated')
    const sessions = doc.deployments[`sandbox:${b.name}`]
    expect(sessions.status.nodes.map((n: { port: number }) => n.port)).toEqual([b.summary.nodes[0].port])
    expect(sessions.status.deployment.mode).toBe('standalone')
    // Rates cover an interval, as `status` of one deployment.
    expect(typeof sessions.status.nodes[0].opsPerSec).toBe('number')
  })

  it('--all-profiles: every profile of the config file; all reachable: exit 0; text has a header per deployment', async () => {
    const json = await status(['--all-profiles', '--json'])
    expect(json.code, json.stderr).toBe(0)
    expect(Object.keys(JSON.parse(json.stdout).deployments)).toEqual(['orders', 'sessions'])
    const text = await status(['--all-profiles'])
    expect(text.code).toBe(0)
    const headers = text.stdout.split('\n').filter((l) => l.startsWith('== '))
    expect(headers).toEqual(['== orders ==', '== sessions =='])
    expect(text.stdout).toContain(`127.0.0.1:${b.summary.nodes[0].port}  primary`)
  })

  it('one deployment keeps the one-snapshot document', async () => {
    const r = await status(['--profile', 'orders', '--json'])
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.deployments).toBeUndefined()
    expect(doc.nodes).toHaveLength(2)
  })

  it('bad input fails the whole command before connecting (exit 2)', async () => {
    const unknown = await status(['--profile', 'orders', '--profile', 'nope', '--json'])
    expect(unknown.code).toBe(2)
    expect(JSON.parse(unknown.stdout).error.message).toBe(
      `no profile named 'nope' in ${join(dir, 'kvtop', 'config.json')}`,
    )
    const watch = await status(['--profile', 'orders', '--profile', 'sessions', '--watch'])
    expect(watch.code).toBe(2)
    expect(watch.stderr.split('\n')[0]).toBe('Error: --watch takes one deployment')
    const twice = await status(['--profile', 'orders', '--profile', 'orders'])
    expect(twice.code).toBe(2)
    expect(twice.stderr.split('\n')[0]).toBe('Error: orders is named twice: give each deployment once')
  })
})
