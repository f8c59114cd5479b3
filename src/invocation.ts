import { realpathSync, statSync } from 'node:fs'
import { delimiter, join } from 'node:path'

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b)
  } catch {
    return false
  }
}

/**
 * How the user can run kvtop again from their shell, for the commands kvtop suggests ("Connect with:
 * ... discover ..."): `kvtop` when that name on PATH is this very program (npm i -g, npm link),
 * otherwise `npx kvtop`, which runs the package's own bin from a checkout. Under npm (npm run, npx)
 * PATH holds npm's additions, which the user's shell does not have.
 */
export function kvtopInvocation(
  env: NodeJS.ProcessEnv = process.env,
  script = process.argv[1] ?? '',
): string {
  if (env.npm_lifecycle_event || env.npm_command === 'exec') return 'npx kvtop'
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'kvtop')
    try {
      if (!statSync(candidate).isFile()) continue
    } catch {
      continue
    }
    return sameFile(candidate, script) ? 'kvtop' : 'npx kvtop'
  }
  return 'npx kvtop'
}
