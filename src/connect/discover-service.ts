import type { Capabilities } from './capabilities.js'
import { Deployment } from './deployment.js'
import { describeEndpoint } from './endpoint.js'
import type { ConnectionInput } from './options.js'
import type { Topology } from './topology.js'

export interface DiscoveryReport {
  endpoint: string
  topology: Topology
  capabilities: Capabilities
}

export async function discover(input: ConnectionInput): Promise<DiscoveryReport> {
  const deployment = await Deployment.connect(input, { probe: true })
  try {
    return {
      endpoint: describeEndpoint(deployment.spec.endpoint),
      topology: deployment.topology,
      capabilities: deployment.capabilities!,
    }
  } finally {
    await deployment.close()
  }
}
