import { describe, expect, it } from 'vitest'
import { redisOptions } from '../../../src/connect/client.js'
import { resolveConnectionSpec } from '../../../src/connect/options.js'
import type { TokenAuth } from '../../../src/connect/iam.js'
import { noSources } from './no-sources.js'

function tokenAuth(tokens: string[]): TokenAuth & { i: number } {
  return {
    i: 0,
    username: 'iam-user',
    reauthIntervalMs: 1000,
    current() {
      return tokens[this.i]
    },
  }
}

describe('IAM in the connection layer', () => {
  it('resolveConnectionSpec refuses IAM without TLS', () => {
    expect(() =>
      resolveConnectionSpec({ url: 'redis://h:6379', iam: tokenAuth(['t1']) }, {}, noSources),
    ).toThrow(/IAM authentication requires TLS/)
  })

  it('the IAM user and the current token override URL and environment credentials', () => {
    const auth = tokenAuth(['t1', 't2'])
    const spec = resolveConnectionSpec(
      { url: 'rediss://other:pw@h:6379', iam: auth },
      { KVTOP_PASSWORD: 'env' },
      noSources,
    )
    expect(spec.endpoint).toMatchObject({ username: 'iam-user', password: 't1' })
    auth.i = 1
    // Connections opened later (new nodes, reconnects) get the token current then.
    expect(redisOptions(spec, { host: 'h', port: 6380 })).toMatchObject({
      username: 'iam-user',
      password: 't2',
    })
  })
})
