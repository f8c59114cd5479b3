import { describe, expect, it } from 'vitest'
import { whileInterruptible } from '../../src/interrupts.js'

/** process.emit calls the listeners as a real signal would, without the default action. */
const send = (name: 'SIGINT' | 'SIGTERM') => process.emit(name, name)

describe('whileInterruptible', () => {
  it('the first SIGTERM aborts the operation, the second exits 5; the handlers go with the operation', async () => {
    const before = process.listenerCount('SIGTERM')
    const exits: number[] = []
    const said: string[] = []
    const outcome = await whileInterruptible(
      async ({ signal, hardStop }) => {
        expect(process.listenerCount('SIGTERM')).toBe(before + 1)
        expect(process.listenerCount('SIGINT')).toBeGreaterThan(0)
        send('SIGTERM')
        expect([signal.aborted, hardStop.aborted, exits]).toEqual([true, false, []])
        send('SIGINT')
        expect(exits).toEqual([5])
        return 'stopped cleanly'
      },
      {
        onFirst: () => said.push('first'),
        onForcedExit: () => said.push('forced'),
        exit: (code) => exits.push(code),
      },
    )
    expect(outcome).toBe('stopped cleanly')
    expect(said).toEqual(['first', 'forced'])
    expect(process.listenerCount('SIGTERM')).toBe(before)
  })

  it("second: 'abort' turns the second signal into the hard stop instead of an exit", async () => {
    const exits: number[] = []
    await whileInterruptible(
      async ({ signal, hardStop }) => {
        send('SIGINT')
        expect([signal.aborted, hardStop.aborted]).toEqual([true, false])
        send('SIGTERM')
        expect([signal.aborted, hardStop.aborted]).toEqual([true, true])
      },
      { second: 'abort', exit: (code) => exits.push(code) },
    )
    expect(exits).toEqual([])
  })

  it('removes its handlers when the operation fails too', async () => {
    const before = process.listenerCount('SIGINT')
    await expect(
      whileInterruptible(async () => {
        throw new Error('refused')
      }),
    ).rejects.toThrow('refused')
    expect(process.listenerCount('SIGINT')).toBe(before)
  })
})
