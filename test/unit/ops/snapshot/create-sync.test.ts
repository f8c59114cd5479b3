import { describe, expect, it } from 'vitest'
import { UsageError } from '../../../../src/errors.js'
import { syncStrategy } from '../../../../src/ops/snapshot/create-sync.js'

describe('syncStrategy', () => {
  it('refuses an endpoint that refuses SYNC or PSYNC, naming a managed provider and pointing to --method scan', () => {
    expect(() => syncStrategy.checkAllowed(new Set(['scan', 'dump']), 'self-managed')).not.toThrow()
    const refusal = (refused: string, provider: string | undefined) => {
      try {
        syncStrategy.checkAllowed(new Set([refused]), provider)
      } catch (e) {
        return e
      }
      return undefined
    }
    const hint =
      'Use --method scan (the default): it reads keys with SCAN and DUMP, which managed services allow.'
    expect(refusal('sync', 'elasticache')).toBeInstanceOf(UsageError)
    expect(refusal('sync', 'elasticache')).toMatchObject({
      message: 'the endpoint refuses SYNC (elasticache)',
      code: 'refused',
      exitCode: 2,
      hint,
    })
    expect(refusal('psync', 'self-managed')).toMatchObject({ message: 'the endpoint refuses SYNC', hint })
  })

  it("reads a key twice only when a cluster's shards go into one file", () => {
    expect(syncStrategy.repeatsKeys(false)).toBe(false)
    expect(syncStrategy.repeatsKeys(true)).toBe(true)
  })
})
