import { execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../helpers/cli.js'
import { startFakeAws } from '../../helpers/fake-aws/index.js'
import { startSandbox, type TestSandbox } from '../../helpers/sandbox.js'

const PASSWORD = 'Cfg-Profile-Pw-8841'
let sb: TestSandbox
let home: string
let env: NodeJS.ProcessEnv
const file = () => join(home, 'kvtop', 'config.json')

beforeAll(async () => {
  sb = await startSandbox({ shards: 1, replicas: 0, flavor: 'memorydb', password: PASSWORD })
  home = mkdtempSync(join(tmpdir(), 'kvtop-config-'))
  mkdirSync(join(home, 'kvtop'))
  // A file from an older kvtop, or edited by hand: what kvtop does not know must survive a rewrite.
  writeFileSync(
    file(),
    JSON.stringify({
      comment: 'ops team',
      profiles: { legacy: { url: 'redis://10.1.2.3:6379', note: 'keep me' } },
    }),
  )
  env = { XDG_CONFIG_HOME: home, KVTOP_URL: '', KVTOP_PROFILE: '', KVTOP_PASSWORD: '', REDISCLI_AUTH: '' }
})
afterAll(async () => {
  await sb?.down()
  if (home) rmSync(home, { recursive: true, force: true })
})

describe('kvtop config add | list | show | remove', () => {
  it('adds a profile (password from stdin), keeps the rest of the file, writes it 0600, and the profile connects', async () => {
    const port = sb.summary.nodes[0].port
    const add = await runCli(
      [
        'config',
        'add',
        'mdb',
        '--url',
        `redis://127.0.0.1:${port}`,
        '--user',
        'kvtop',
        '--password-stdin',
        '--timeout',
        '2.5',
      ],
      { env, input: `${PASSWORD}\n` },
    )
    expect(add.code, add.stderr).toBe(0)
    expect(add.stdout).toBe(`Profile 'mdb' saved in ${file()}. Use it with --profile mdb.\n`)
    expect(add.stderr).toBe('')
    expect(statSync(file()).mode & 0o777).toBe(0o600)
    expect(JSON.parse(readFileSync(file(), 'utf8'))).toEqual({
      comment: 'ops team',
      profiles: {
        legacy: { url: 'redis://10.1.2.3:6379', note: 'keep me' },
        mdb: { url: `redis://127.0.0.1:${port}`, password: PASSWORD, user: 'kvtop', timeout: 2.5 },
      },
    })
    const used = await runCli(['discover', '--profile', 'mdb', '--json'], { env })
    expect(used.code, used.stderr).toBe(0)
    expect(JSON.parse(used.stdout).endpoint).toBe(`redis://kvtop@127.0.0.1:${port}`)
  })

  it('lists config profiles and running sandboxes, passwords masked', async () => {
    const port = sb.summary.nodes[0].port
    const list = await runCli(['config', 'list'], { env })
    expect(list.code, list.stderr).toBe(0)
    const lines = list.stdout.split('\n')
    expect(lines[0]).toMatch(/^NAME +ENDPOINT +LOGIN +SETTINGS$/)
    expect(lines[1]).toMatch(/^legacy +redis:\/\/10\.1\.2\.3:6379 +- +-$/)
    expect(lines[2]).toMatch(
      new RegExp(`^mdb +redis://127\\.0\\.0\\.1:${port} +user kvtop \\+ password +timeout 2\\.5s$`),
    )
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(`^sandbox:${sb.name} +redis://kvtop@127\\.0\\.0\\.1:${port} +password +-$`),
      ),
    )
    const json = await runCli(['config', 'list', '--json'], { env })
    const entries = JSON.parse(json.stdout).profiles
    expect(entries.find((e: { name: string }) => e.name === 'mdb')).toEqual({
      name: 'mdb',
      source: 'config',
      profile: { url: `redis://127.0.0.1:${port}`, password: '***', user: 'kvtop', timeout: 2.5 },
    })
    expect(list.stdout + json.stdout + list.stderr + json.stderr).not.toContain(PASSWORD)
  })

  it('refuses to replace a profile without --replace, and bad input, with exit 2 and nothing written', async () => {
    const before = readFileSync(file(), 'utf8')
    const again = await runCli(['config', 'add', 'mdb', '--url', 'redis://127.0.0.1:1'], { env })
    expect(again.code).toBe(2)
    expect(again.stderr).toBe(
      `Error: profile 'mdb' already exists in ${file()}\nPass --replace to replace it, or remove it first: kvtop config remove mdb\n`,
    )
    const cases: [string[], string][] = [
      [
        ['config', 'add', 'x', '--url', 'redis://h:1', '--timeout', 'soon'],
        "Error: invalid --timeout 'soon': expected seconds more than 0",
      ],
      [
        ['config', 'add', 'x', '--user', 'u'],
        'Error: a profile needs --url URL, or --elasticache / --serverless / --memorydb NAME',
      ],
      [['config', 'add', 'x', '--url', 'http://h:1'], "Error: unsupported URL scheme 'http'"],
      [
        ['config', 'add', 'x', '--url', 'redis://h:1', '--tls-ca', 'ca.pem'],
        'Error: --tls-ca and --insecure apply to TLS connections only',
      ],
      [['config', 'add', 'sandbox:x', '--url', 'redis://h:1'], "Error: invalid profile name 'sandbox:x'"],
      [
        ['config', 'add', 'x', '--elasticache', 'a', '--memorydb', 'b'],
        'Error: The following errors occurred:\n  --elasticache=a cannot also be provided when using --memorydb',
      ],
    ]
    for (const [args, message] of cases) {
      const r = await runCli(args, { env })
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2)
      expect(r.stderr.startsWith(message), `${args.join(' ')}: ${r.stderr}`).toBe(true)
    }
    expect(readFileSync(file(), 'utf8')).toBe(before)
    const replaced = await runCli(
      ['config', 'add', 'legacy', '--url', 'redis://10.9.9.9:6380', '--replace'],
      { env },
    )
    expect(replaced.code, replaced.stderr).toBe(0)
    expect(JSON.parse(readFileSync(file(), 'utf8')).profiles.legacy).toEqual({ url: 'redis://10.9.9.9:6380' })
  })

  it('holds AWS settings too (aws profile, iam, serverless), and removes profiles', async () => {
    const add = await runCli(
      [
        'config',
        'add',
        'sless',
        '--serverless',
        'cache-1',
        '--iam',
        '--user',
        'app',
        '--region',
        'eu-west-1',
        '--aws-profile',
        'ops',
      ],
      { env },
    )
    expect(add.code, add.stderr).toBe(0)
    expect(JSON.parse(readFileSync(file(), 'utf8')).profiles.sless).toEqual({
      user: 'app',
      region: 'eu-west-1',
      awsProfile: 'ops',
      serverless: 'cache-1',
      iam: true,
    })
    const show = await runCli(['config', 'show', 'sless'], { env })
    expect(show.stdout).toBe(
      "Profile 'sless'\n  user: app\n  region: eu-west-1\n  awsProfile: ops\n  serverless: cache-1\n  iam: true\n",
    )
    const rm = await runCli(['config', 'remove', 'sless'], { env })
    expect(rm.code).toBe(0)
    expect(rm.stdout).toBe(`Profile 'sless' removed from ${file()}.\n`)
    const gone = await runCli(['config', 'remove', 'sless'], { env })
    expect(gone.code).toBe(2)
    expect(gone.stderr).toBe(`Error: no profile named 'sless' in ${file()}\nKnown profiles: legacy, mdb.\n`)
    expect(JSON.parse(readFileSync(file(), 'utf8')).comment).toBe('ops team')
  })
})

describe('kvtop config show NAME --redis-cli', () => {
  it('prints a redis-cli line that connects; the password only with --show-password', async () => {
    const port = sb.summary.nodes[0].port
    const masked = await runCli(['config', 'show', `sandbox:${sb.name}`, '--redis-cli'], { env })
    expect(masked.code, masked.stderr).toBe(0)
    expect(masked.stdout).toBe(`redis-cli -c -h 127.0.0.1 -p ${port} --user kvtop --askpass\n`)
    const shown = await runCli(['config', 'show', `sandbox:${sb.name}`, '--redis-cli', '--show-password'], {
      env,
    })
    expect(shown.code, shown.stderr).toBe(0)
    expect(shown.stdout).toBe(`REDISCLI_AUTH=${PASSWORD} redis-cli -c -h 127.0.0.1 -p ${port} --user kvtop\n`)
    // The line works as printed: redis-cli logs in as the sandbox's user.
    const reply = execFileSync('sh', ['-c', `${shown.stdout.trim()} ACL WHOAMI`], { encoding: 'utf8' })
    expect(reply.trim()).toBe('kvtop')
    const profileLine = await runCli(['config', 'show', 'mdb', '--redis-cli'], { env })
    expect(profileLine.stdout).toBe(`redis-cli -c -h 127.0.0.1 -p ${port} --user kvtop --askpass\n`)
    const needsRedisCli = await runCli(['config', 'show', 'mdb', '--show-password'], { env })
    expect(needsRedisCli.code).toBe(2)
    expect(needsRedisCli.stdout + needsRedisCli.stderr).not.toContain(PASSWORD)
  })
})

describe('a profile naming a serverless cache, with its AWS profile and region', () => {
  it('is looked up at AWS with those credentials, in that region', async () => {
    const fake = await startFakeAws({ extraKeys: { AKIAPROFILEOPS000042: 'profile/secret/ops42' } })
    try {
      fake.state.addServerlessCache({ name: 'sless' })
      writeFileSync(
        join(home, 'credentials'),
        '[ops]\naws_access_key_id = AKIAPROFILEOPS000042\naws_secret_access_key = profile/secret/ops42\n',
      )
      writeFileSync(join(home, 'aws-config'), '[profile ops]\nregion = eu-west-1\n')
      const awsEnv = fake.env({
        ...env,
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
        AWS_REGION: '',
        AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
        AWS_CONFIG_FILE: join(home, 'aws-config'),
      })
      const add = await runCli(
        [
          'config',
          'add',
          'cache',
          '--serverless',
          'sless',
          '--aws-profile',
          'ops',
          '--region',
          fake.state.region,
        ],
        { env: awsEnv },
      )
      expect(add.code, add.stderr).toBe(0)
      const r = await runCli(['discover', '--profile', 'cache', '--aws-only', '--json'], { env: awsEnv })
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout).aws).toMatchObject({ name: 'sless', kind: 'serverless-cache' })
      const calls = fake.requests.filter((q) => q.operation === 'DescribeServerlessCaches')
      expect(calls.length).toBeGreaterThan(0)
      for (const call of calls)
        expect(call).toMatchObject({ accessKeyId: 'AKIAPROFILEOPS000042', region: fake.state.region })
    } finally {
      await fake.close()
    }
  })
})
