import type { Prepared } from './run-start.js'
import type { MigrateReport } from './types.js'

/** What a finished (or resumed and finished) run reports: counts from its checkpoint, and the cutover steps. */
export function migrationReport(
  p: Prepared,
  o: { live: boolean; resumed: boolean; started: number; errors: number; firstErrors: string[] },
): MigrateReport {
  const checkpoint = p.checkpoint
  const states = Object.values(checkpoint.nodes)
  const keys = states.reduce((n, s) => n + s.keys, 0)
  const seconds = (Date.now() - o.started) / 1000
  return {
    resumed: o.resumed,
    mode: p.mode,
    ...(p.modeReason ? { modeReason: p.modeReason } : {}),
    read: p.read.read,
    ...(p.read.reason ? { readReason: p.read.reason } : {}),
    keys,
    copiedThisRun: keys - p.keysBefore,
    bytes: states.reduce((n, s) => n + s.bytes, 0),
    vanished: states.reduce((n, s) => n + s.vanished, 0),
    liveCopies: checkpoint.liveCopies,
    liveDeletes: checkpoint.liveDeletes,
    inSync: checkpoint.inSync,
    restarted: p.restarted.map((r) => r.address),
    seconds,
    keysPerSecond: Math.round((keys - p.keysBefore) / Math.max(seconds, 0.001)),
    errors: { total: o.errors, first: o.firstErrors },
    cutover: [
      'Stop writes to the source (application maintenance mode, or revoke write ACLs).',
      o.live
        ? 'Wait for kvtop to report "in sync" (no change pending).'
        : 'Run migrate run --live, or copy again, for the writes made since the copy.',
      'Run kvtop verify --source ... --target ... and expect exit 0.',
      'Switch the clients to the target endpoint (and its TLS settings and credentials); keep the source until you are sure.',
    ],
  }
}
