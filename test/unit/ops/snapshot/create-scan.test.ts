import { describe, expect, it } from 'vitest'
import { UsageError } from '../../../../src/errors.js'
import { scanStrategy } from '../../../../src/ops/snapshot/create-scan.js'

describe('scanStrategy', () => {
  it('refuses an endpoint that refuses SCAN or DUMP (exit 2, code refused), naming what to grant', () => {
    expect(() => scanStrategy.checkAllowed(new Set(['sync', 'psync', 'keys']), 'elasticache')).not.toThrow()
    for (const [refused, name] of [
      ['scan', 'SCAN'],
      ['dump', 'DUMP'],
    ]) {
      let err: unknown
      try {
        scanStrategy.checkAllowed(new Set([refused]), 'memorydb')
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(UsageError)
      expect(err).toMatchObject({
        message: `the endpoint refuses ${name} for this user`,
        code: 'refused',
        exitCode: 2,
        hint: 'snapshot create --method scan needs SCAN, DUMP and PEXPIRETIME/PTTL: grant them to the ACL user.',
      })
    }
  })

  it('may read a key twice (SCAN), on a standalone server as on a cluster: every key written is fingerprinted', () => {
    expect(scanStrategy.repeatsKeys(false)).toBe(true)
    expect(scanStrategy.repeatsKeys(true)).toBe(true)
  })
})
