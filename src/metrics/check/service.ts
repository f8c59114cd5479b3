import type { MonitorEngine } from '../engine.js'
import { sampleStatus } from '../service.js'
import { evaluateChecks, type CheckResult } from './evaluate.js'
import type { CheckLevels } from './levels.js'

/** `kvtop check`: one status (two rounds one interval apart, as `status`), compared with the levels. */
export async function runCheck(engine: MonitorEngine, levels: CheckLevels): Promise<CheckResult> {
  const { snapshot } = await sampleStatus(engine)
  return evaluateChecks(snapshot, levels)
}
