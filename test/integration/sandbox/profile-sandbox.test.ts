import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../helpers/cli.js'
import { startSandbox, type TestSandbox } from '../../helpers/sandbox.js'

// A memorydb sandbox's URL names its ACL user (`redis://kvtop@127.0.0.1:PORT`) and keeps the password
// apart: through --profile sandbox:NAME that `kvtop@` is the user, not a redis-cli style password.
let sb: TestSandbox
beforeAll(async () => {
  sb = await startSandbox({ shards: 1, replicas: 0, flavor: 'memorydb', password: 'Mdb-Profile-Pw-5521' })
})
afterAll(async () => {
  await sb?.down()
})

describe('--profile sandbox:NAME (memorydb flavor, an ACL user with a password)', () => {
  it('logs in as the sandbox user, without a warning, and never prints the password', async () => {
    expect(sb.summary.url).toMatch(/^redis:\/\/kvtop@127\.0\.0\.1:\d+$/)
    const r = await runCli(['discover', '--profile', `sandbox:${sb.name}`, '--json'], {
      env: { KVTOP_URL: 'redis://127.0.0.1:1', KVTOP_PASSWORD: '', REDISCLI_AUTH: '' },
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout).capabilities.clusterEnabled).toBe(true)
    expect(r.stdout + r.stderr).not.toContain('Mdb-Profile-Pw-5521')
  })

  it("the test helper's client logs in as the sandbox user too", async () => {
    const client = await sb.client()
    expect(await client.call('ACL', 'WHOAMI')).toBe('kvtop')
  })
})
