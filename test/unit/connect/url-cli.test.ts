import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../../helpers/cli.js'

// The built CLI (npm run build first), against ports where nothing listens: every run ends at
// "cannot connect" (exit 3) or earlier, so no server is needed.
const home = mkdtempSync(join(tmpdir(), 'kvtop-url-cli-'))
mkdirSync(join(home, 'kvtop'))
writeFileSync(
  join(home, 'kvtop', 'config.json'),
  JSON.stringify({
    profiles: {
      one: { url: 'redis://127.0.0.1:1', password: 'Profile-Secret-1' },
      withurlpw: { url: 'redis://u:Profile-Url-Secret@127.0.0.1:1' },
    },
  }),
)
afterAll(() => rmSync(home, { recursive: true, force: true }))

const base: NodeJS.ProcessEnv = {
  XDG_CONFIG_HOME: home,
  KVTOP_URL: '',
  KVTOP_PROFILE: '',
  KVTOP_PASSWORD: '',
  REDISCLI_AUTH: '',
}
const env = (over: NodeJS.ProcessEnv = {}) => ({ ...base, ...over })
const WARNING =
  /^Warning: Using a password in a URL on the command line may not be safe.*KVTOP_PASSWORD.*REDISCLI_AUTH.*profile/m
const STACK_LINE = /^\s+at /m

describe('kvtop with URLs on the command line', () => {
  it('redis://ops:pa/ss@127.0.0.1:1 connects (exit 3 here) and never prints the password', async () => {
    const r = await runCli(['discover', 'redis://ops:pa/ss@127.0.0.1:1', '--timeout', '1'], { env: env() })
    expect(r.code, r.stderr).toBe(3)
    expect(r.stderr).toMatch(/cannot connect to 127\.0\.0\.1:1/)
    expect(r.stdout + r.stderr).not.toMatch(/pa\/ss|\bss@|'pa'/)
  })

  it('redis://SECRET@host is a password: never printed', async () => {
    const r = await runCli(['discover', 'redis://Bare-Cli-Secret@127.0.0.1:1', '--timeout', '1', '--json'], {
      env: env(),
    })
    expect(r.code).toBe(3)
    expect(r.stdout + r.stderr).not.toContain('Bare-Cli-Secret')
  })

  it.each([
    [
      'redis://ops:p%zz@127.0.0.1:1',
      /invalid percent-encoding in the password of endpoint URL 'redis:\/\/ops:\*\*\*@127\.0\.0\.1:1'/,
    ],
    ['redis://ops:pa/ss@127.0.0.1:99999', /invalid port '99999'/],
    ['redis://ops:pa/ss@:6379', /no host in endpoint URL/],
    ['memcached://ops:pa/ss@host', /unsupported URL scheme 'memcached'/],
  ])('%s: exit 2 with a message naming the field, never an internal error', async (url, message) => {
    const r = await runCli(['discover', url], { env: env() })
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(message)
    expect(r.stdout + r.stderr).not.toMatch(/internal error|pa\/ss|p%zz/)
    expect(r.stderr).not.toMatch(STACK_LINE)
  })

  it('a password in an argument gets a warning line on stderr (once, even for two URLs)', async () => {
    const r = await runCli(
      [
        'verify',
        '--source',
        'redis://:Src-Secret@127.0.0.1:1',
        '--target=redis://Tgt-Secret@127.0.0.1:2',
        '--timeout',
        '1',
      ],
      { env: env() },
    )
    expect(r.stderr).toMatch(WARNING)
    expect(r.stderr.match(/^Warning: Using a password/gm)).toHaveLength(1)
    expect(r.stdout + r.stderr).not.toMatch(/Src-Secret|Tgt-Secret/)
  })

  it('under --json the warning is an NDJSON event on stderr; stdout holds the one error document', async () => {
    const r = await runCli(['discover', 'redis://u:Json-Secret@127.0.0.1:1', '--timeout', '1', '--json'], {
      env: env(),
    })
    expect(r.code).toBe(3)
    const first = JSON.parse(r.stderr.split('\n')[0])
    expect(first).toMatchObject({ type: 'warning', message: expect.stringMatching(/KVTOP_PASSWORD/) })
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { exitCode: 3 } })
    expect(r.stdout + r.stderr).not.toContain('Json-Secret')
  })

  it('no warning when the password comes from the environment or a profile', async () => {
    const fromEnv = await runCli(['discover', '--timeout', '1'], {
      env: env({ KVTOP_URL: 'redis://u:Env-Url-Secret@127.0.0.1:1' }),
    })
    const fromPasswordEnv = await runCli(['discover', 'redis://127.0.0.1:1', '--timeout', '1'], {
      env: env({ KVTOP_PASSWORD: 'Env-Pw-Secret' }),
    })
    const fromProfile = await runCli(['discover', '--profile', 'withurlpw', '--timeout', '1'], { env: env() })
    for (const r of [fromEnv, fromPasswordEnv, fromProfile]) {
      expect(r.code, r.stderr).toBe(3)
      expect(r.stderr).not.toMatch(/Warning/)
      expect(r.stdout + r.stderr).not.toMatch(/Env-Url-Secret|Env-Pw-Secret|Profile-Url-Secret/)
    }
  })

  it('an explicit --profile beats KVTOP_URL', async () => {
    const r = await runCli(['discover', '--profile', 'one', '--timeout', '1'], {
      env: env({ KVTOP_URL: 'redis://127.0.0.1:2' }),
    })
    expect(r.code, r.stderr).toBe(3)
    expect(r.stderr).toMatch(/cannot connect to 127\.0\.0\.1:1\b/)
    const fromEnv = await runCli(['discover', '--timeout', '1'], {
      env: env({ KVTOP_URL: 'redis://127.0.0.1:2' }),
    })
    expect(fromEnv.stderr).toMatch(/cannot connect to 127\.0\.0\.1:2\b/)
  })

  it('--source NAME (a profile) beats KVTOP_URL', async () => {
    const r = await runCli(
      ['verify', '--source', 'one', '--target', 'redis://127.0.0.1:3', '--timeout', '1'],
      {
        env: env({ KVTOP_URL: 'redis://127.0.0.1:2' }),
      },
    )
    expect(r.stderr).toMatch(/127\.0\.0\.1:1\b/)
    expect(r.stderr).not.toMatch(/127\.0\.0\.1:2\b/)
  })
})
