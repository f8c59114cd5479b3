import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { UsageError } from '../../../src/errors.js'
import { confirmTyped, confirmYesNo } from '../../../src/ui/confirm.js'

/** A fake terminal (or not): what the user types into `input`, what was shown on `output`. */
function terminal(tty = { input: true, output: true }) {
  const input = Object.assign(new PassThrough(), { isTTY: tty.input })
  const output = Object.assign(new PassThrough(), { isTTY: tty.output })
  let shown = ''
  output.on('data', (d) => (shown += String(d)))
  /** Type `text` once the question is on screen. */
  const answer = (text: string) => {
    const timer = setInterval(() => {
      if (!shown.includes('[y/N]')) return
      clearInterval(timer)
      input.write(text)
    }, 5)
  }
  return { input, output, answer, shown: () => shown }
}

async function refusal(p: Promise<void>): Promise<UsageError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(UsageError)
  expect((err as UsageError).exitCode).toBe(2)
  return err as UsageError
}

describe('confirmYesNo', () => {
  it('--yes: goes ahead without asking, terminal or not', async () => {
    const t = terminal({ input: false, output: false })
    await expect(confirmYesNo('Go?', { yes: true, json: true, ...t })).resolves.toBeUndefined()
    expect(t.shown()).toBe('')
  })

  it('not on a terminal (stdin or stderr), or with --json: refused, exit 2, naming --yes', async () => {
    for (const tty of [
      { input: false, output: true },
      { input: true, output: false },
    ]) {
      const t = terminal(tty)
      const err = await refusal(
        confirmYesNo('Create it?', {
          action: 'create the cluster',
          nothingDone: 'nothing was created',
          ...t,
        }),
      )
      expect(err.message).toBe(
        'refusing to create the cluster without --yes (not on a terminal to ask): nothing was created',
      )
      expect(err.code).toBe('needs-confirmation')
      expect(err.hint).toBe('Pass --yes to confirm.')
      expect(t.shown()).toBe('')
    }
    const t = terminal()
    const err = await refusal(confirmYesNo('Create it?', { json: true, hint: 'See --dry-run.', ...t }))
    expect(err.message).toBe('refusing to go ahead without --yes (--json never prompts): nothing was done')
    expect(err.hint).toBe('Pass --yes to confirm. See --dry-run.')
    expect(t.shown()).toBe('')
  })

  it('on a terminal: asks y/N; n, an empty answer or anything else is a refusal', async () => {
    for (const typed of ['n\r', '\r', 'yep\r', 'no\n']) {
      const t = terminal()
      t.answer(typed)
      const err = await refusal(confirmYesNo('Replay 2 FLUSHALL?', { nothingDone: 'nothing was sent', ...t }))
      expect(err.message).toBe('not confirmed: nothing was sent')
      expect(err.code).toBe('not-confirmed')
      expect(t.shown()).toContain('Replay 2 FLUSHALL? [y/N] ')
    }
  })

  it('on a terminal: y or yes (any case) goes ahead', async () => {
    for (const typed of ['y\r', 'Y\n', 'yes\r', ' YES \r']) {
      const t = terminal()
      t.answer(typed)
      await expect(confirmYesNo('Go?', t)).resolves.toBeUndefined()
    }
  })

  it('end of input or Ctrl-C while asking is a refusal', async () => {
    const eof = terminal()
    const asked = confirmYesNo('Go?', eof)
    eof.input.end()
    await refusal(asked)
    const ctrlC = terminal()
    ctrlC.answer('\x03')
    expect((await refusal(confirmYesNo('Go?', ctrlC))).message).toBe('not confirmed: nothing was done')
  })

  it('confirmTyped (scale, scale aws) never prompts under --json either', async () => {
    const err = await refusal(confirmTyped('127.0.0.1:7000', 'the cluster', false, true))
    expect(err.message).toBe('refusing to change the cluster without --yes (--json never prompts)')
    await expect(confirmTyped('127.0.0.1:7000', 'the cluster', true, true)).resolves.toBeUndefined()
  })
})
