import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Where a kvtop process spent its time, from the `.cpuprofile` that `node --cpu-prof` wrote: the
 * share of samples the process was idle (waiting on the servers), in garbage collection, and the
 * functions with the most self time. Benchmarks print it beside their ratio, so a missed goal says
 * whether kvtop or the servers are the limit.
 */
interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

export interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

export interface ProfileSummary {
  seconds: number
  idleShare: number
  gcShare: number
  top: { name: string; share: number }[]
}

/** The profile `node --cpu-prof --cpu-prof-dir DIR` left in DIR (the newest, should there be several). */
export function readProfileDir(dir: string): CpuProfile {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
  if (!files.length) throw new Error(`no .cpuprofile in ${dir}`)
  return JSON.parse(readFileSync(join(dir, files[files.length - 1]), 'utf8')) as CpuProfile
}

export function summarizeProfile(profile: CpuProfile, topN = 8): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  let total = 0
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0
    self.set(id, (self.get(id) ?? 0) + dt)
    total += dt
  })
  const byName = new Map<string, number>()
  let idle = 0
  let gc = 0
  for (const [id, us] of self) {
    const f = byId.get(id)!.callFrame
    if (f.functionName === '(idle)') idle += us
    else if (f.functionName === '(garbage collector)') gc += us
    const file = f.url.replace(/^.*\/(dist|node_modules)\//, '$1/').replace(/^node:/, '')
    const name = `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim()
    byName.set(name, (byName.get(name) ?? 0) + us)
  }
  const top = [...byName]
    .filter(([name]) => !name.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, topN)
    .map(([name, us]) => ({ name, share: total ? us / total : 0 }))
  return {
    seconds: total / 1e6,
    idleShare: total ? idle / total : 0,
    gcShare: total ? gc / total : 0,
    top,
  }
}

/** One line for a bench note: idle and GC shares, then the top self-time functions. */
export function profileNote(label: string, s: ProfileSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`
  return `${label} CPU profile (${s.seconds.toFixed(2)} s sampled): idle ${pct(s.idleShare)}, GC ${pct(s.gcShare)}; top self time: ${s.top
    .map((t) => `${t.name} ${pct(t.share)}`)
    .join('; ')}`
}

/**
 * Seconds from the profile's start to its first sample inside code whose URL holds `urlPart` (the
 * operation's own folder): the process's start-up, to be subtracted from a whole-process time.
 * Undefined when no sample is there.
 */
export function secondsUntil(profile: CpuProfile, urlPart: string): number | undefined {
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const inside = new Map<number, boolean>()
  const isInside = (id: number): boolean => {
    let known = inside.get(id)
    if (known === undefined) {
      const up = parent.get(id)
      known = byId.get(id)!.callFrame.url.includes(urlPart) || (up !== undefined && isInside(up))
      inside.set(id, known)
    }
    return known
  }
  let us = 0
  for (let i = 0; i < profile.samples.length; i++) {
    us += profile.timeDeltas[i] ?? 0
    if (isInside(profile.samples[i])) return us / 1e6
  }
  return undefined
}
