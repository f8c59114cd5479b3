import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_USER } from '../../../../src/sandbox/flavors.js'
import { runCli } from '../../../helpers/cli.js'
import { digestsByKey } from '../../../helpers/dataset.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

const bin = (s: string) => Buffer.concat([Buffer.from(s), Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0xc3, 0x28])])

async function waitFor(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

// scripts/ensure-redis.sh (npm test's pretest) installs redis-cli beside redis-server; a machine with
// only valkey-server has none.
const noRedisCli = spawnSync('redis-cli', ['--version']).status !== 0
if (noRedisCli) console.log('redis-cli monitor tests skipped: no redis-cli on PATH')

describe.skipIf(noRedisCli)('kvtop replay of a `redis-cli monitor > file` capture', () => {
  let source: TestSandbox
  let target: TestSandbox
  let dir: string
  let monitor: ChildProcess | undefined

  beforeAll(async () => {
    ;[source, target] = await Promise.all([
      startSandbox({ shards: 0, replicas: 0 }),
      startSandbox({ shards: 0, replicas: 0 }),
    ])
    dir = mkdtempSync(join(tmpdir(), 'kvtop-cli-monitor-'))
  })
  afterAll(async () => {
    monitor?.kill('SIGKILL')
    await Promise.all([source, target].map((s) => s?.down()))
    rmSync(dir, { recursive: true, force: true })
  })

  it('starts with OK, is detected as MONITOR and replays binary keys and values byte for byte', async () => {
    const file = join(dir, 'monitor.log')
    const fd = openSync(file, 'w')
    monitor = spawn(
      'redis-cli',
      ['-h', '127.0.0.1', '-p', String(source.summary.nodes[0].port), '--user', ADMIN_USER, 'monitor'],
      // REDISCLI_AUTH: the password stays off the command line.
      { stdio: ['ignore', fd, 'ignore'], env: { ...process.env, REDISCLI_AUTH: source.state.adminPassword } },
    )
    closeSync(fd)
    const admin = await source.admin()
    await waitFor(
      async () => String(await admin.call('CLIENT', 'LIST')).includes('cmd=monitor'),
      'redis-cli monitor to attach',
    )
    const client = await source.client()
    for (let i = 0; i < 50; i++) {
      await client.set(bin(`k:${i}`), bin(`value ${i}\n"quoted"\\`))
      await client.hset(bin(`h:${i % 5}`), bin(`f${i}`), bin(`v${i}`))
      await client.rpush(bin('list'), bin(`e${i}`))
      await client.zadd(bin('z'), String(i / 3), bin(`m${i}`))
    }
    await client.del(bin('k:7'))
    await client.set('sentinel', 'last')
    // redis-cli flushes each line: once the last write is in the file, everything before it is.
    await waitFor(() => readFileSync(file, 'latin1').includes('"sentinel" "last"'), 'the last line')
    monitor.kill('SIGTERM')
    await new Promise((r) => monitor!.once('close', r))
    monitor = undefined

    const captured = readFileSync(file, 'latin1')
    expect(captured.split('\n')[0]).toBe('OK')

    const r = await runCli(['replay', file, '--to', target.url, '--json'])
    expect(r.stderr).not.toContain('Error')
    expect(r.code).toBe(0)
    const result = JSON.parse(r.stdout)
    expect(result).toMatchObject({ format: 'monitor', errors: { total: 0 } })
    // Every SET, HSET, RPUSH and ZADD, the DEL and the sentinel; no command for the OK line.
    expect(result.commands).toBe(50 * 4 + 2)

    const expected = await digestsByKey([admin])
    expect(expected.size).toBe(49 + 5 + 2 + 1)
    expect(expected.has(bin('k:7').toString('hex'))).toBe(false)
    expect(await digestsByKey([await target.admin()])).toEqual(expected)
    const replayed = await target.client()
    expect(await replayed.getBuffer(bin('k:3'))).toEqual(bin('value 3\n"quoted"\\'))
  })

  it('with --format monitor too', async () => {
    const file = join(dir, 'monitor.log')
    const r = await runCli(['replay', file, '--to', target.url, '--format', 'monitor', '--replace', '--json'])
    expect(r.stderr).not.toContain('Error')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ format: 'monitor', errors: { total: 0 } })
  })
})
