import { describe, expect, it } from 'vitest'
import { commandPattern, keyShape } from '../../../src/redis/command-pattern.js'

describe('command patterns', () => {
  it('key shapes hide ids, numbers and hashes', () => {
    expect(keyShape('user:42:profile')).toBe('user:*:profile')
    expect(keyShape('session:9f8e7d6c5b4a3921')).toBe('session:*')
    expect(keyShape('{user1}:cart')).toBe('{*}:cart')
    expect(keyShape('kvtop:bin:5:\\xff\\xfe\\r\\n\\x00\\x05')).toBe('kvtop:bin:*')
    expect(keyShape('config')).toBe('config')
  })

  it('patterns by command kind', () => {
    expect(commandPattern(['GET', 'user:1'])).toBe('GET user:*')
    expect(commandPattern(['hgetall', 'cart:77'])).toBe('HGETALL cart:*')
    expect(commandPattern(['DEBUG', 'SLEEP', '0.05'])).toBe('DEBUG SLEEP')
    expect(commandPattern(['CLUSTER', 'nodes'])).toBe('CLUSTER NODES')
    expect(commandPattern(['MEMORY', 'USAGE', 'big:3'])).toBe('MEMORY USAGE big:*')
    expect(commandPattern(['KEYS', 'user:*'])).toBe('KEYS user:*')
    expect(commandPattern(['EVALSHA', 'abcdef0123456789', '1', 'k'])).toBe('EVALSHA abcdef01')
    expect(commandPattern(['FCALL', 'myfunc', '0'])).toBe('FCALL myfunc')
    expect(commandPattern(['SCAN', '0', 'MATCH', 'x*'])).toBe('SCAN')
    expect(commandPattern(['FLUSHALL'])).toBe('FLUSHALL')
    expect(commandPattern([])).toBe('(empty)')
  })
})
