#!/usr/bin/env node
// Keeps the test tree a mirror of the code (docs/architecture.md, "Tests"): a file under
// test/unit/<folder>/ or test/integration/<folder>/ sits in a folder that exists under src/
// (test/unit/ops/migrate for src/ops/migrate), under commands/ (test/unit/commands/...), or under
// test/helpers/ (tests of the test helpers), scripts/ or bench/ (the benchmarks' shared arithmetic). A unit test at the top of test/unit is named after the
// top-level src/ file it tests (flags-seconds.test.ts for src/flags.ts). The integration folders
// that exercise every operation at once are listed below. Run by `npm run lint`; exits 1 naming
// every file out of place.
// Usage: node scripts/check-test-layout.js [repository root]   (default: this checkout)
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = process.argv[2] ?? fileURLToPath(new URL('..', import.meta.url))

/** Integration folders that mirror no single module: each runs every operation against one engine. */
const CROSS_CUTTING_INTEGRATION = new Set(['valkey'])

function filesUnder(dir) {
  if (!existsSync(dir)) return []
  const out = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...filesUnder(path))
    else if (/\.(ts|tsx|js|mjs)$/.test(name)) out.push(path)
  }
  return out
}

const isDir = (path) => existsSync(path) && statSync(path).isDirectory()

/** Where the code a test folder mirrors lives, or undefined when nothing does. */
function mirroredFolder(folder) {
  const [first, ...rest] = folder.split('/')
  if (first === 'commands')
    return isDir(join(root, 'commands', ...rest)) ? `commands/${rest.join('/')}` : undefined
  if (first === 'helpers') return isDir(join(root, 'test', 'helpers', ...rest)) ? `test/${folder}` : undefined
  if (first === 'scripts' || first === 'bench') return isDir(join(root, folder)) ? folder : undefined
  return isDir(join(root, 'src', folder)) ? `src/${folder}` : undefined
}

const topLevelSources = readdirSync(join(root, 'src'))
  .filter((name) => /\.tsx?$/.test(name))
  .map((name) => name.replace(/\.tsx?$/, ''))

/** A test at the top of test/unit is `<src file>.test.ts` or `<src file>-<aspect>.test.ts`. */
const namesTopLevelSource = (name) =>
  topLevelSources.some((source) => name.startsWith(`${source}.`) || name.startsWith(`${source}-`))

const problems = []
for (const kind of ['unit', 'integration']) {
  const base = join(root, 'test', kind)
  for (const path of filesUnder(base)) {
    const rel = relative(base, path).split(sep).join('/')
    const shown = `test/${kind}/${rel}`
    const folder = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : ''
    const name = rel.slice(rel.lastIndexOf('/') + 1)
    if (folder === '') {
      if (kind === 'unit' && !namesTopLevelSource(name))
        problems.push(`${shown}: a test at the top of test/unit is named after the src/*.ts file it tests`)
      if (kind === 'integration')
        problems.push(`${shown}: put it in the folder of the operation or module it exercises`)
      continue
    }
    if (kind === 'integration' && CROSS_CUTTING_INTEGRATION.has(folder)) continue
    if (!mirroredFolder(folder))
      problems.push(
        `${shown}: test/${kind}/${folder} mirrors no folder of src/, commands/, test/helpers/, scripts/ or bench/; ` +
          `put it under test/${kind}/<the folder of the code it tests>`,
      )
  }
}

if (problems.length) {
  console.error(`Test files out of place (docs/architecture.md, "Tests"):\n  ${problems.join('\n  ')}`)
  process.exit(1)
}
