import { sandboxProfile } from './profile-sources.js'
import { listStates } from './state.js'
import { renderTable } from '../format/table.js'
import { getProfile, loadConfig, type Profile } from '../connect/config.js'
import { maskProfile } from '../connect/profile-store.js'

export interface ProfileEntry {
  /** As --profile takes it: `prod`, or `sandbox:NAME` for a running sandbox. */
  name: string
  source: 'config' | 'sandbox'
  /** Masked: no password. */
  profile: Profile
}

/** Every profile of the config file, then every running sandbox, masked. */
export function listProfiles(env: NodeJS.ProcessEnv = process.env): ProfileEntry[] {
  const names = Object.keys(loadConfig(env).profiles).sort()
  const fromConfig = names.map((name) => ({
    name,
    source: 'config' as const,
    profile: maskProfile(getProfile(name, env)),
  }))
  const sandboxes: ProfileEntry[] = []
  for (const state of listStates(env)) {
    const found = sandboxProfile(state.name, env)
    if (found)
      sandboxes.push({ name: `sandbox:${state.name}`, source: 'sandbox', profile: maskProfile(found) })
  }
  return [...fromConfig, ...sandboxes]
}

function where(p: Profile): string {
  if (p.url) return p.url
  if (p.elasticache) return `ElastiCache ${p.elasticache}`
  if (p.serverless) return `ElastiCache serverless ${p.serverless}`
  if (p.memorydb) return `MemoryDB ${p.memorydb}`
  return '-'
}

function auth(p: Profile): string {
  if (p.iam) return `IAM${p.user ? ` as ${p.user}` : ''}`
  const parts = [...(p.user ? [`user ${p.user}`] : []), ...(p.password !== undefined ? ['password'] : [])]
  return parts.join(' + ') || '-'
}

function other(p: Profile): string {
  return (
    [
      ...(p.url && (p.elasticache || p.serverless || p.memorydb)
        ? [`aws ${p.elasticache ?? p.serverless ?? p.memorydb}`]
        : []),
      ...(p.tlsCa ? [`tls-ca ${p.tlsCa}`] : []),
      ...(p.insecure ? ['insecure'] : []),
      ...(p.timeout !== undefined ? [`timeout ${p.timeout}s`] : []),
      ...(p.natMap ? [`nat-map ${Object.keys(p.natMap).length}`] : []),
      ...(p.region ? [`region ${p.region}`] : []),
      ...(p.awsProfile ? [`aws-profile ${p.awsProfile}`] : []),
    ].join(', ') || '-'
  )
}

export function formatProfiles(entries: ProfileEntry[], path: string): string {
  if (!entries.length) return `No profiles in ${path}. Add one with: kvtop config add NAME --url URL`
  return renderTable(
    ['NAME', 'ENDPOINT', 'LOGIN', 'SETTINGS'],
    entries.map((e) => [e.name, where(e.profile), auth(e.profile), other(e.profile)]),
  )
}

/** One profile, a `field: value` line each (masked). */
export function formatProfile(name: string, profile: Profile): string {
  const lines = [`Profile '${name}'`]
  for (const [k, v] of Object.entries(profile)) {
    if (v === undefined) continue
    const shown =
      typeof v === 'object'
        ? Object.entries(v as Record<string, string>)
            .map(([a, b]) => `${a}=${b}`)
            .join(' ')
        : String(v)
    lines.push(`  ${k}: ${shown}`)
  }
  return lines.join('\n')
}
