import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { fleetTargets, refuseAwsNamesInFleet } from '../../../src/connect/fleet.js'

const dir = mkdtempSync(join(tmpdir(), 'kvtop-fleet-targets-'))
mkdirSync(join(dir, 'kvtop'))
writeFileSync(
  join(dir, 'kvtop', 'config.json'),
  JSON.stringify({ profiles: { zeta: { url: 'redis://10.0.0.2' }, alpha: { url: 'redis://10.0.0.1' } } }),
)
const env = { XDG_CONFIG_HOME: dir }
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('fleetTargets', () => {
  it('names a URL without its password, a profile by its name; URLs first, then profiles in order', () => {
    expect(
      fleetTargets(['redis://ops:S3cret-Pw@10.0.0.5:6380/2', 'rediss://10.0.0.6'], ['b', 'a'], false, env),
    ).toEqual([
      { name: 'redis://ops@10.0.0.5:6380/2', url: 'redis://ops:S3cret-Pw@10.0.0.5:6380/2' },
      { name: 'rediss://10.0.0.6:6379', url: 'rediss://10.0.0.6' },
      { name: 'b', profile: 'b' },
      { name: 'a', profile: 'a' },
    ])
  })

  it('--all-profiles: every profile of the config file, sorted; none is a usage error', () => {
    expect(fleetTargets([], [], true, env).map((t) => t.name)).toEqual(['alpha', 'zeta'])
    expect(() => fleetTargets([], [], true, { XDG_CONFIG_HOME: join(dir, 'none') })).toThrow(
      `--all-profiles: no profiles in ${join(dir, 'none', 'kvtop', 'config.json')}`,
    )
  })

  it('refuses a deployment named twice, and AWS names beside several deployments', () => {
    expect(() => fleetTargets(['redis://10.0.0.1', 'redis://10.0.0.1:6379'], [], false, env)).toThrow(
      'redis://10.0.0.1:6379 is named twice: give each deployment once',
    )
    expect(() => refuseAwsNamesInFleet({ memorydb: 'sessions' })).toThrow(
      '--memorydb names one deployment and cannot be combined with several',
    )
    expect(() => refuseAwsNamesInFleet({})).not.toThrow()
  })
})
