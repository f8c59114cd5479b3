import { formatBytes } from '../../../format/units.js'
import { THRESHOLDS } from '../../../metrics/thresholds.js'
import type { TriageRule } from './rule.js'

export const bigKeys: TriageRule = {
  name: 'big-keys',
  scope: 'input',
  check: (input) =>
    input.keys.bigKeys.map((k) => ({
      severity: k.bytes >= THRESHOLDS.bigKeyBytesCritical ? 'critical' : 'warning',
      category: 'keys',
      node: k.node,
      summary: `big key "${k.key}" (${k.type}, ${formatBytes(k.bytes)}${k.elements !== undefined ? `, ${k.elements} elements` : ''}) on ${k.node}`,
      why: 'Reading, deleting or migrating it blocks the node; it can make a shard fuller than the others.',
      action: 'Split it into smaller keys, read it in ranges, delete it with UNLINK.',
      evidence: { bytes: k.bytes, elements: k.elements },
    })),
}

export const hotKeys: TriageRule = {
  name: 'hot-keys',
  scope: 'input',
  check: (input) =>
    input.keys.hotKeys.map((k) => ({
      severity: 'info',
      category: 'keys',
      node: k.node,
      summary: `hot key "${k.key}" (LFU frequency ${k.freq}) on ${k.node}`,
      why: 'One key served by one node: its shard takes the load whatever the shard count.',
      action: 'Cache it client-side, or spread it over several keys.',
    })),
}
