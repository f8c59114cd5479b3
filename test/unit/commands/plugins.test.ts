import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { arch, platform, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../../helpers/cli.js'
import { hasScript, runCliInPty } from '../../helpers/pty.js'

const pjson = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string
  dependencies: Record<string, string>
}

// Autocomplete writes its cache under the CLI's cache dir, the tests' sandboxes under their own:
// both in a temporary home, never the user's.
const home = mkdtempSync(join(tmpdir(), 'kvtop-cli-plugins-'))
afterAll(() => rmSync(home, { recursive: true, force: true }))
const env = {
  HOME: home,
  XDG_CACHE_HOME: join(home, 'cache'),
  XDG_DATA_HOME: join(home, 'data'),
  XDG_CONFIG_HOME: join(home, 'config'),
  KVTOP_SANDBOX_DIR: join(home, 'sandboxes'),
}
const cli = (args: string[]) => runCli(args, { env })

describe('oclif standard plugins', () => {
  it('help CMD prints the same help as CMD --help', async () => {
    const [viaHelp, viaFlag] = await Promise.all([cli(['help', 'status']), cli(['status', '--help'])])
    expect(viaHelp.code).toBe(0)
    expect(viaHelp.stdout).toBe(viaFlag.stdout)
    expect(viaHelp.stdout.split('\n')[0]).toBe(
      'Every node of the deployment with its rates, memory, replication lag and alerts',
    )
    expect(viaHelp.stdout).toContain('\nUSAGE\n  $ kvtop status [URL...]')
  })

  it('help on a topic lists its commands under the topic description', async () => {
    const r = await cli(['help', 'snapshot'])
    expect(r.code).toBe(0)
    expect(r.stdout.split('\n')[0]).toBe(
      'RDB files from any endpoint (create, inspect, restore) and ElastiCache/MemoryDB snapshots (aws)',
    )
    expect(r.stdout).toMatch(/^ {2}snapshot aws +ElastiCache and MemoryDB snapshots through the AWS APIs/m)
    expect(r.stdout).toMatch(/^ {2}snapshot create +Write a real RDB file/m)
  })

  it('autocomplete bash prints the setup, and the script it names defines the completion', async () => {
    const setup = await cli(['autocomplete', 'bash'])
    expect(setup.code).toBe(0)
    expect(setup.stdout).toContain('Setup Instructions for KVTOP CLI Autocomplete')
    expect(setup.stdout).toContain(
      'printf "$(kvtop autocomplete script bash)" >> ~/.bashrc; source ~/.bashrc',
    )
    const script = await cli(['autocomplete', 'script', 'bash'])
    expect(script.code).toBe(0)
    expect(script.stdout).toContain(
      `KVTOP_AC_BASH_SETUP_PATH=${join(home, 'cache', 'kvtop', 'autocomplete')}/bash_setup`,
    )
  })

  it('autocomplete zsh prints the zsh setup', async () => {
    const r = await cli(['autocomplete', 'zsh'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('printf "$(kvtop autocomplete script zsh)" >> ~/.zshrc; source ~/.zshrc')
  })

  it('--version is one line, identical to the version command', async () => {
    const [flag, command] = await Promise.all([cli(['--version']), cli(['version'])])
    const line = `kvtop/${pjson.version} ${platform()}-${arch()} node-${process.version}\n`
    expect(flag).toMatchObject({ code: 0, stdout: line, stderr: '' })
    expect(command).toMatchObject({ code: 0, stdout: line })
  })

  it('version --verbose has what a bug report needs', async () => {
    const r = await cli(['version', '--verbose'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(` CLI Version:\n\tkvtop/${pjson.version}\n`)
    expect(r.stdout).toContain(` Node Version:\n\tnode-${process.version}\n`)
    expect(r.stdout).toContain(` Architecture:\n\t${platform()}-${arch()}\n`)
    for (const plugin of ['@oclif/plugin-autocomplete', '@oclif/plugin-help', '@oclif/plugin-version'])
      expect(r.stdout).toContain(`\t${plugin} ${pjson.dependencies[plugin]} (core)\n`)
  })
})

describe('a mistyped command', () => {
  it('without a terminal: exit 2 at once, the nearest command in the message', async () => {
    const r = await cli(['stauts'])
    expect(r).toMatchObject({
      code: 2,
      stdout: '',
      stderr:
        'Error: command stauts not found. Did you mean status?\nRun kvtop --help for the list of commands.\n',
    })
  })

  it('suggests across topics, with spaces as typed', async () => {
    const r = await cli(['snapshot', 'creat', 'x.rdb'])
    expect(r.code).toBe(2)
    expect(r.stderr.split('\n')[0]).toBe(
      'Error: command snapshot creat not found. Did you mean snapshot create?',
    )
  })

  it('no suggestion for something that is no command at all', async () => {
    const r = await cli(['zzzzzzzzzzzz'])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(
      'Error: command zzzzzzzzzzzz not found\nRun kvtop --help for the list of commands.\n',
    )
  })

  describe.skipIf(!hasScript())('on a terminal', () => {
    it('asks "Did you mean ...?" and runs the suggestion on yes', async () => {
      const r = await runCliInPty(['sandbox', 'statsu'], 'y', { env, question: '(Y/n)' })
      expect(r.asked).toBe(true)
      expect(r.output).toContain('Did you mean sandbox status?')
      expect(r.output).toContain('No sandboxes. Start one with: npx kvtop sandbox up')
      expect(r.code).toBe(0)
    })

    it('on no: exit 2, nothing run', async () => {
      const r = await runCliInPty(['sandbox', 'statsu'], 'n', { env, question: '(Y/n)' })
      expect(r.asked).toBe(true)
      expect(r.output).not.toContain('No sandboxes')
      expect(r.code).toBe(2)
    })
  })
})
