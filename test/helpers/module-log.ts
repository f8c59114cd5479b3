import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** The checkout's root, to show loaded files relative to it. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
/** The bundled CLI (scripts/bundle.js), and which tsc-output and package files each of its files holds. */
const BUNDLE = 'dist/bundle/'
const BUNDLE_INPUTS = join(ROOT, BUNDLE, 'inputs.json')

// Runs in the loader hooks' thread: every ES module (and CommonJS entry file) Node loads.
const HOOKS = `import { appendFileSync } from 'node:fs'
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(process.env.KVTOP_MODULE_LOG, url + '\\n')
  return next(url, context)
}
`
// Runs in the process before the program: registers the hooks, and logs CommonJS files that
// CommonJS requires (Node 20 sends those past the hooks).
const REGISTER = `import { appendFileSync } from 'node:fs'
import Module, { register } from 'node:module'
import { pathToFileURL } from 'node:url'
register(new URL('./hooks.mjs', import.meta.url))
const compile = Module.prototype._compile
Module.prototype._compile = function (content, filename) {
  appendFileSync(process.env.KVTOP_MODULE_LOG, pathToFileURL(filename).href + '\\n')
  return compile.call(this, content, filename)
}
`

/** A package's file as `node_modules/NAME/...` (node_modules may be a link elsewhere), ours from the root. */
function shown(url: string, rootUrl: string): string {
  const packages = url.lastIndexOf('/node_modules/')
  if (packages >= 0) return url.slice(packages + 1)
  return url.startsWith(rootUrl) ? url.slice(rootUrl.length) : fileURLToPath(url)
}

/**
 * A loaded file and, for a file of the bundle, every file bundled into it (`dist/src/...`,
 * `node_modules/...`): loading a bundle file reads and compiles all of them, as loading each
 * from its own file did before the bundle.
 */
function withBundledInputs(file: string, inputs: Record<string, string[]>): string[] {
  if (!file.startsWith(BUNDLE)) return [file]
  const bundled = inputs[file.slice(BUNDLE.length)]
  if (!bundled) throw new Error(`${file} is not in ${BUNDLE}inputs.json: rebuild (npm run build)`)
  return [file, ...bundled]
}

export interface ModuleLog {
  /** Environment for a node child (runCli's env): it logs every file it loads. */
  env: NodeJS.ProcessEnv
  /**
   * The files loaded so far, once each, relative to the checkout (`dist/...`, `node_modules/...`),
   * a bundle file followed by the files bundled into it.
   */
  files(): string[]
  /** The files Node itself read so far, once each: a bundle file without what it holds. */
  filesFromDisk(): string[]
  remove(): void
}

/** A log of what a node child loads, for tests of what a command pulls in (never of how long it takes). */
export function moduleLog(): ModuleLog {
  const dir = mkdtempSync(join(process.env.KVTOP_TEST_ROOT ?? tmpdir(), 'module-log-'))
  writeFileSync(join(dir, 'hooks.mjs'), HOOKS)
  writeFileSync(join(dir, 'register.mjs'), REGISTER)
  const log = join(dir, 'loaded.txt')
  writeFileSync(log, '')
  const rootUrl = pathToFileURL(ROOT).href
  const read = () =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((url) => shown(url, rootUrl))
  return {
    env: {
      KVTOP_MODULE_LOG: log,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(join(dir, 'register.mjs')).href}`,
    },
    files: () => {
      const inputs = JSON.parse(readFileSync(BUNDLE_INPUTS, 'utf8')) as Record<string, string[]>
      return [...new Set(read().flatMap((file) => withBundledInputs(file, inputs)))]
    },
    filesFromDisk: () => [...new Set(read())],
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}
