import { describe, expect, it, vi } from 'vitest'

// ink's chalk decides its colour level when first imported: force colours so that "no colour" is
// the view's doing, not the test terminal's.
process.env.FORCE_COLOR = '3'

describe('BaseCommand under --json: every stderr line an event', () => {
  it('warn() and diag() write {type: "warning" | "notice", at, message}; text without --json', async () => {
    const { Config, settings } = await import('@oclif/core')
    // The built commands, as the binary loads them (no transpiling of the sources).
    settings.enableAutoTranspile = false
    const { BaseCommand } = await import('../../src/base-command.js')
    class Talker extends BaseCommand {
      async run(): Promise<void> {
        await this.parse(Talker)
        this.warn('the target is older')
        this.diag('Connected to 127.0.0.1:1')
      }
    }
    const config = await Config.load(new URL('../../', import.meta.url).pathname)
    const capture = async (argv: string[]) => {
      const lines: string[] = []
      const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
        lines.push(...String(chunk).split('\n').filter(Boolean))
        return true
      })
      try {
        await new Talker(argv, config).run()
      } finally {
        spy.mockRestore()
      }
      return lines
    }
    const events = (await capture(['--json'])).map((l) => JSON.parse(l))
    expect(events).toEqual([
      { type: 'warning', at: expect.any(Number), message: 'the target is older' },
      { type: 'notice', at: expect.any(Number), message: 'Connected to 127.0.0.1:1' },
    ])
    expect(await capture([])).toEqual(['Warning: the target is older', 'Connected to 127.0.0.1:1'])
  })
})
