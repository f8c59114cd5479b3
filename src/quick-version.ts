import { readFileSync } from 'node:fs'
import { arch, platform, release } from 'node:os'

/**
 * `kvtop --version` as oclif prints it (`kvtop/0.1.0 linux-x64 node-v20.20.2`), answered before
 * oclif is loaded: loading it costs more than the rest of the start-up together, and a version
 * check (scripts, bug reports) should answer as fast as `redis-cli --version` does. Undefined where
 * oclif would print something else (WSL shows as `wsl`, ia32 as `x86`): oclif answers those itself.
 */
export function quickVersionLine(argv: readonly string[]): string | undefined {
  if (argv.length !== 1 || argv[0] !== '--version') return undefined
  if (arch() === 'ia32' || /microsoft/i.test(release())) return undefined
  const pjson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    name: string
    version: string
  }
  return `${pjson.name}/${pjson.version} ${platform()}-${arch()} node-${process.version}`
}
