#!/usr/bin/env node
// npm run build, after tsc: bundles what `kvtop` runs into dist/bundle/, so that a command's
// start-up reads a few files instead of ~150 of kvtop's own and ~100 of its libraries'.
// See "The build" in docs/architecture.md for the layout and what is bundled and why.
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
const DIST = join(ROOT, 'dist')
const OUT = join(DIST, 'bundle')

/** Every command module of the tsc output, keyed by its path under dist/commands without `.js`. */
function commandEntries(dir = join(DIST, 'commands')) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return commandEntries(path)
    if (!e.name.endsWith('.js') || path === join(DIST, 'commands', 'index.js')) return []
    return [[relative(DIST, path).replace(/\.js$/, ''), path]]
  })
}

// cli.js and every chunk land directly in dist/bundle/, two levels below the package root as
// dist/src/cli.js is: quick-version.ts finds package.json at '../../package.json' from either.
const entryPoints = Object.fromEntries([
  ['cli', join(DIST, 'src', 'cli.js')],
  ['command-not-found', join(DIST, 'src', 'hooks', 'command-not-found.js')],
  ...commandEntries(),
])

/**
 * Libraries bundled with kvtop's code, with everything they require: CommonJS packages whose many
 * small files every command loads (oclif) or every command that connects (ioredis). The rest stay
 * in node_modules and load as before: the ES-module libraries loaded on demand (ink, react, the AWS
 * SDK), blessed, and oclif's plugins, which oclif itself finds and loads from node_modules.
 */
const BUNDLED = ['@oclif/core', 'ioredis']

/** What oclif requires only to run TypeScript sources in development (kvtop runs dist/): never bundled. */
const NEVER_BUNDLED = ['typescript', 'ts-node', 'tsx']

const packageOf = (specifier) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/')

/** An import from kvtop's own code names a package: bundled if listed, external otherwise. */
const bundledPackagesOnly = {
  name: 'bundled-packages-only',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:')) return { external: true }
      if (NEVER_BUNDLED.includes(packageOf(args.path))) return { external: true }
      if (args.importer.includes('/node_modules/')) return undefined
      return BUNDLED.includes(packageOf(args.path)) ? undefined : { external: true }
    })
  },
}

/**
 * An esbuild plugin that replaces one exact piece of code (`from`) of the oclif file matching
 * `file` with `to` as it is bundled. The build fails when `from` is no longer there: an oclif
 * upgrade must not quietly drop the change.
 */
function oclifLinePatch(name, file, from, to) {
  return {
    name,
    setup(b) {
      b.onLoad({ filter: file }, (args) => {
        const source = readFileSync(args.path, 'utf8')
        if (!source.includes(from))
          throw new Error(
            `${args.path}: oclif changed the code that ${name} replaces; update it in scripts/bundle.js`,
          )
        return { contents: source.replace(from, to), loader: 'js' }
      })
    },
  }
}

/**
 * oclif sorts each plugin's commands with String#localeCompare at every start, and the first call
 * of localeCompare in a process loads ICU's collation data: 10-25 ms of every command's start-up.
 * For ids made of lowercase letters, ':' and '-' (every id of kvtop and of its plugins), ICU's root
 * collation and code-unit order agree ('-' < ':' < 'a'-'z', a prefix first), so the bundled oclif
 * compares such ids directly and any other id with localeCompare: the same order without the load.
 * Should oclif change that line, the build fails here rather than quietly keep the slow sort.
 */
const OCLIF_PLUGIN = /node_modules\/@oclif\/core\/lib\/config\/plugin\.js$/
const OCLIF_COMMAND_SORT = '.sort((a, b) => a.id.localeCompare(b.id));'
const PLAIN_ID_SORT =
  '.sort((a, b) => (/^[a-z:-]*$/.test(a.id) && /^[a-z:-]*$/.test(b.id) ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.id.localeCompare(b.id)));'

const commandSortWithoutIcu = oclifLinePatch(
  'command-sort-without-icu',
  OCLIF_PLUGIN,
  OCLIF_COMMAND_SORT,
  PLAIN_ID_SORT,
)

/**
 * At every start oclif finds its core plugins (package.json's oclif.plugins) among kvtop's
 * dependencies by matching each dependency against each name with minimatch: ~50 matchers built
 * and compiled, 10-20 ms. The names listed are plain package names, for which a match is equality;
 * the bundled oclif compares such names directly and matches any other pattern with minimatch.
 * Should oclif change that line, the build fails here rather than quietly keep the slow match.
 */
const OCLIF_PLUGIN_LOADER = /node_modules\/@oclif\/core\/lib\/config\/plugin-loader\.js$/
const OCLIF_DEPENDENCY_MATCH = 'patterns.some((w) => (0, minimatch_1.minimatch)(p, w))'
const PLAIN_NAME_MATCH =
  'patterns.some((w) => (/^(@[a-z0-9][a-z0-9._-]*\\/)?[a-z0-9][a-z0-9._-]*$/.test(w) ? p === w : (0, minimatch_1.minimatch)(p, w)))'

const dependencyMatchWithoutGlobs = oclifLinePatch(
  'dependency-match-without-globs',
  OCLIF_PLUGIN_LOADER,
  OCLIF_DEPENDENCY_MATCH,
  PLAIN_NAME_MATCH,
)

rmSync(OUT, { recursive: true, force: true })
const result = await build({
  entryPoints,
  outdir: OUT,
  // Paths (in chunk hashes, comments and source maps) as in the checkout, node_modules included
  // when it is a link: the same sources give the same bundle in any checkout.
  absWorkingDir: ROOT,
  preserveSymlinks: true,
  chunkNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  plugins: [bundledPackagesOnly, commandSortWithoutIcu, dependencyMatchWithoutGlobs],
  // Bundled CommonJS calls require() for Node's built-ins (and resolve() for plugins): an ES module
  // has no require of its own, so each bundle file makes one.
  banner: {
    js: "import { createRequire as __kvtopCreateRequire } from 'node:module'; const require = __kvtopCreateRequire(import.meta.url);",
  },
  metafile: true,
  sourcemap: true,
  logLevel: 'warning',
})

/** A bundled file as it is named in the checkout (node_modules may be a link to elsewhere). */
const shown = (input) => {
  const packages = input.lastIndexOf('node_modules/')
  return packages >= 0 ? input.slice(packages) : relative(ROOT, join(ROOT, input))
}

/** Which tsc-output and package files each bundle file holds (test/helpers/module-log.ts reads it). */
const inputs = Object.fromEntries(
  Object.entries(result.metafile.outputs)
    .filter(([file]) => file.endsWith('.js'))
    .map(([file, o]) => [relative(OUT, join(ROOT, file)), Object.keys(o.inputs).map(shown)]),
)
writeFileSync(join(OUT, 'inputs.json'), JSON.stringify(inputs, null, 1) + '\n')
