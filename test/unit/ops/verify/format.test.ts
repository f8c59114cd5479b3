import { describe, expect, it } from 'vitest'
import { difference } from '../../../../src/ops/verify/compare-keys.js'
import { formatVerifyReport } from '../../../../src/ops/verify/format.js'
import type { VerifyReport } from '../../../../src/ops/verify/types.js'

describe('verify: differences and their text', () => {
  it('summary: verdict, counts by category, examples; values only when asked', () => {
    const report: VerifyReport = {
      mode: 'full',
      identical: false,
      sourceKeys: 1500,
      targetKeys: 1499,
      counts: { 'missing-in-target': 1, 'missing-in-source': 0, type: 0, value: 1, ttl: 0, count: 0 },
      examples: [
        difference('missing-in-target', Buffer.from('a'), 0, 'only in source (string)'),
        {
          ...difference('value', Buffer.from('h'), 0, 'field "f1": values differ'),
          sourceValue: 'x',
          targetValue: 'y',
        },
      ],
      converged: 2,
      passes: 3,
      seconds: 1.25,
      keysPerSecond: 2399,
      dbs: [{ source: 0, target: 0 }],
    }
    const text = formatVerifyReport(report)
    expect(text.split('\n')).toEqual([
      'DIFFERENT: compared keys, types, TTLs and values of 1500 source keys and 1499 target keys (db 0) in 1.3s, 2399 keys/s, 3 passes',
      '2 differences of the first pass converged (replication or expiry in flight)',
      '  missing in target  1',
      '  value differs      1',
      '',
      'Examples:',
      '  missing in target: "a": only in source (string)',
      '  value differs: "h": field "f1": values differ',
    ])
    expect(formatVerifyReport(report, { showValues: true })).toContain('      source: "x"\n      target: "y"')
  })
})
