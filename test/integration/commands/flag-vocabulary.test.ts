import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../helpers/cli.js'
import { startSandbox, type TestSandbox } from '../../helpers/sandbox.js'

/** The shared flag vocabulary, as a person meets it on the command line. */
let a: TestSandbox
let b: TestSandbox
let dir: string
let env: NodeJS.ProcessEnv
const SOURCE_PASSWORD = 'Vocab-Src-Pw-3301'

beforeAll(async () => {
  ;[a, b] = await Promise.all([startSandbox(), startSandbox()])
  dir = mkdtempSync(join(tmpdir(), 'kvtop-vocab-'))
  mkdirSync(join(dir, 'kvtop'))
  await (await a.admin()).call('CONFIG', 'SET', 'requirepass', SOURCE_PASSWORD)
  writeFileSync(
    join(dir, 'kvtop', 'config.json'),
    JSON.stringify({ profiles: { src: { url: a.summary.url, password: SOURCE_PASSWORD } } }),
  )
  env = { XDG_CONFIG_HOME: dir, KVTOP_URL: '', KVTOP_PROFILE: '', KVTOP_PASSWORD: '', REDISCLI_AUTH: '' }
})
afterAll(async () => {
  await Promise.all([a?.down(), b?.down()])
  if (dir) rmSync(dir, { recursive: true, force: true })
})

async function clear(sb: TestSandbox) {
  await (await sb.admin()).flushall()
}

describe('--target everywhere (--to kept as an alias)', () => {
  it('replay and snapshot restore take --target (a URL or a profile name) and --to', async () => {
    await clear(b)
    const log = join(dir, 'set.resp')
    writeFileSync(log, Buffer.from('*3\r\n$3\r\nSET\r\n$2\r\nk\x00\r\n$3\r\nv\r\n\r\n', 'latin1'))
    const viaTarget = await runCli(['replay', log, '--target', `sandbox:${b.name}`, '--json'], { env })
    expect(viaTarget.code, viaTarget.stderr).toBe(0)
    expect(await (await b.client()).getBuffer(Buffer.from('k\x00', 'latin1'))).toEqual(Buffer.from('v\r\n'))
    await clear(b)
    const viaTo = await runCli(['replay', log, '--to', b.url, '--json'], { env })
    expect(viaTo.code, viaTo.stderr).toBe(0)
    expect(await (await b.client()).dbsize()).toBe(1)

    const rdb = join(dir, 'a.rdb')
    await (await a.admin()).set('from-a', 'x')
    const made = await runCli(['snapshot', 'create', '--profile', 'src', '--out', rdb, '--json'], { env })
    expect(made.code, made.stderr).toBe(0)
    await clear(b)
    const restoreTo = await runCli(['snapshot', 'restore', rdb, '--to', b.url, '--json'], { env })
    expect(restoreTo.code, restoreTo.stderr).toBe(0)
    expect(await (await b.client()).get('from-a')).toBe('x')
    await clear(b)
    const restoreTarget = await runCli(
      ['snapshot', 'restore', rdb, '--target', `sandbox:${b.name}`, '--json'],
      { env },
    )
    expect(restoreTarget.code, restoreTarget.stderr).toBe(0)
    expect(await (await b.client()).get('from-a')).toBe('x')
    const both = await runCli(['snapshot', 'restore', rdb, '--target', 'src', '--profile', 'src'], { env })
    expect(both.code).toBe(2)
    expect(both.stderr).toContain(
      "Error: --target 'src' is not a URL, and --profile is given too: give one target",
    )
  })
})

describe('verify: per-side settings, both endpoints printed before the work', () => {
  it('prints Source / Target masked; --ttl-tolerance is in seconds, fractions allowed', async () => {
    await clear(b)
    const at = Date.now() + 3_600_000
    await (await a.admin()).set('ttl-key', 'v')
    await (await a.admin()).pexpireat('ttl-key', at)
    await (await b.client()).set('ttl-key', 'v')
    await (await b.client()).pexpireat('ttl-key', at + 2000)
    await (await a.admin()).del('from-a')
    const run = (tolerance: string) =>
      runCli(
        ['verify', '--source-profile', 'src', '--target', `sandbox:${b.name}`, '--ttl-tolerance', tolerance],
        { env },
      )
    const [strict, loose, fraction] = await Promise.all([run('1'), run('3'), run('2.5')])
    expect(strict.code, strict.stderr).toBe(1)
    expect(loose.code, loose.stderr).toBe(0)
    expect(fraction.code, fraction.stderr).toBe(0)
    const [shownSource, shownTarget] = loose.stderr.split('\n')
    expect(shownSource).toBe(`Source: redis://127.0.0.1:${a.summary.nodes[0].port} (profile src, password)`)
    expect(shownTarget).toBe(
      `Target: redis://127.0.0.1:${b.summary.nodes[0].port} (profile sandbox:${b.name})`,
    )
    expect(strict.stdout + strict.stderr + loose.stderr).not.toContain(SOURCE_PASSWORD)
  })

  it('a side not given, or given twice, is a usage error (exit 2)', async () => {
    const none = await runCli(['verify', '--source-profile', 'src'], { env })
    expect(none.code).toBe(2)
    expect(none.stderr).toBe(
      'Error: no target given\nGive --target URL, --target PROFILE (or --target-profile NAME), or --target-elasticache / --target-serverless / --target-memorydb NAME.\n',
    )
    const twice = await runCli(
      ['migrate', 'plan', '--source', 'src', '--source-profile', 'src', '--target', b.url],
      { env },
    )
    expect(twice.code).toBe(2)
    expect(twice.stderr).toContain(
      "Error: --source 'src' is a profile name and --source-profile is given too: give one",
    )
  })
})

describe('time flags: seconds, typed, refused clearly', () => {
  it.each([
    [
      ['status', 'redis://127.0.0.1:1', '--interval', '0.01'],
      "invalid --interval '0.01': expected seconds from 0.1 to 3600",
    ],
    [
      ['replay', 'x.log', '--target', 'redis://127.0.0.1:1', '--retry-timeout', '-1'],
      "invalid --retry-timeout '-1': expected seconds 0 or more",
    ],
    [
      ['capture', 'redis://127.0.0.1:1', '--out', 'x', '--duration', '0'],
      "invalid --duration '0': expected seconds more than 0",
    ],
    [
      ['verify', '--source', 'a', '--target', 'b', '--pass-interval', 'soon'],
      "invalid --pass-interval 'soon': expected seconds 0 or more",
    ],
    [
      ['snapshot', 'aws', 'create', '--elasticache', 'x', '--name', 'n', '--poll-interval', '1e3'],
      "invalid --poll-interval '1e3': expected seconds more than 0",
    ],
    [['sandbox', 'load', '--duration', 'abc'], "invalid --duration 'abc': expected seconds 0 or more"],
    [['triage', '--duration', '0.5'], "invalid --duration '0.5': expected seconds from 1 to 3600"],
  ])('%j: exit 2', async (args, message) => {
    const r = await runCli(args, { env })
    expect(r.code).toBe(2)
    expect(r.stderr.split('\n')[0]).toBe(`Error: ${message}, fractions allowed (e.g. 1.5)`)
  })

  it('help shows the unit and the default', async () => {
    const help = await runCli(['replay', '--help'], { env })
    expect(help.stdout).toMatch(/--retry-timeout=<seconds>\s+\[default: 60\]/)
    expect(help.stdout).toMatch(/--stall-timeout=<seconds>\s+\[default: 60\]/)
    expect(help.stdout).toMatch(/--target=<value>\s+\(required\)/)
  })
})

describe('flags offered are flags that work', () => {
  it('--serverless is not offered by snapshot aws and scale aws', async () => {
    for (const args of [
      ['snapshot', 'aws', 'create', '--serverless', 'c', '--name', 'n'],
      ['snapshot', 'aws', 'list', '--serverless', 'c'],
      ['scale', 'aws', '--serverless', 'c', '--shards', '2'],
    ]) {
      const r = await runCli(args, { env })
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr).toContain('Nonexistent flag: --serverless')
    }
  })

  it('status URL --cloudwatch takes --region / --aws-profile (without --cloudwatch they are refused)', async () => {
    const withCw = await runCli(
      ['status', b.url, '--cloudwatch', '--region', 'us-east-1', '--aws-profile', 'ops'],
      {
        env,
      },
    )
    expect(withCw.code).toBe(2)
    // Past the flag check: what is missing now is the deployment's identity, as --cloudwatch explains.
    expect(withCw.stderr).toContain("Error: --cloudwatch needs the deployment's AWS identity")
    const without = await runCli(['status', b.url, '--region', 'us-east-1'], { env })
    expect(without.code).toBe(2)
    expect(without.stderr).toContain(
      'Error: --region and --aws-profile apply with --elasticache, --serverless, --memorydb, --iam or --cloudwatch',
    )
  })
})
