import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { runCli, type CliResult } from '../../../helpers/cli.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * A full disk while writing: a 1 MiB tmpfs as the destination, a few MiB of data to write. Needs
 * root (to mount it); skipped with one line otherwise.
 */
function mountProblem(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux'
  if (process.getuid?.() !== 0) return 'not running as root (a tmpfs must be mounted)'
  const probe = mkdtempSync(join(tmpdir(), 'kvtop-tmpfs-probe-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'pipe' })
    execFileSync('umount', [probe], { stdio: 'pipe' })
    return undefined
  } catch (err) {
    return `cannot mount a tmpfs: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`
  } finally {
    rmSync(probe, { recursive: true, force: true })
  }
}

const skip = mountProblem()
if (skip) console.log(`disk-full tests skipped: ${skip}`)

/** No stack trace, no "internal error": the disk-full message and what to do. */
function expectDiskFullMessage(r: CliResult, path: string, dir: string): void {
  expect(r.code, r.stderr).toBe(5)
  expect(r.stderr).toContain(`Error: cannot write ${path}: the disk holding ${dir} is full (ENOSPC)`)
  expect(r.stderr).toContain('no partial file was left behind')
  expect(r.stderr).toContain('Free space on that disk, or write the file to another disk')
  expect(r.stderr).not.toMatch(/internal error/i)
  expect(r.stderr).not.toMatch(/^\s+at /m)
}

describe.skipIf(skip !== undefined)('a full disk while writing (1 MiB tmpfs)', () => {
  let sb: TestSandbox
  let admin: Redis
  let mnt: string
  let mounted = false

  beforeAll(async () => {
    mnt = mkdtempSync(join(tmpdir(), 'kvtop-diskfull-'))
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'tmpfs', mnt], { stdio: 'pipe' })
    mounted = true
    sb = await startSandbox({ shards: 0 })
    admin = await sb.admin()
    // 4 MiB of incompressible values: four times what the disk holds.
    for (let i = 0; i < 40; i++) await admin.set(`big:${i}`, randomBytes(100 * 1024))
    await admin.call('CONFIG', 'SET', 'repl-diskless-sync-delay', '0')
  })

  afterAll(async () => {
    try {
      await sb?.down()
    } finally {
      if (mounted) {
        try {
          execFileSync('umount', [mnt], { stdio: 'pipe' })
        } catch {
          execFileSync('umount', ['-l', mnt], { stdio: 'pipe' })
        }
      }
      if (mnt) rmSync(mnt, { recursive: true, force: true })
    }
  })

  afterEach(() => {
    for (const f of readdirSync(mnt)) rmSync(join(mnt, f), { recursive: true, force: true })
  })

  for (const method of ['scan', 'sync'] as const) {
    it(`snapshot create --method ${method}: exit 5, says the disk is full and what to do; the earlier file kept, no temporary file`, async () => {
      const out = join(mnt, 'dump.rdb')
      writeFileSync(out, 'the previous snapshot')
      const r = await runCli(['snapshot', 'create', sb.url, '--out', out, '--method', method, '--force'])
      expectDiskFullMessage(r, out, mnt)
      // --force replaces the file only once the new one is complete: it never was.
      expect(readdirSync(mnt)).toEqual(['dump.rdb'])
      expect(readFileSync(out, 'utf8')).toBe('the previous snapshot')
    })
  }

  it('snapshot create --json: the error document says disk-full, exit 5, nothing under the final name', async () => {
    const out = join(mnt, 'fresh.rdb')
    const r = await runCli(['snapshot', 'create', sb.url, '--out', out, '--json'])
    expect(r.code, r.stderr).toBe(5)
    const doc = JSON.parse(r.stdout.slice(r.stdout.lastIndexOf('{\n  "error"')))
    expect(doc.error).toMatchObject({
      code: 'disk-full',
      exitCode: 5,
      message: expect.stringContaining('is full (ENOSPC)'),
      hint: expect.stringContaining('Free space'),
    })
    expect(readdirSync(mnt)).toEqual([])
  })

  it('capture: stops at once when the disk fills, exit 5 with the disk-full message, nothing under the final name', async () => {
    const out = join(mnt, 'traffic.log')
    let finished = false
    const run = runCli(['capture', sb.url, '--out', out, '--duration', '120'], {
      timeoutMs: 150_000,
    }).finally(() => (finished = true))
    const deadline = Date.now() + 20_000
    while (!String(await admin.call('CLIENT', 'LIST')).includes('cmd=monitor') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100))
    // Each SET of 100 KiB of random bytes is a MONITOR line of about 300 KiB: the disk fills in a few.
    const client = await sb.client()
    for (let i = 0; i < 200 && !finished; i++) {
      await client.set(`cap:${i}`, randomBytes(100 * 1024))
      await new Promise((r) => setTimeout(r, 20))
    }
    const r = await run
    expectDiskFullMessage(r, out, mnt)
    // It stopped when the write failed, not when --duration ran out.
    expect(r.ms).toBeLessThan(60_000)
    expect(readdirSync(mnt)).toEqual([])
  }, 180_000)
})
