import { describe, expect, it } from 'vitest'
import type { Capabilities } from '../../../../src/connect/capabilities.js'
import { notificationsHint } from '../../../../src/ops/migrate/preflight.js'

describe('migrate: --slots and hints', () => {
  it('says how to turn notifications on where the endpoint lets it, and where it does not', () => {
    const caps = (provider: Capabilities['provider'], refused: string[] = []) =>
      ({ provider, refused }) as unknown as Capabilities
    expect(notificationsHint(caps('elasticache'))).toMatch(/parameter group/)
    expect(notificationsHint(caps('self-managed', ['config']))).toMatch(/refuses CONFIG.*parameter group/)
    expect(notificationsHint(caps('self-managed'))).toMatch(
      /^Enable them with CONFIG SET notify-keyspace-events KEA/,
    )
  })
})
