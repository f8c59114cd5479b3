import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, any>
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version: string; dev?: boolean }>
}

/** Every .ts/.tsx file under these folders of the repository. */
function sources(...dirs: string[]): string[] {
  const out: string[] = []
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name)
      if (statSync(p).isDirectory()) walk(p)
      else if (/\.tsx?$/.test(name)) out.push(p)
    }
  }
  for (const d of dirs) walk(join(root, d))
  return out
}
const importsOf = (pkg: string, files: string[]) =>
  files.filter((f) =>
    new RegExp(`from '${pkg}(/[^']*)?'|import\\('${pkg}(/[^']*)?'\\)`).test(readFileSync(f, 'utf8')),
  )

describe('docs/commands.md', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvtop-reference-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('is what `npm run docs` generates from the commands today', () => {
    const copy = join(dir, 'commands.md')
    copyFileSync(join(root, 'docs', 'commands.md'), copy)
    const r = spawnSync(
      join(root, 'node_modules', '.bin', 'oclif'),
      ['readme', '--readme-path', copy, '--no-source-links', '--no-aliases'],
      { cwd: root, encoding: 'utf8', env: { ...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true' } },
    )
    expect(r.status, r.stderr).toBe(0)
    const fresh = readFileSync(copy, 'utf8')
    expect(fresh).toContain('## `kvtop status [URL]`')
    // When this fails: `npm run build && npm run docs`, and commit docs/commands.md.
    expect(fresh).toBe(readFileSync(join(root, 'docs', 'commands.md'), 'utf8'))
  })

  it('is linked from the README, and points nowhere outside the repository', () => {
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toContain('[docs/commands.md](docs/commands.md)')
    expect(readFileSync(join(root, 'docs', 'commands.md'), 'utf8')).not.toMatch(/https?:\/\//)
  })
})

describe('package.json', () => {
  it('names the project: repository, bugs, homepage', () => {
    expect(pjson.repository).toEqual({ type: 'git', url: 'git+https://github.com/kvtop/kvtop.git' })
    expect(pjson.bugs).toEqual({ url: 'https://github.com/kvtop/kvtop/issues' })
    expect(pjson.homepage).toBe('https://github.com/kvtop/kvtop#readme')
  })

  it('ships the oclif manifest that start-up reads', () => {
    expect(pjson.files).toContain('oclif.manifest.json')
    expect(pjson.scripts.build).toMatch(/^tsc -p tsconfig\.json && .*oclif manifest$/)
    expect(pjson.devDependencies.oclif).toMatch(/^4\./)
  })

  it('declares the standard oclif plugins, each a runtime dependency', () => {
    expect(pjson.oclif.plugins).toEqual([
      '@oclif/plugin-help',
      '@oclif/plugin-autocomplete',
      '@oclif/plugin-version',
    ])
    // plugin-not-found is used from kvtop's own command_not_found hook, which asks only on a terminal.
    expect(pjson.oclif.hooks).toEqual({ command_not_found: './dist/bundle/command-not-found.js' })
    for (const p of [...pjson.oclif.plugins, '@oclif/plugin-not-found'])
      expect(pjson.dependencies[p], p).toMatch(/^\d+\.\d+\.\d+$/)
  })

  it('no unused dependency: ink-spinner is gone, cluster-key-slot only serves the tests', () => {
    const shipped = sources('src', 'commands')
    expect(pjson.dependencies['ink-spinner']).toBeUndefined()
    expect(lock.packages['node_modules/ink-spinner']).toBeUndefined()
    expect(importsOf('ink-spinner', [...shipped, ...sources('test', 'bench')])).toEqual([])
    expect(pjson.dependencies['cluster-key-slot']).toBeUndefined()
    expect(pjson.devDependencies['cluster-key-slot']).toBeDefined()
    expect(importsOf('cluster-key-slot', shipped)).toEqual([])
    expect(importsOf('cluster-key-slot', sources('test')).length).toBeGreaterThan(0)
  })

  it('xml2js (through blessed-contrib) resolves to a release without the prototype-pollution advisory', () => {
    expect(pjson.overrides).toEqual({ xml2js: '0.6.2' })
    const versions = Object.entries(lock.packages)
      .filter(([path]) => path.endsWith('node_modules/xml2js'))
      .map(([, p]) => p.version)
    // CVE-2023-0842 / GHSA-776f-qx25-q3cc: fixed in 0.5.0.
    expect(versions).toEqual(['0.6.2'])
  })
})
