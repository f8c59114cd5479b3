import { describe, expect, it } from 'vitest'
import { COMMANDS } from '../../../commands/index.js'

interface FlagDef {
  type: string
  description?: string
  helpValue?: string
  aliases?: string[]
  deprecateAliases?: boolean
  default?: unknown
}

const flagsOf = (id: keyof typeof COMMANDS) =>
  (COMMANDS[id] as unknown as { flags?: Record<string, FlagDef> }).flags ?? {}
const all = Object.keys(COMMANDS).flatMap((id) =>
  Object.entries(flagsOf(id as keyof typeof COMMANDS)).map(([name, def]) => ({ id, name, def })),
)

describe('one flag vocabulary across commands', () => {
  it('the target is --target everywhere; replay and snapshot restore keep --to as an alias', () => {
    expect(all.filter((f) => f.name === 'to')).toEqual([])
    for (const id of ['replay', 'snapshot:restore'] as const) {
      expect(flagsOf(id).target.aliases).toEqual(['to'])
    }
    for (const id of ['verify', 'migrate:plan', 'migrate:run', 'migrate:aws'] as const)
      expect(flagsOf(id).target).toBeDefined()
  })

  it('AWS deployments are --elasticache / --memorydb / --serverless; migrate aws keeps its old names as aliases', () => {
    expect(all.filter((f) => /^(from|to)-/.test(f.name))).toEqual([])
    expect(flagsOf('migrate:aws').elasticache.aliases).toEqual(['from-elasticache'])
    expect(flagsOf('migrate:aws').memorydb.aliases).toEqual(['to-memorydb'])
  })

  it('--serverless is not offered where it is always refused', () => {
    for (const id of ['snapshot:aws:create', 'snapshot:aws:list', 'scale:aws'] as const) {
      expect(flagsOf(id).serverless).toBeUndefined()
      expect(flagsOf(id).elasticache).toBeDefined()
      expect(flagsOf(id).memorydb).toBeDefined()
    }
  })

  it('--force only replaces an output file; the memory check of scale aws has its own flag', () => {
    const forces = all.filter((f) => f.name === 'force')
    expect(forces.map((f) => f.id).sort()).toEqual(['capture', 'snapshot:create', 'top', 'triage', 'verify'])
    for (const f of forces) expect(f.def.description).toMatch(/^Replace /)
    const ignore = flagsOf('scale:aws')['ignore-memory-limit']
    expect(ignore.aliases).toEqual(['force'])
    expect(ignore.deprecateAliases).toBe(true)
  })

  it('shards are removed with --remove-shard on both scale commands (scale keeps --remove as an alias)', () => {
    expect(flagsOf('scale')['remove-shard'].aliases).toEqual(['remove'])
    expect(flagsOf('scale:aws')['remove-shard']).toBeDefined()
    expect(all.filter((f) => f.name === 'remove')).toEqual([])
  })

  it('every time flag is a typed seconds flag; --ttl-tolerance is in seconds too', () => {
    // Not amounts of time: --until is a point in time, --checkpoint a file (written every few seconds);
    // check's levels (<warn:crit>, e.g. --lag-seconds 5:30) are pairs of seconds parsed with the levels.
    const timeFlags = all.filter(
      (f) =>
        !['until', 'checkpoint'].includes(f.name) &&
        f.def.helpValue !== '<warn:crit>' &&
        (/(timeout|interval|duration|tolerance|lag-alert)$/.test(f.name) ||
          /\bseconds\b/i.test(f.def.description ?? '')),
    )
    expect(timeFlags.length).toBeGreaterThan(30)
    const untyped = timeFlags.filter((f) => f.def.helpValue !== '<seconds>').map((f) => `${f.id} --${f.name}`)
    expect(untyped).toEqual([])
    expect(flagsOf('verify')['ttl-tolerance'].default).toBe(1)
    expect(flagsOf('verify')['ttl-tolerance'].description).toMatch(/seconds/)
  })

  it('percent flags agree: typed numbers on both scale commands', () => {
    expect(flagsOf('scale').threshold).toMatchObject({ helpValue: '<percent>', default: 2 })
    expect(flagsOf('scale:aws')['memory-limit']).toMatchObject({ helpValue: '<percent>', default: 90 })
  })

  it('verify, migrate plan and migrate run take per side what one-endpoint commands take', () => {
    const oneEndpoint = [
      'user',
      'tls-ca',
      'nat-map',
      'iam',
      'profile',
      'elasticache',
      'serverless',
      'memorydb',
    ]
    for (const id of ['verify', 'migrate:plan', 'migrate:run'] as const)
      for (const side of ['source', 'target'])
        for (const name of oneEndpoint)
          expect(flagsOf(id)[`${side}-${name}`], `${id} --${side}-${name}`).toBeDefined()
  })
})
