import type { AwsClients } from '../../aws/clients.js'
import { discoverDeployment } from '../../aws/discovery.js'
import { Deployment } from '../../connect/deployment.js'
import type { ConnectionInput } from '../../connect/options.js'
import { errorMessage } from '../../errors.js'
import type { EventSink } from '../events.js'
import { verifyDatasets } from '../verify/verify.js'
import type { MigrateAwsOptions } from './request.js'
import type { CompareResult, MigrateAwsParams } from './types.js'

async function sumKeys(d: Deployment): Promise<number> {
  let n = 0
  for (const node of d.primaries) n += Number(await d.command(node, ['DBSIZE']))
  return n
}

/**
 * The last step: key counts of both sides and, unless asked not to, a verify. Endpoints that cannot
 * be reached from here skip it with a warning instead of failing a migration that is done.
 */
export async function compareDeployments(
  clients: AwsClients,
  params: MigrateAwsParams,
  options: MigrateAwsOptions,
  emit: EventSink,
): Promise<CompareResult> {
  const input = async (
    given: ConnectionInput | undefined,
    kind: 'elasticache' | 'memorydb',
    name: string,
  ) => {
    if (given) return given
    const d = await discoverDeployment(clients, { kind, name })
    if (!d.url) throw new Error(`${name} reports no endpoint`)
    return { url: d.url }
  }
  let source: Deployment | undefined
  let target: Deployment | undefined
  try {
    try {
      source = await Deployment.connect(await input(options.sourceInput, 'elasticache', params.source))
      target = await Deployment.connect(await input(options.targetInput, 'memorydb', params.target))
    } catch (err) {
      const skipped = `cannot reach both endpoints from here (${errorMessage(err)})`
      emit({
        type: 'warning',
        message: `${skipped}: compare them from a host inside the VPC with kvtop verify --source ... --target ...`,
      })
      return { skipped }
    }
    const [sourceKeys, targetKeys] = await Promise.all([sumKeys(source), sumKeys(target)])
    const result: CompareResult = { sourceKeys, targetKeys }
    if (sourceKeys !== targetKeys)
      emit({
        type: 'warning',
        message: `the source holds ${sourceKeys} keys, the new cluster ${targetKeys}: writes made after the snapshot are not in it (kvtop migrate run --live --replace catches up)`,
      })
    if (options.verify !== false) {
      emit({ type: 'phase', phase: 'verify' })
      result.verify = await verifyDatasets(source, target, { passes: 2, passIntervalMs: 1000, onEvent: emit })
    }
    return result
  } finally {
    await Promise.all([source?.close(), target?.close()])
  }
}
