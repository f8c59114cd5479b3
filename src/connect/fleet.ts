import * as Flags from '@oclif/core/flags'
import { UsageError } from '../errors.js'
import { configPath, loadConfig } from './config.js'
import { describeEndpoint, parseEndpointUrl } from './endpoint.js'

/**
 * Several deployments for one command (`status`, `top`): URL arguments, --profile given more than
 * once, or --all-profiles.
 */
export const fleetFlags = {
  profile: Flags.string({
    description:
      'Named profile from ~/.config/kvtop/config.json, or sandbox:NAME; repeat it for several deployments',
    helpGroup: 'CONNECTION',
    multiple: true,
    // Each --profile takes one value: a URL argument after it is another deployment.
    multipleNonGreedy: true,
  }),
  'all-profiles': Flags.boolean({
    description: 'Every profile of the config file, one deployment each',
    helpGroup: 'CONNECTION',
    exclusive: ['profile'],
  }),
}

/** One deployment of a fleet: named by its profile, or by its URL (password left out). */
export interface FleetTarget {
  name: string
  url?: string
  profile?: string
}

/** The deployments named on the command line: URLs, then profiles, each in the order given; duplicates are refused. */
export function fleetTargets(
  urls: readonly string[],
  profiles: readonly string[],
  allProfiles: boolean,
  env: NodeJS.ProcessEnv = process.env,
): FleetTarget[] {
  const named = allProfiles ? Object.keys(loadConfig(env).profiles).sort() : profiles
  if (allProfiles && !named.length)
    throw new UsageError(`--all-profiles: no profiles in ${configPath(env)}`, {
      hint: 'Add one with: kvtop config add NAME --url URL',
    })
  const targets: FleetTarget[] = [
    ...urls.map((url) => ({ name: describeEndpoint(parseEndpointUrl(url)), url })),
    ...named.map((profile) => ({ name: profile, profile })),
  ]
  const seen = new Set<string>()
  for (const t of targets) {
    if (seen.has(t.name)) throw new UsageError(`${t.name} is named twice: give each deployment once`)
    seen.add(t.name)
  }
  return targets
}

/** AWS names (--elasticache ...) name one deployment: several go through profiles. */
export function refuseAwsNamesInFleet(flags: {
  elasticache?: string
  serverless?: string
  memorydb?: string
}) {
  const given = (['elasticache', 'serverless', 'memorydb'] as const).find((k) => flags[k] !== undefined)
  if (given)
    throw new UsageError(`--${given} names one deployment and cannot be combined with several`, {
      hint: `Name each deployment by a profile (kvtop config add NAME --${given} ${flags[given]}) and give --profile for each.`,
    })
}
