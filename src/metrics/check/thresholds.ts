import { configPath, loadConfig } from '../../connect/config.js'
import { KvtopError, UsageError } from '../../errors.js'
import {
  CHECK_NAMES,
  DEFAULT_LEVELS,
  parseLevels,
  type CheckLevels,
  type CheckName,
  type Levels,
} from './levels.js'

/** Where the levels of a check came from (shown in --json, so a CI log says why a gate tripped). */
type LevelSource = 'flag' | 'profile' | 'config' | 'default'

interface ResolvedLevels {
  levels: CheckLevels
  sources: Record<CheckName, LevelSource>
}

/**
 * The levels `kvtop check` applies, per check: the flag, else the profile's `checks`, else the
 * config file's top-level `checks`, else the defaults. `profile` is the config profile the
 * deployment was named by (none for a URL or a sandbox).
 */
export function resolveLevels(
  flags: Partial<Record<CheckName, Levels>>,
  profile: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedLevels {
  const config = loadConfig(env)
  const path = configPath(env)
  const global = readSection(config.checks, `config file ${path}: checks`)
  const ofProfile =
    profile && !profile.startsWith('sandbox:') && Object.hasOwn(config.profiles, profile)
      ? readSection(config.profiles[profile].checks, `config file ${path}: checks of profile '${profile}'`)
      : {}
  const levels = { ...DEFAULT_LEVELS }
  const sources = Object.fromEntries(CHECK_NAMES.map((c) => [c, 'default'])) as Record<CheckName, LevelSource>
  for (const check of CHECK_NAMES) {
    const flag = flags[check]
    if (flag !== undefined) [levels[check], sources[check]] = [flag, 'flag']
    else if (ofProfile[check]) [levels[check], sources[check]] = [ofProfile[check], 'profile']
    else if (global[check]) [levels[check], sources[check]] = [global[check], 'config']
  }
  return { levels, sources }
}

function readSection(section: Record<string, string> | undefined, where: string): Partial<CheckLevels> {
  const out: Partial<CheckLevels> = {}
  for (const [name, text] of Object.entries(section ?? {})) {
    if (!(CHECK_NAMES as readonly string[]).includes(name)) {
      throw new UsageError(`${where}: unknown check "${name}"`, {
        hint: `Checks: ${CHECK_NAMES.join(', ')}.`,
      })
    }
    try {
      out[name as CheckName] = parseLevels(text, name as CheckName)
    } catch (err) {
      throw new UsageError(`${where}: ${(err as KvtopError).message}`)
    }
  }
  return out
}
