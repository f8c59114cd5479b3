import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { COMMANDS } from '../../../commands/index.js'
import { nearestCommand, typedCommandId } from '../../../src/hooks/command-not-found.js'
import { runCli } from '../../helpers/cli.js'
import { moduleLog } from '../../helpers/module-log.js'

interface Topic {
  description?: string
  subtopics?: Record<string, Topic>
}
const root = new URL('../../../', import.meta.url)
const pjson = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  oclif: { topics: Record<string, Topic> }
}
const manifest = JSON.parse(readFileSync(new URL('oclif.manifest.json', root), 'utf8')) as {
  commands: Record<string, { relativePath: string[]; isESM: boolean }>
}

function topicDescription(id: string): string | undefined {
  const [first, ...rest] = id.split(':')
  let topic: Topic | undefined = pjson.oclif.topics[first]
  for (const word of rest) topic = topic?.subtopics?.[word]
  return topic?.description
}

const ids = Object.keys(COMMANDS).sort()
/** Every topic a command id implies: `snapshot:aws:create` -> `snapshot`, `snapshot:aws`. */
const topicsInUse = [
  ...new Set(
    ids.flatMap((id) =>
      id
        .split(':')
        .slice(0, -1)
        .map((_, i, w) => w.slice(0, i + 1).join(':')),
    ),
  ),
].sort()

describe('command metadata', () => {
  it.each(ids)('%s has a one-line summary', (id) => {
    const c = COMMANDS[id as keyof typeof COMMANDS] as { summary?: string; description?: string }
    const summary = c.summary ?? c.description?.split('\n')[0]
    expect(summary?.trim()).toBeTruthy()
    expect(summary).not.toContain('\n')
  })

  it('every topic in use has its own description', () => {
    expect(topicsInUse).toEqual(['auth', 'config', 'migrate', 'sandbox', 'scale', 'snapshot', 'snapshot:aws'])
    const summaries = new Set(Object.values(COMMANDS).map((c) => (c as { summary?: string }).summary))
    for (const t of topicsInUse) {
      const d = topicDescription(t)
      expect(d?.trim(), t).toBeTruthy()
      // Not one command's summary standing in for the whole topic.
      expect(summaries.has(d), `${t}: ${d}`).toBe(false)
    }
  })

  it('the manifest holds every command of commands/index.ts, each loadable from its own file', () => {
    expect(Object.keys(manifest.commands).sort()).toEqual(ids)
    for (const [id, c] of Object.entries(manifest.commands)) {
      expect(c.isESM).toBe(true)
      expect(c.relativePath.join('/')).toBe(`dist/bundle/commands/${id.replace(/:/g, '/')}.js`)
    }
  })
})

describe('did-you-mean', () => {
  it('the typed command is the known topics plus one word; the rest are arguments', () => {
    const topics = new Set(topicsInUse)
    const isTopic = (id: string) => topics.has(id)
    expect(typedCommandId('stauts', isTopic)).toBe('stauts')
    expect(typedCommandId('stauts:redis://h:1', isTopic)).toBe('stauts')
    expect(typedCommandId('snapshot:creat:x.rdb', isTopic)).toBe('snapshot:creat')
    expect(typedCommandId('snapshot:aws:lst', isTopic)).toBe('snapshot:aws:lst')
  })

  it('suggests a near command, not a far one', () => {
    expect(nearestCommand('stauts', ids)).toBe('status')
    expect(nearestCommand('slowlgo', ids)).toBe('slowlog')
    expect(nearestCommand('snapshot:aws:lst', ids)).toBe('snapshot:aws:list')
    expect(nearestCommand('zzzzzz', ids)).toBeUndefined()
    expect(nearestCommand('status', [])).toBeUndefined()
  })
})

describe('what start-up loads', () => {
  // Every file the process loads, a bundle file with the files bundled into it (module-log.ts).
  const dir = mkdtempSync(join(tmpdir(), 'kvtop-startup-imports-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const HEAVY = /^node_modules\/(ink|react|@aws-sdk\/[^/]+|blessed|blessed-contrib|@inquirer\/[^/]+)\//
  const importsOf = async (args: string[]) => {
    const log = moduleLog()
    try {
      const r = await runCli(args, { env: { ...log.env, KVTOP_SANDBOX_DIR: join(dir, 'sandboxes') } })
      return { ...r, files: log.files() }
    } finally {
      log.remove()
    }
  }

  it.each([['--help'], ['status', '--help'], ['help', 'snapshot'], ['scale', 'aws', '--help']])(
    'kvtop %s loads no command file and none of ink, react, the AWS SDK, blessed',
    async (...args) => {
      const r = await importsOf(args)
      expect(r.code).toBe(0)
      expect(r.files).toContain('bin/kvtop.js')
      expect(r.files.filter((f) => f.startsWith('dist/commands/'))).toEqual([])
      expect(r.files.filter((f) => f.startsWith('dist/bundle/commands/'))).toEqual([])
      expect(r.files.filter((f) => HEAVY.test(f))).toEqual([])
    },
  )

  it('kvtop --version answers from kvtop code alone: oclif and every other library unloaded', async () => {
    const r = await importsOf(['--version'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^kvtop\/\d+\.\d+\.\d+ /)
    expect(r.files).toContain('dist/bundle/cli.js')
    expect(r.files.filter((f) => f.startsWith('node_modules/'))).toEqual([])
  })

  it('running a command loads that command file only', async () => {
    const r = await importsOf(['sandbox', 'status'])
    expect(r.code).toBe(0)
    expect(r.files.filter((f) => /^dist\/(bundle\/)?commands\//.test(f))).toEqual([
      'dist/bundle/commands/sandbox/status.js',
      'dist/commands/sandbox/status.js',
    ])
  })

  it('no command module imports ink, react, the AWS SDK or blessed before it runs', () => {
    const log = moduleLog()
    try {
      const files = Object.values(manifest.commands).map((c) => new URL(c.relativePath.join('/'), root).href)
      const r = spawnSync(
        process.execPath,
        ['--input-type=module', '-e', `for (const f of ${JSON.stringify(files)}) await import(f)`],
        { env: { ...process.env, ...log.env }, encoding: 'utf8' },
      )
      expect(r.stderr).toBe('')
      expect(r.status).toBe(0)
      const loaded = log.files()
      expect(loaded.filter((f) => f.startsWith('dist/commands/')).length).toBe(files.length)
      expect(loaded.filter((f) => HEAVY.test(f))).toEqual([])
    } finally {
      log.remove()
    }
  })
})
