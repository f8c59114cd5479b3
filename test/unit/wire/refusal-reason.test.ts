import { describe, expect, it } from 'vitest'
import { isCommandRefusal, refusalReason } from '../../../src/wire/classify.js'

// Error replies as redis-server 6.2/7.x, Valkey 8 and managed services send them.
const CASES: [string, ReturnType<typeof refusalReason>][] = [
  ["NOPERM this user has no permissions to run the 'slowlog|get' command", 'acl'],
  ["NOPERM User kvtop has no permissions to run the 'config|get' command", 'acl'],
  ["ERR unknown subcommand 'DRYRUN'. Try ACL HELP.", 'unknown-subcommand'],
  ["ERR Unknown subcommand or wrong number of arguments for 'DRYRUN'. Try ACL HELP.", 'unknown-subcommand'],
  [
    "ERR unknown command 'COMMANDLOG', with args beginning with: 'GET' '32' 'large-reply' ",
    'unknown-command',
  ],
  ['ERR unknown command `CONFIG`, with args beginning with: `GET`, `maxmemory`, ', 'unknown-command'],
  [
    'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection',
    'forbidden',
  ],
  ['ERR This instance has cluster support disabled', 'forbidden'],
  ["ERR wrong number of arguments for 'get' command", undefined],
  ['WRONGTYPE Operation against a key holding the wrong kind of value', undefined],
  ['MOVED 3999 127.0.0.1:6381', undefined],
  ['LOADING Redis is loading the dataset in memory', undefined],
]

describe('refusalReason: why a command was refused, one classifier', () => {
  for (const [message, reason] of CASES) {
    it(`${message.slice(0, 48)} -> ${reason ?? 'not a refusal'}`, () => {
      expect(refusalReason(message)).toBe(reason)
    })
  }

  it('names a reason for exactly the refusals isCommandRefusal sees (and a missing subcommand)', () => {
    for (const [message, reason] of CASES) {
      if (reason === 'unknown-subcommand') continue
      expect(isCommandRefusal({ message }), message).toBe(reason !== undefined)
    }
  })
})
