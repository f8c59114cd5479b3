import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../helpers/cli.js'
import { startSandbox, type TestSandbox } from '../../helpers/sandbox.js'

/** `kvtop check` against real sandboxes: a 2x1 cluster (a replica gets killed) and a primary with a replica. */
let cluster: TestSandbox
let pair: TestSandbox
let dir: string
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  ;[cluster, pair] = await Promise.all([
    startSandbox({ shards: 2, replicas: 1 }),
    startSandbox({ shards: 0, replicas: 1 }),
  ])
  dir = mkdtempSync(join(tmpdir(), 'kvtop-check-'))
  mkdirSync(join(dir, 'kvtop'))
  env = { XDG_CONFIG_HOME: dir, KVTOP_URL: '', KVTOP_PROFILE: '', KVTOP_PASSWORD: '', REDISCLI_AUTH: '' }
}, 120_000)
afterAll(async () => {
  await Promise.all([cluster?.down(), pair?.down()])
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const check = (args: string[]) => runCli(['check', ...args, '--interval', '0.5'], { env })
const writeConfig = (config: unknown) =>
  writeFileSync(join(dir, 'kvtop', 'config.json'), JSON.stringify(config))

/** Give the primary of `pair` a maxmemory of twice what it uses: memory near 50%. */
async function halfFullPrimary(): Promise<void> {
  const admin = await pair.admin(pair.summary.nodes.find((n) => n.role === 'primary')!.port)
  const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1])
  await admin.config('SET', 'maxmemory', String(used * 2))
}

describe('kvtop check', () => {
  it('a healthy cluster: OK, exit 0; --nagios and --json say the same', async () => {
    const text = await check(['--profile', `sandbox:${cluster.name}`])
    expect(text.stderr).toBe('')
    expect(text.stdout).toBe('kvtop check: OK - 4/4 nodes up, no threshold broken\n')
    expect(text.code).toBe(0)
    const nagios = await check(['--profile', `sandbox:${cluster.name}`, '--nagios'])
    expect(nagios.code).toBe(0)
    expect(nagios.stdout).toMatch(
      /^KVTOP OK - 4\/4 nodes up, no threshold broken \| lag_bytes=\d+B;8388608;67108864;0; lag_seconds=[\d.]+s;5;30;0; evictions=0;0;;0; nodes_down=0;;0;0;4 slots_covered=16384;;;0;16384\n$/,
    )
    const json = await check(['--profile', `sandbox:${cluster.name}`, '--json'])
    expect(json.code).toBe(0)
    const doc = JSON.parse(json.stdout)
    expect(doc).toMatchObject({ status: 'ok', exitCode: 0, breaches: [] })
    expect(doc.deployment).toEqual({
      mode: 'cluster',
      nodes: 4,
      nodesUp: 4,
      shards: 2,
      slotsCovered: 16384,
      clusterState: 'ok',
    })
    expect(doc.levels['nodes-down']).toEqual({ critical: 0, source: 'default' })
  })

  it('memory over a warning level: exit 1 with the node, the value and the level', async () => {
    await halfFullPrimary()
    const r = await check(['--profile', `sandbox:${pair.name}`, '--memory', '10:99'])
    expect(r.code, r.stderr).toBe(1)
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(2)
    const primary = pair.summary.nodes.find((n) => n.role === 'primary')!.port
    expect(lines[1]).toMatch(
      new RegExp(
        `^WARNING memory 127\\.0\\.0\\.1:${primary}: (4\\d|5\\d)(\\.\\d)?% of maxmemory, warning above 10%$`,
      ),
    )
    expect(lines[0]).toBe(`kvtop check: WARNING - 1 warning: ${lines[1].slice('WARNING '.length)}`)
  })

  it("levels from the config file: the profile's over the global ones, flags over both", async () => {
    await halfFullPrimary()
    writeConfig({
      checks: { memory: '5:10', evictions: 'off' },
      profiles: {
        strict: { url: pair.url, checks: { memory: '10:20' } },
        global: { url: pair.url },
        broken: { url: pair.url, checks: { memory: 'lots' } },
      },
    })
    const strict = await check(['--profile', 'strict', '--json'])
    expect(strict.code, strict.stderr).toBe(2)
    const doc = JSON.parse(strict.stdout)
    expect(doc.levels.memory).toEqual({ warning: 10, critical: 20, source: 'profile' })
    expect(doc.levels.evictions).toEqual({ source: 'config' })
    expect(doc.breaches).toHaveLength(1)
    expect(doc.breaches[0]).toMatchObject({ check: 'memory', severity: 'critical', threshold: 20 })
    const global = await check(['--profile', 'global'])
    expect(global.code).toBe(2)
    expect(global.stdout.split('\n')[1]).toMatch(
      /^CRITICAL memory 127\.0\.0\.1:\d+: [\d.]+% of maxmemory, critical above 10%$/,
    )
    const viaEnv = await runCli(['check', '--interval', '0.5', '--json'], {
      env: { ...env, KVTOP_PROFILE: 'strict' },
    })
    expect(viaEnv.code, viaEnv.stderr).toBe(2)
    expect(JSON.parse(viaEnv.stdout).levels.memory.source).toBe('profile')
    const flag = await check(['--profile', 'strict', '--memory', '90:95'])
    expect(flag.code).toBe(0)
    const broken = await check(['--profile', 'broken'])
    expect(broken.code).toBe(2)
    expect(broken.stdout).toBe('')
    expect(broken.stderr.split('\n')[0]).toBe(
      `Error: config file ${join(dir, 'kvtop', 'config.json')}: checks of profile 'broken': invalid --memory 'lots': expected a percent from 0 to 100, fractions allowed (e.g. 1.5)`,
    )
    writeConfig({ profiles: {} })
  })

  it('cannot connect: exit 3, or with --nagios one UNKNOWN line and exit 3; bad arguments likewise', async () => {
    const text = await check(['redis://127.0.0.1:1'])
    expect(text.code).toBe(3)
    expect(text.stdout).toBe('')
    expect(text.stderr.split('\n')[0]).toBe('Error: cannot connect to 127.0.0.1:1: connection refused')
    const nagios = await check(['redis://127.0.0.1:1', '--nagios'])
    expect(nagios.code).toBe(3)
    expect(nagios.stdout).toBe('KVTOP UNKNOWN - cannot connect to 127.0.0.1:1: connection refused\n')
    const bad = await check(['redis://127.0.0.1:1', '--lag-bytes', '10MB:1MB', '--nagios'])
    expect(bad.code).toBe(3)
    expect(bad.stdout).toBe(
      "KVTOP UNKNOWN - invalid --lag-bytes '10MB:1MB': the critical level is below the warning level\n",
    )
    const usage = await check(['redis://127.0.0.1:1', '--lag-bytes', '10MB:1MB'])
    expect(usage.code).toBe(2)
    expect(usage.stderr.split('\n')[0]).toBe(
      "Error: invalid --lag-bytes '10MB:1MB': the critical level is below the warning level",
    )
  })

  it('a replica cut off from its primary: CRITICAL, exit 2, the replica-link line', async () => {
    const primary = cluster.summary.nodes.find((n) => n.role === 'primary' && n.shard === 0)!
    const replica = cluster.summary.nodes.find((n) => n.role === 'replica' && n.shard === 0)!
    const onPrimary = await cluster.admin(primary.port)
    const onReplica = await cluster.admin(replica.port)
    const linkIs = async (state: string) => {
      for (let i = 0; i < 240; i++) {
        if ((await onReplica.info('replication')).includes(`master_link_status:${state}`)) return
        await new Promise((r) => setTimeout(r, 250))
      }
      throw new Error(`the replica's link never went ${state}`)
    }
    // The replica logs in as the sandbox's admin user: with it turned off, it cannot reconnect.
    const [user] = (await onReplica.config('GET', 'masteruser')).slice(1) as string[]
    await onPrimary.call('ACL', 'SETUSER', user, 'off')
    try {
      await onPrimary.call('CLIENT', 'KILL', 'TYPE', 'replica')
      await linkIs('down')
      const line = `replica-link 127.0.0.1:${replica.port}: the link to its primary is down`
      const r = await check(['--profile', `sandbox:${cluster.name}`])
      expect(r.code, r.stderr).toBe(2)
      expect(r.stdout).toBe(`kvtop check: CRITICAL - 1 critical: ${line}\nCRITICAL ${line}\n`)
    } finally {
      await onPrimary.call('ACL', 'SETUSER', user, 'on')
    }
    await linkIs('up')
  })

  it('a killed replica: CRITICAL, exit 2, the exact line; --nagios perfdata says one node down', async () => {
    const victim = cluster.summary.nodes.find((n) => n.role === 'replica' && n.shard === 1)!
    process.kill(victim.pid!, 'SIGKILL')
    const line = `nodes-down: 1 of 4 nodes down (127.0.0.1:${victim.port} replica of shard 1), critical above 0`
    const r = await check(['--profile', `sandbox:${cluster.name}`])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stdout).toBe(`kvtop check: CRITICAL - 1 critical: ${line}\nCRITICAL ${line}\n`)
    const nagios = await check(['--profile', `sandbox:${cluster.name}`, '--nagios'])
    expect(nagios.code).toBe(2)
    const [first, ...rest] = nagios.stdout.trimEnd().split('\n')
    const [status, perf] = first.split(' | ')
    expect(status).toBe(`KVTOP CRITICAL - 1 critical: ${line}`)
    const fields = Object.fromEntries(perf.split(' ').map((p) => p.split('=') as [string, string]))
    expect(Object.keys(fields)).toEqual([
      'lag_bytes',
      'lag_seconds',
      'evictions',
      'nodes_down',
      'slots_covered',
    ])
    expect(fields.nodes_down).toBe('1;;0;0;4')
    expect(fields.slots_covered).toBe('16384;;;0;16384')
    expect(rest).toEqual([`CRITICAL ${line}`])
    // A warning level for nodes down and a critical one above it: exit 1.
    const tolerant = await check(['--profile', `sandbox:${cluster.name}`, '--nodes-down', '0:1'])
    expect(tolerant.code).toBe(1)
    expect(tolerant.stdout.split('\n')[1]).toBe(
      `WARNING nodes-down: 1 of 4 nodes down (127.0.0.1:${victim.port} replica of shard 1), warning above 0`,
    )
  })
})
