import { UsageError } from '../errors.js'
import type { Profile } from './config.js'
import { parseEndpointUrl } from './endpoint.js'

/** A word for a POSIX shell: as is when it holds nothing the shell reads, else in single quotes. */
function shellWord(text: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`
}

/**
 * The redis-cli command line that connects as a profile does. The password goes in REDISCLI_AUTH
 * (redis-cli's own variable, kept out of `ps`) only with `showPassword`; otherwise `--askpass`
 * prompts for it. IAM profiles get a fresh token from `kvtop auth token` the same way.
 */
export function redisCliCommand(
  name: string,
  profile: Profile,
  options: { showPassword?: boolean } = {},
): string {
  if (!profile.url) {
    const named = profile.elasticache ?? profile.serverless ?? profile.memorydb
    throw new UsageError(`profile '${name}' has no URL: AWS gives its endpoint (${named ?? 'none named'})`, {
      hint: `See the endpoint with: kvtop discover --profile ${name} --aws-only`,
    })
  }
  const endpoint = parseEndpointUrl(profile.url, { bareUserinfo: 'user' })
  const user = profile.user ?? endpoint.username
  const args = ['redis-cli', '-c', '-h', endpoint.host, '-p', String(endpoint.port)]
  if (user && user !== 'default') args.push('--user', user)
  if (endpoint.db) args.push('-n', String(endpoint.db))
  if (endpoint.tls) args.push('--tls')
  if (profile.tlsCa) args.push('--cacert', profile.tlsCa)
  if (profile.insecure) args.push('--insecure')
  const command = args.map(shellWord).join(' ')
  if (profile.iam) {
    const resource = profile.memorydb
      ? `--memorydb ${shellWord(profile.memorydb)}`
      : profile.serverless
        ? `--serverless ${shellWord(profile.serverless)}`
        : `--elasticache ${shellWord(profile.elasticache ?? endpoint.host.split('.')[0])}`
    const aws = [
      ...(profile.region ? ['--region', profile.region] : []),
      ...(profile.awsProfile ? ['--aws-profile', profile.awsProfile] : []),
    ].map(shellWord)
    const token = ['kvtop auth token', resource, '--user', shellWord(user ?? 'USER'), ...aws].join(' ')
    return `REDISCLI_AUTH="$(${token})" ${command}`
  }
  const password = profile.password ?? endpoint.password
  if (password === undefined) return command
  return options.showPassword ? `REDISCLI_AUTH=${shellWord(password)} ${command}` : `${command} --askpass`
}
