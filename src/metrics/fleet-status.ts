import { toKvtopError } from '../error-mapping.js'
import { ExitCode, type ExitCodeValue } from '../errors.js'
import type { Snapshot } from './types.js'

/** One deployment of `status` over several: its status, or why it could not be read. */
export type FleetStatusEntry =
  | { reachable: true; status: Snapshot }
  | { reachable: false; error: { code: string; message: string; hint?: string; exitCode: ExitCodeValue } }

interface FleetMember {
  name: string
  /** Resolve, connect and sample once; throws when the deployment cannot be reached (or named). */
  read: () => Promise<Snapshot>
}

/**
 * Every deployment's status at once, each sampled over one interval as `status` samples one. A
 * deployment that cannot be reached is reported as such; the others are not held up by it.
 */
export async function sampleFleetStatus(
  members: readonly FleetMember[],
): Promise<Map<string, FleetStatusEntry>> {
  const entries = await Promise.all(
    members.map(async (m): Promise<[string, FleetStatusEntry]> => {
      try {
        return [m.name, { reachable: true, status: await m.read() }]
      } catch (err) {
        const e = toKvtopError(err)
        return [
          m.name,
          {
            reachable: false,
            error: {
              code: e.code,
              message: e.message,
              ...(e.hint ? { hint: e.hint } : {}),
              exitCode: e.exitCode,
            },
          },
        ]
      }
    }),
  )
  return new Map(entries)
}

/** 0 when every deployment answered, else the highest exit code of those that did not (3: cannot connect). */
export function fleetExitCode(entries: Map<string, FleetStatusEntry>): ExitCodeValue {
  let code: ExitCodeValue = ExitCode.ok
  for (const e of entries.values()) if (!e.reachable && e.error.exitCode > code) code = e.error.exitCode
  return code
}
