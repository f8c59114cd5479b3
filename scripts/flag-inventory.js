#!/usr/bin/env node
// The flags of every command, from the built command list (npm run build first), as a Markdown
// table: one row per flag name, with the commands that take it and how (type, unit, default,
// aliases). Different types or defaults under one name show up as separate rows of that name.
// Usage: node scripts/flag-inventory.js [--by-command]
import { COMMANDS } from '../dist/commands/index.js'

const byCommand = process.argv.includes('--by-command')
const rows = []
for (const [id, command] of Object.entries(COMMANDS)) {
  for (const [name, flag] of Object.entries(command.flags ?? {})) {
    const kind =
      flag.type === 'boolean'
        ? 'boolean'
        : (flag.helpValue ?? (flag.options ? flag.options.join('|') : 'value'))
    rows.push({
      id: id.replaceAll(':', ' '),
      name,
      kind: kind + (flag.multiple ? '...' : ''),
      def: flag.default === undefined ? '' : String(flag.default),
      aliases:
        (flag.aliases ?? []).map((a) => `--${a}`).join(' ') + (flag.deprecateAliases ? ' (deprecated)' : ''),
    })
  }
}
if (byCommand) {
  console.log('| command | flag | kind | default | aliases |\n|---|---|---|---|---|')
  for (const r of rows) console.log(`| ${r.id} | --${r.name} | ${r.kind} | ${r.def} | ${r.aliases} |`)
} else {
  const groups = new Map()
  for (const r of rows) {
    const key = `${r.name}\t${r.kind}\t${r.def}\t${r.aliases}`
    groups.set(key, [...(groups.get(key) ?? []), r.id])
  }
  console.log('| flag | kind | default | aliases | commands |\n|---|---|---|---|---|')
  for (const [key, ids] of [...groups].sort()) {
    const [name, kind, def, aliases] = key.split('\t')
    console.log(
      `| --${name} | ${kind} | ${def} | ${aliases} | ${ids.length > 8 ? `${ids.length} commands` : ids.join(', ')} |`,
    )
  }
}
