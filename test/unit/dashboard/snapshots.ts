import type { MonitorEvent } from '../../../src/metrics/alerts.js'
import type { SlowlogEntry } from '../../../src/metrics/slowlog.js'
export { clusterSnapshot, historyFor } from '../../../bench/lib-dashboard-fixture.js'

export function slowEntry(
  id: number,
  args: string[],
  address = '127.0.0.1:7000',
  durationUs = 50_000,
): SlowlogEntry {
  return {
    id,
    at: Date.now() - 5000,
    durationUs,
    command: args[0].toUpperCase(),
    pattern: args[0].toUpperCase(),
    args,
    client: '127.0.0.1:5555',
    node: 'x',
    address,
    shard: 0,
    role: 'primary',
  }
}

export function event(
  type: string,
  message: string,
  severity: MonitorEvent['severity'] = 'critical',
): MonitorEvent {
  return { type, at: Date.now(), severity, message }
}
