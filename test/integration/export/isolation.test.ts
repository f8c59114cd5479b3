import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../helpers/ports.js'
import { startSandbox, type TestSandbox } from '../../helpers/sandbox.js'
import { eventually, sampleValue, startExport, type RunningExport } from './export-process.js'

/**
 * One exporter, four deployments: a healthy one, one whose node accepts connections and never
 * answers (its connect hangs for the whole --timeout), one refusing connections, one refusing the
 * password. The healthy one's figures keep coming; no password shows anywhere.
 */
const SANDBOX_PASSWORD = 'sandbox-Pa55-9f3e'
const PROFILE_PASSWORD = 'profile-secret-77aa'
const WRONG_PASSWORD = 'wrong-pass-c0ffee'
const URL_PASSWORD = 'url-pass-d34db33f'

describe('kvtop export with a stuck, a dead and a refused deployment beside a healthy one', () => {
  let sb: TestSandbox
  let blackhole: Server
  const held: Socket[] = []
  let exporter: RunningExport | undefined
  let dir: string
  let healthy: string
  let blackholeAddr: string
  let deadAddr: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvtop-export-'))
    sb = await startSandbox({ shards: 0, replicas: 0, password: SANDBOX_PASSWORD })
    const port = sb.summary.nodes[0].port
    healthy = `127.0.0.1:${port}`
    const blackholePort = await freePort()
    blackhole = createServer((s) => held.push(s))
    await new Promise<void>((r) => blackhole.listen(blackholePort, '127.0.0.1', r))
    blackholeAddr = `127.0.0.1:${blackholePort}`
    deadAddr = `127.0.0.1:${await freePort()}`
    mkdirSync(join(dir, 'kvtop'))
    writeFileSync(
      join(dir, 'kvtop', 'config.json'),
      JSON.stringify({
        profiles: {
          stuck: { url: `redis://${blackholeAddr}`, password: PROFILE_PASSWORD },
          badauth: { url: `redis://${healthy}`, password: WRONG_PASSWORD },
        },
      }),
    )
    expect(sb.url).toContain(SANDBOX_PASSWORD)
    exporter = await startExport(
      [
        sb.url,
        `redis://:${URL_PASSWORD}@${deadAddr}`,
        '--profile',
        'stuck',
        '--profile',
        'badauth',
        '--timeout',
        '120',
        '--interval',
        '0.5',
      ],
      { XDG_CONFIG_HOME: dir },
    )
  }, 120_000)

  afterAll(async () => {
    await exporter?.stop()
    for (const s of held) s.destroy()
    await new Promise((r) => blackhole?.close(r))
    await sb?.down()
    rmSync(dir, { recursive: true, force: true })
  }, 60_000)

  it("keeps serving the healthy deployment's rounds while another's connect hangs", async () => {
    const round = async () =>
      sampleValue(
        (await exporter!.get('/metrics')).body,
        `kvtop_deployment_last_round_timestamp_seconds{deployment="${healthy}"}`,
      )
    const first = await eventually('a first round of the healthy deployment', round)
    let last = first
    for (let i = 0; i < 3; i++) {
      last = await eventually('a newer round', async () => {
        const v = await round()
        return v !== undefined && v > last ? v : undefined
      })
    }
    expect(last).toBeGreaterThan(first)
    const { body } = await exporter!.get('/metrics')
    // The stuck deployment is still connecting (its --timeout is 120 s): shown down, not waited for.
    expect(held.length).toBeGreaterThan(0)
    expect(exporter!.lines().some((l) => l.type === 'polling' && l.deployment === 'stuck')).toBe(false)
    expect(sampleValue(body, `redis_up{deployment="${healthy}",shard="0",addr="${healthy}"}`)).toBe(1)
    expect(sampleValue(body, `redis_up{deployment="stuck",shard="0",addr="${blackholeAddr}"}`)).toBe(0)
    expect(sampleValue(body, `kvtop_deployment_up{deployment="stuck"}`)).toBe(0)
    expect(sampleValue(body, `kvtop_deployment_up{deployment="${healthy}"}`)).toBe(1)
    expect(sampleValue(body, `redis_up{deployment="${deadAddr}",shard="0",addr="${deadAddr}"}`)).toBe(0)
    expect(sampleValue(body, `redis_up{deployment="badauth",shard="0",addr="${healthy}"}`)).toBe(0)
    const health = await exporter!.get('/healthz')
    expect(health.status).toBe(200)
    expect(JSON.parse(health.body)).toEqual({ status: 'ok', deployments: 4, polling: 1 })
  }, 120_000)

  it('reports the refused ones as connect failures, retried', async () => {
    await eventually('two connect failures of each refused deployment', async () => {
      const failed = exporter!.lines().filter((l) => l.type === 'connect-failed')
      const dead = failed.filter((l) => l.deployment === deadAddr)
      const auth = failed.filter((l) => l.deployment === 'badauth')
      return dead.length >= 2 && auth.length >= 2 ? true : undefined
    })
    const failed = exporter!.lines().filter((l) => l.type === 'connect-failed')
    expect(failed.find((l) => l.deployment === deadAddr)!.message).toMatch(/refused/)
    expect(failed.find((l) => l.deployment === 'badauth')!.message).toMatch(/WRONGPASS|password|auth/i)
  }, 120_000)

  it('never shows a password: not in /metrics, /healthz, stdout or stderr', async () => {
    const texts = [
      (await exporter!.get('/metrics')).body,
      (await exporter!.get('/healthz')).body,
      exporter!.stdout(),
      exporter!.stderr(),
    ]
    for (const secret of [SANDBOX_PASSWORD, PROFILE_PASSWORD, WRONG_PASSWORD, URL_PASSWORD])
      for (const text of texts) expect(text).not.toContain(secret)
  })

  it('stops cleanly on SIGTERM: exit 0, a done line, the server closed', async () => {
    const code = await exporter!.stop()
    expect(code).toBe(0)
    expect(exporter!.lines().at(-1)?.type).toBe('done')
    await expect(fetch(`http://${exporter!.address}/healthz`)).rejects.toThrow()
    exporter = undefined
  }, 60_000)
})
