import { Deployment, refuseSameDeployment } from '../../connect/deployment.js'
import type { ConnectionInput } from '../../connect/options.js'
import { loadCheckpoint } from './checkpoint.js'
import type { PlanReport } from './preflight.js'
import type { Checkpoint } from './types.js'
import { UsageError } from '../../errors.js'

/**
 * `migrate plan`: connect both sides, run the preflight. Its checks (and the ioredis clients they
 * use) are loaded here, not by `migrate status`, which shares this module and only reads a file.
 */
export async function runPlan(
  inputs: { source: ConnectionInput; target: ConnectionInput },
  options: { live?: boolean; replace?: boolean; dbMap?: Map<number, number> },
): Promise<PlanReport> {
  const { planMigration } = await import('./preflight.js')
  const source = await Deployment.connect(inputs.source, { probe: true })
  try {
    const target = await Deployment.connect(inputs.target, { probe: true })
    try {
      await refuseSameDeployment(source, target)
      return await planMigration(source, target, options)
    } finally {
      await target.close()
    }
  } finally {
    await source.close()
  }
}

/** `migrate status`: what a checkpoint says. */
export function readStatus(path: string): Checkpoint {
  const c = loadCheckpoint(path)
  if (!c)
    throw new UsageError(`no checkpoint at ${path}`, { hint: 'Give the --checkpoint file of a migrate run.' })
  return c
}
