import { describe, expect, it } from 'vitest'
import { formatMigration } from '../../../../src/ops/migrate/format.js'
import type { MigrateReport } from '../../../../src/ops/migrate/types.js'

describe('migrate: --slots and hints', () => {
  it('reports a resumed run with what it copied and what it found already done', () => {
    const report: MigrateReport = {
      resumed: true,
      keys: 60_000,
      copiedThisRun: 21_000,
      bytes: 3 * 1024 * 1024,
      vanished: 0,
      liveCopies: 0,
      liveDeletes: 0,
      inSync: false,
      seconds: 2,
      keysPerSecond: 10_500,
      errors: { total: 0, first: [] },
      cutover: ['Stop writes.', 'Verify.'],
    }
    expect(formatMigration(report).split('\n')).toEqual([
      'Resumed: copied 21.0k more keys, 60.0k in all (3.0 MiB) in 2.0s, 10.5k keys/s',
      '',
      'Cutover:',
      '  1. Stop writes.',
      '  2. Verify.',
    ])
  })
})
