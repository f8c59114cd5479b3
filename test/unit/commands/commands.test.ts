import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { COMMANDS } from '../../../commands/index.js'
import { nearestCommand, typedCommandId } from '../../../src/hooks/command-not-found.js'
import { runCli } from '../../helpers/cli.js'

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
      expect(c.relativePath.join('/')).toBe(`dist/commands/${id.replace(/:/g, '/')}.js`)
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
  // A module resolve hook that logs every URL the process imports (ESM: kvtop's own files and what
  // they import; CommonJS requires inside a package are not seen, its entry point is).
  const dir = mkdtempSync(join(tmpdir(), 'kvtop-startup-imports-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs'
let log
export function initialize(data) { log = data.log }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context)
  appendFileSync(log, r.url + '\\n')
  return r
}
`,
  )
  writeFileSync(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module'
register(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)}, { data: { log: process.env.KVTOP_IMPORT_LOG } })
`,
  )
  const HEAVY = /\/node_modules\/(ink|react|@aws-sdk\/[^/]+|blessed|blessed-contrib|@inquirer\/[^/]+)\//
  let n = 0
  const importsOf = async (args: string[]) => {
    const log = join(dir, `log-${n++}`)
    writeFileSync(log, '')
    const r = await runCli(args, {
      env: {
        NODE_OPTIONS: `--import ${pathToFileURL(join(dir, 'register.mjs')).href}`,
        KVTOP_IMPORT_LOG: log,
        KVTOP_SANDBOX_DIR: join(dir, 'sandboxes'),
      },
    })
    return { ...r, urls: readFileSync(log, 'utf8').split('\n').filter(Boolean) }
  }

  it.each([['--help'], ['status', '--help'], ['help', 'snapshot'], ['scale', 'aws', '--help']])(
    'kvtop %s loads no command file and none of ink, react, the AWS SDK, blessed',
    async (...args) => {
      const r = await importsOf(args)
      expect(r.code).toBe(0)
      expect(r.urls.length).toBeGreaterThan(0)
      expect(r.urls.filter((u) => u.includes('/dist/commands/'))).toEqual([])
      expect(r.urls.filter((u) => HEAVY.test(u))).toEqual([])
    },
  )

  it('running a command loads that command file only', async () => {
    const r = await importsOf(['sandbox', 'status'])
    expect(r.code).toBe(0)
    expect(
      r.urls.filter((u) => u.includes('/dist/commands/')).map((u) => u.replace(/.*\/dist\//, '')),
    ).toEqual(['commands/sandbox/status.js'])
  })

  it('no command module imports ink, react, the AWS SDK or blessed before it runs', () => {
    const log = join(dir, 'all-commands')
    writeFileSync(log, '')
    const files = Object.values(manifest.commands).map((c) => new URL(c.relativePath.join('/'), root).href)
    const r = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `for (const f of ${JSON.stringify(files)}) await import(f)`],
      {
        env: {
          ...process.env,
          NODE_OPTIONS: `--import ${pathToFileURL(join(dir, 'register.mjs')).href}`,
          KVTOP_IMPORT_LOG: log,
        },
        encoding: 'utf8',
      },
    )
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    const urls = readFileSync(log, 'utf8').split('\n').filter(Boolean)
    expect(urls.filter((u) => u.includes('/dist/commands/')).length).toBe(files.length)
    expect(urls.filter((u) => HEAVY.test(u))).toEqual([])
  })
})
