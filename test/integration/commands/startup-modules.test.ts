import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../helpers/cli.js'
import { moduleLog } from '../../helpers/module-log.js'
import { rdbFile, str } from '../../helpers/rdb-craft.js'
import { startSandbox, type TestSandbox } from '../../helpers/sandbox.js'

/**
 * What a command loads before it does its work, read from the files Node loads (never timed): the
 * heavy libraries only where the command uses them, so that no command pays for another's.
 */

/** The command modules the CLI loads: the bundle's (scripts/bundle.js), each holding its dist/commands file. */
const COMMANDS_DIR = fileURLToPath(new URL('../../../dist/bundle/commands/', import.meta.url))

/** Libraries, and kvtop modules, that a plain redis:// command must not load. */
const NEVER_ON_A_PLAIN_ENDPOINT = [
  'node_modules/@aws-sdk/',
  'node_modules/@smithy/',
  'node_modules/ink/',
  'node_modules/react/',
  'node_modules/blessed/',
  'node_modules/blessed-contrib/',
  'node_modules/prom-client/',
  // oclif's index checks the Node version with semver (~45 files); the narrow entry points do not.
  'node_modules/@oclif/core/lib/index.js',
  'node_modules/semver/',
  // Starting and stopping sandboxes: a `sandbox:NAME` profile needs only their state files.
  'dist/src/sandbox/sandbox.js',
  // Writing profiles: reading one is connect/config.
  'dist/src/connect/profile-store.js',
]

/**
 * Commands whose module reaches connect/client (and so ioredis): they open connections, or manage
 * sandboxes (sandbox.ts) or check a deployment after an AWS change. The others (config, snapshot
 * inspect, auth token, AWS snapshots, migrate status, and verify, replay, snapshot create and
 * restore and migrate run, which connect through kvtop's own wire layer: connect/target.ts,
 * connect/deployment.ts) must start without it.
 */
const CONNECTING =
  /^(capture|check|discover|export|replication|scale|slowlog|status|top|triage)\.js$|^(migrate\/plan|sandbox\/\w+|scale\/aws)\.js$/

/** What importing a command's module loads (its static imports), and where each is allowed. */
const NOT_AT_IMPORT: { file: string; except?: RegExp }[] = [
  ...NEVER_ON_A_PLAIN_ENDPOINT.map((file) => ({
    file,
    except: file.includes('prom-client')
      ? /^export\.js$/
      : file.includes('sandbox.js')
        ? /^(sandbox\/|scale\.js$)/
        : file.includes('profile-store')
          ? /^config\//
          : undefined,
  })),
  // ioredis (~45 files) comes with connect/client: only commands that talk to a server load it.
  { file: 'node_modules/ioredis/', except: CONNECTING },
]

/** What the CLI loads from the bundle (scripts/bundle.js) and so never from its own file. */
const UNBUNDLED =
  /^(dist\/(src|commands)\/|node_modules\/(@oclif\/core|ioredis|minimatch|ejs|debug|denque)\/)/

const offending = (files: string[], prefix: string) => files.filter((f) => f.includes(prefix))

function commandModules(dir = COMMANDS_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? commandModules(join(dir, e.name))
      : e.name.endsWith('.js') && !(dir === COMMANDS_DIR && e.name === 'index.js')
        ? [relative(COMMANDS_DIR, join(dir, e.name))]
        : [],
  )
}

/** The files a fresh node loads to import one module. */
async function filesLoadedImporting(file: string): Promise<string[]> {
  const log = moduleLog()
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(file).href)})`],
        { env: { ...process.env, ...log.env }, stdio: ['ignore', 'ignore', 'inherit'] },
      )
      child.on('error', reject)
      child.on('close', resolve)
    })
    expect(code).toBe(0)
    return log.files()
  } finally {
    log.remove()
  }
}

describe('importing a command module loads no library the command may not use', () => {
  const modules = commandModules()

  it('finds the commands', () => {
    expect(modules).toContain('verify.js')
    expect(modules).toContain('snapshot/restore.js')
    expect(modules.length).toBeGreaterThan(25)
  })

  it.each(modules)('%s', async (name) => {
    const files = await filesLoadedImporting(join(COMMANDS_DIR, name))
    expect(files).toContain(`dist/commands/${name}`)
    for (const { file, except } of NOT_AT_IMPORT) {
      if (except?.test(name)) continue
      expect(offending(files, file), `${name} loads ${file}`).toEqual([])
    }
  })
})

describe('a whole command against plain redis:// endpoints loads nothing it does not use', () => {
  let source: TestSandbox
  let target: TestSandbox
  let dir: string

  beforeAll(async () => {
    ;[source, target] = await Promise.all([
      startSandbox({ shards: 0, replicas: 0 }),
      startSandbox({ shards: 0, replicas: 0 }),
    ])
    dir = mkdtempSync(join(process.env.KVTOP_TEST_ROOT!, 'startup-modules-'))
    writeFileSync(join(dir, 'one.resp'), '*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n')
    writeFileSync(
      join(dir, 'one.rdb'),
      rdbFile(9, [{ db: 0, entries: [{ type: 0, key: str('key'), value: str('value') }] }]),
    )
  })

  afterAll(async () => {
    await source?.down()
    await target?.down()
  })

  /** Whole commands, what they print, and whether they may load ioredis (verify, replay, snapshot create and restore do not: connect/target.ts). */
  const cases: [string, () => string[], RegExp, boolean?][] = [
    ['verify', () => ['verify', '--source', source.url, '--target', target.url], /^IDENTICAL/m, false],
    [
      'replay',
      () => ['replay', join(dir, 'one.resp'), '--target', target.url, '--replace'],
      /^Replayed 1 commands/m,
      false,
    ],
    [
      'snapshot restore',
      () => ['snapshot', 'restore', join(dir, 'one.rdb'), '--target', target.url, '--replace', '--yes'],
      /^Restored 1 of 1 keys/m,
      false,
    ],
    [
      'snapshot create',
      () => ['snapshot', 'create', source.url, '--out', join(dir, 'created.rdb'), '--force'],
      /created\.rdb: \d+ keys/,
      false,
    ],
    [
      'snapshot create --method sync',
      () => [
        'snapshot',
        'create',
        source.url,
        '--out',
        join(dir, 'synced.rdb'),
        '--force',
        '--method',
        'sync',
      ],
      /synced\.rdb: \d+ keys/,
      false,
    ],
    ['status --json', () => ['status', target.url, '--json', '--interval', '0.1'], /"round": 2/],
  ]

  it.each(cases)('%s', async (_name, args, output, ioredis = true) => {
    const log = moduleLog()
    try {
      const r = await runCli(args(), { env: log.env })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout + r.stderr).toMatch(output)
      const files = log.files()
      expect(files).toContain('bin/kvtop.js')
      for (const file of NEVER_ON_A_PLAIN_ENDPOINT)
        expect(offending(files, file), `${args()[0]} loads ${file}`).toEqual([])
      if (!ioredis) expect(offending(files, 'node_modules/ioredis/')).toEqual([])
      // kvtop's code, oclif and ioredis come from the bundle's few files, never one file each.
      const fromDisk = log.filesFromDisk()
      expect(fromDisk).toContain('dist/bundle/cli.js')
      expect(fromDisk.filter((f) => UNBUNDLED.test(f))).toEqual([])
    } finally {
      log.remove()
    }
  })

  // Loaded before the CLI: logs where String#localeCompare is called from (and still compares),
  // and at exit whether Node's TLS module was loaded.
  const STARTUP_PROBE = `import { appendFileSync } from 'node:fs'
const log = (line) => appendFileSync(process.env.KVTOP_STARTUP_PROBE_LOG, line + '\\n')
const compare = String.prototype.localeCompare
String.prototype.localeCompare = function (...args) {
  log('localeCompare ' + new Error().stack)
  return compare.apply(this, args)
}
process.on('exit', () => {
  if (process.moduleLoadList.includes('NativeModule tls')) log('node:tls loaded')
})
`

  /**
   * Whole commands against plain endpoints that must start without what they do not use: no
   * localeCompare, whose first call loads ICU's collation data (oclif's command sort:
   * scripts/bundle.js), and no node:tls (wire/dial.ts loads it for TLS endpoints only).
   */
  const lean: [string, () => string[]][] = [
    ['snapshot inspect', () => ['snapshot', 'inspect', join(dir, 'one.rdb')]],
    ['replay', () => ['replay', join(dir, 'one.resp'), '--target', target.url, '--replace']],
  ]

  it.each(lean)('%s calls no localeCompare and loads no node:tls', async (_name, args) => {
    const preload = join(dir, 'startup-probe.mjs')
    const log = join(dir, 'startup-probe.log')
    writeFileSync(preload, STARTUP_PROBE)
    writeFileSync(log, '')
    const r = await runCli(args(), {
      env: {
        KVTOP_STARTUP_PROBE_LOG: log,
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(preload).href}`,
      },
    })
    expect(r.code, r.stderr).toBe(0)
    expect(readFileSync(log, 'utf8')).toBe('')
  })

  it('--help loads no connection library', async () => {
    const log = moduleLog()
    try {
      const r = await runCli(['status', '--help'], { env: log.env })
      expect(r.code).toBe(0)
      expect(r.stdout).toMatch(/USAGE/)
      const files = log.files()
      expect(files).toContain('bin/kvtop.js')
      expect(offending(files, 'node_modules/ioredis/')).toEqual([])
      expect(offending(files, 'dist/commands/')).toEqual([])
    } finally {
      log.remove()
    }
  })
})
