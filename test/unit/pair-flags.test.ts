import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { withProfileAwsSettings } from '../../src/aws/flags.js'
import { resolvePair, sideFlagValues } from '../../src/pair-flags.js'
import { forgetSecretsForTests } from '../../src/redact.js'

let home: string
const saved = process.env.XDG_CONFIG_HOME
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'kvtop-pair-'))
  mkdirSync(join(home, 'kvtop'))
  writeFileSync(
    join(home, 'kvtop', 'config.json'),
    JSON.stringify({
      profiles: {
        plain: { url: 'redis://10.0.0.1:6379', password: 'Plain-Pw-123' },
        sless: { serverless: 'cache-1', region: 'eu-west-1', awsProfile: 'ops', iam: true, user: 'app' },
        mdb: { url: 'rediss://clustercfg.mdb.example:6379', memorydb: 'mdb', iam: true, user: 'dst' },
      },
    }),
  )
  process.env.XDG_CONFIG_HOME = home
})
afterEach(() => {
  if (saved === undefined) delete process.env.XDG_CONFIG_HOME
  else process.env.XDG_CONFIG_HOME = saved
  rmSync(home, { recursive: true, force: true })
  forgetSecretsForTests()
})

describe('verify / migrate: each side takes what a one-endpoint command takes', () => {
  it("reads one side's flags, the shared TLS and timeout settings under its own", () => {
    const flags = {
      source: 'redis://a.example:7000',
      target: 'plain',
      'tls-ca': '/shared.pem',
      timeout: 2.5,
      'source-user': 'reader',
      'source-nat-map': ['10.0.0.9:7000=127.0.0.1:17000'],
      'target-user': 'writer',
      'target-tls-ca': '/target.pem',
    }
    expect(sideFlagValues('source', flags)).toEqual({
      url: 'redis://a.example:7000',
      aws: false,
      values: {
        user: 'reader',
        'tls-ca': '/shared.pem',
        insecure: undefined,
        timeout: 2.5,
        profile: undefined,
        'nat-map': ['10.0.0.9:7000=127.0.0.1:17000'],
        iam: undefined,
        elasticache: undefined,
        serverless: undefined,
        memorydb: undefined,
      },
    })
    const target = sideFlagValues('target', flags)
    expect(target.url).toBeUndefined()
    expect(target.values).toMatchObject({ profile: 'plain', user: 'writer', 'tls-ca': '/target.pem' })
  })

  it('a side named at AWS takes --region / --aws-profile; a plain side does not', () => {
    const flags = {
      'source-elasticache': 'orders',
      'source-iam': true,
      'source-user': 'src',
      'target-profile': 'plain',
      region: 'us-east-1',
      'aws-profile': 'ops',
    }
    const source = sideFlagValues('source', flags)
    expect(source.aws).toBe(true)
    expect(source.values).toMatchObject({
      elasticache: 'orders',
      iam: true,
      region: 'us-east-1',
      'aws-profile': 'ops',
    })
    const target = sideFlagValues('target', flags)
    expect(target.aws).toBe(false)
    expect(target.values.region).toBeUndefined()
  })

  it('refuses a side given twice or not at all, and --region where no side goes through AWS (exit 2)', async () => {
    expect(() => sideFlagValues('source', { source: 'plain', 'source-profile': 'mdb' })).toThrow(
      "--source 'plain' is a profile name and --source-profile is given too: give one",
    )
    expect(() => sideFlagValues('target', { source: 'plain' })).toThrow('no target given')
    const err = await resolvePair({ source: 'plain', target: 'redis://b:1', region: 'us-east-1' }).catch(
      (e) => e,
    )
    expect(err).toMatchObject({
      exitCode: 2,
      message:
        '--region and --aws-profile apply when a side is named at AWS (--source-elasticache ...) or uses IAM',
    })
  })

  it('plain sides resolve without AWS: the inputs a Deployment connects with', async () => {
    const { source, target } = await resolvePair({
      source: 'redis://a.example:7000',
      'source-user': 'reader',
      'target-profile': 'plain',
      timeout: 3,
    })
    expect(source.input).toMatchObject({ url: 'redis://a.example:7000', user: 'reader', timeout: 3 })
    expect(source.aws).toBeUndefined()
    expect(target.input).toMatchObject({ profile: 'plain', timeout: 3 })
    source.close()
    target.close()
  })
})

describe('profiles hold the AWS settings too', () => {
  it('serverless, iam, user, region and awsProfile of a profile apply under the flags', () => {
    expect(withProfileAwsSettings(undefined, { profile: 'sless' })).toEqual({
      profile: 'sless',
      iam: true,
      user: 'app',
      serverless: 'cache-1',
      region: 'eu-west-1',
      'aws-profile': 'ops',
    })
    // Flags win over the profile.
    expect(
      withProfileAwsSettings(undefined, { profile: 'sless', region: 'us-west-2', user: 'me' }),
    ).toMatchObject({
      region: 'us-west-2',
      user: 'me',
    })
  })

  it('a profile with a URL and IAM names its resource for the token; one without IAM stays plain', () => {
    expect(withProfileAwsSettings(undefined, { profile: 'mdb' })).toMatchObject({
      memorydb: 'mdb',
      iam: true,
      user: 'dst',
    })
    expect(withProfileAwsSettings(undefined, { profile: 'plain' })).toEqual({ profile: 'plain' })
  })
})
