import { connectionInputWithAws } from '../aws/flags.js'
import type { AwsConnectionFlagValues } from '../aws/target.js'
import { validateResourceName } from '../connect/resource-name.js'
import { loadConfig } from '../connect/config.js'
import { formatAddress, parseEndpointUrl } from '../connect/endpoint.js'
import type { ConnectionFlagValues } from '../connect/flags.js'
import { findProfile } from '../sandbox/profile-sources.js'
import { UsageError } from '../errors.js'
import type { ExportTarget } from './feed.js'

/** The deployments `kvtop export` is asked to watch, as the command line names them. */
interface TargetFlags
  extends
    Omit<ConnectionFlagValues, 'profile'>,
    Omit<AwsConnectionFlagValues, 'elasticache' | 'memorydb' | 'serverless'> {
  urls: string[]
  profiles: string[]
  elasticache: string[]
  memorydb: string[]
  allProfiles: boolean
  /** CloudWatch publishing uses --region / --aws-profile even without an AWS-named deployment. */
  cloudwatchPublishing: boolean
}

/** host:port of a URL, for the label and the down-until-reached line; never its password. */
function seedOf(url: string, bareUserinfo: 'password' | 'user' = 'password'): string {
  const e = parseEndpointUrl(url, { bareUserinfo })
  return formatAddress(e.host, e.port)
}

/**
 * One target per URL, profile (or every profile of the config file) and AWS name. Everything that
 * can be checked without the network is checked here, so a typo fails at once (exit 2); reaching
 * the deployments happens later, each in its own feed.
 */
export function exportTargets(flags: TargetFlags): ExportTarget[] {
  const { urls, profiles, elasticache, memorydb, allProfiles, cloudwatchPublishing, ...common } = flags
  if (
    (common.region || common['aws-profile']) &&
    !elasticache.length &&
    !memorydb.length &&
    !common.iam &&
    !cloudwatchPublishing
  )
    throw new UsageError(
      '--region and --aws-profile apply with --elasticache, --memorydb, --iam or --cloudwatch-namespace',
    )
  const base = { ...common, cloudwatch: true }
  const targets: ExportTarget[] = []
  for (const url of urls) {
    const seed = seedOf(url)
    targets.push({ name: seed, seedAddress: seed, resolve: () => connectionInputWithAws(url, base) })
  }
  const profileNames = allProfiles
    ? [...new Set([...profiles, ...Object.keys(loadConfig().profiles).sort()])]
    : profiles
  if (allProfiles && !profileNames.length)
    throw new UsageError('--all-profiles: the config file defines no profiles', {
      hint: 'Add one with: kvtop config add NAME --url URL',
    })
  for (const profile of profileNames) {
    const p = findProfile(profile)
    let seedAddress: string | undefined
    try {
      seedAddress = p.url ? seedOf(p.url, 'user') : undefined
    } catch {
      // a broken URL is reported when the feed connects
    }
    targets.push({
      name: profile,
      seedAddress,
      resolve: () => connectionInputWithAws(undefined, { ...base, profile }),
    })
  }
  for (const name of elasticache) {
    const id = validateResourceName('elasticache', name)
    targets.push({ name: id, resolve: () => connectionInputWithAws(undefined, { ...base, elasticache: id }) })
  }
  for (const name of memorydb) {
    const id = validateResourceName('memorydb', name)
    targets.push({ name: id, resolve: () => connectionInputWithAws(undefined, { ...base, memorydb: id }) })
  }
  if (!targets.length) {
    // As every other command: KVTOP_URL, KVTOP_PROFILE, the running default sandbox, 127.0.0.1:6379.
    targets.push({ name: 'default', resolve: () => connectionInputWithAws(undefined, base) })
  }
  const seen = new Set<string>()
  for (const t of targets) {
    if (seen.has(t.name))
      throw new UsageError(`deployment '${t.name}' is named twice`, {
        hint: "Each deployment is exported once, under its profile or AWS name, or the URL's host:port.",
      })
    seen.add(t.name)
  }
  return targets
}
