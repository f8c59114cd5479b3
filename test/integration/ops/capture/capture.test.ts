import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster } from 'ioredis'
import { parseMonitorLine } from '../../../../src/data/monitor/monitor-line.js'
import { runCli } from '../../../helpers/cli.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

describe('kvtop capture', () => {
  let sb: TestSandbox
  let dir: string
  beforeAll(async () => {
    sb = await startSandbox({ shards: 2, replicas: 0 })
    dir = mkdtempSync(join(tmpdir(), 'kvtop-capture-'))
  })
  afterAll(async () => sb?.down())

  it('records every primary byte-exactly, leaves out admin commands, writes 0600 atomically', async () => {
    const out = join(dir, 'traffic.log')
    const run = runCli(['capture', sb.url, '--out', out, '--duration', '6', '--json'])
    // Let MONITOR attach on both primaries before writing.
    for (const node of sb.summary.nodes) {
      const admin = await sb.admin(node.port)
      const deadline = Date.now() + 20_000
      while (!String(await admin.call('CLIENT', 'LIST')).includes('cmd=monitor') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100))
      }
    }
    const cluster = new Cluster(
      sb.summary.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
      { redisOptions: { protocol: 2 } },
    )
    const written: [Buffer, Buffer][] = []
    try {
      for (let i = 0; i < 40; i++) {
        const key = Buffer.concat([Buffer.from(`cap:${i}:`), Buffer.from([0x00, 0xff, 0x0d, 0x0a])])
        const value = Buffer.from([i, 0x22, 0x5c, 0x80, 0x0a])
        await cluster.set(key, value)
        written.push([key, value])
      }
      await cluster.info()
      await cluster.ping()
    } finally {
      cluster.disconnect()
    }
    const r = await run
    expect(r.code).toBe(0)
    // NDJSON events on stderr, the one result document on stdout.
    const events = r.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(events[0]).toMatchObject({
      type: 'warning',
      message: expect.stringContaining('MONITOR costs'),
      at: expect.any(Number),
    })
    expect(events.some((e) => e.type === 'progress' && e.unit === 'commands')).toBe(true)
    const report = JSON.parse(r.stdout)
    expect(report).toMatchObject({ out, commands: 40, nodes: expect.any(Array) })
    expect(report.nodes).toHaveLength(2)
    expect(report.skippedAdmin).toBeGreaterThan(0)

    expect(statSync(out).mode & 0o777).toBe(0o600)
    expect(readdirSync(dir).filter((f) => f.includes('partial'))).toEqual([])
    const records = readFileSync(out)
      .toString('latin1')
      .trim()
      .split('\n')
      .map((l) => parseMonitorLine(Buffer.from(l, 'latin1')))
    expect(records.every((rec) => rec.args[0].toString().toUpperCase() === 'SET')).toBe(true)
    const seen = records
      .map((rec) => Buffer.concat([rec.args[1], Buffer.from('='), rec.args[2]]).toString('hex'))
      .sort()
    expect(seen).toEqual(
      written.map(([k, v]) => Buffer.concat([k, Buffer.from('='), v]).toString('hex')).sort(),
    )
  })

  it('refuses to replace an existing file without --force, and an unwritable path, with exit 2 before any work', async () => {
    const existing = join(dir, 'existing.log')
    writeFileSync(existing, 'keep me')
    const r = await runCli(['capture', sb.url, '--out', existing, '--duration', '1'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('already exists')
    expect(readFileSync(existing, 'utf8')).toBe('keep me')
    const bad = await runCli(['capture', sb.url, '--out', '/nonexistent-dir/x.log', '--duration', '1'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('cannot write /nonexistent-dir/x.log')
  })

  it('says so when the user may not run MONITOR (exit 2)', async () => {
    for (const node of sb.summary.nodes) {
      const admin = await sb.admin(node.port)
      await admin.call('ACL', 'SETUSER', 'nomon', 'on', '>Nomon-Pass-1', '~*', '&*', '+@all', '-monitor')
    }
    const r = await runCli([
      'capture',
      `redis://nomon:Nomon-Pass-1@127.0.0.1:${sb.summary.nodes[0].port}`,
      '--out',
      join(dir, 'nomon.log'),
      '--duration',
      '1',
    ])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('refuses MONITOR')
    expect(r.stderr).not.toContain('Nomon-Pass-1')
  })
})
