import { describe, expect, it } from 'vitest'
import { lengthCommand } from '../../../src/redis/commands.js'

describe('verify: differences and their text', () => {
  it('length commands per type; none for module types', () => {
    expect(lengthCommand('hash')).toBe('HLEN')
    expect(lengthCommand('stream')).toBe('XLEN')
    expect(lengthCommand('ReJSON-RL')).toBeUndefined()
  })
})
