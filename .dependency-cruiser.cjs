/**
 * The layers of kvtop, locked: a module may import its own layer or a lower one, never a higher
 * one, and no import cycle anywhere. docs/architecture.md explains each layer and where new code
 * goes; `npm run lint` runs this check (and CI with it).
 *
 * Lowest first. A path belongs to the first layer whose pattern matches it.
 */
const layers = [
  {
    name: 'basics',
    comment: 'errors, redaction, text and number formatting, flag parsers, the operation event contract',
    path: [
      '^src/(errors|error-mapping|interrupts|redact|json-text|flags|invocation|backoff)\\.ts$',
      '^src/format/',
      '^src/ops/events\\.ts$',
    ],
  },
  { name: 'wire', comment: 'the one RESP/connection layer', path: ['^src/wire/'] },
  {
    name: 'codecs',
    comment: 'RDB, AOF, RESP, MONITOR codecs and files',
    path: ['^src/data/(?!keyspace/|replication/|monitor/)'],
  },
  {
    name: 'redis',
    comment: 'Redis knowledge: INFO parsing, server facts, command metadata',
    path: ['^src/redis/'],
  },
  {
    name: 'access',
    comment: 'endpoints, profiles, deployments, and the streams that read a node',
    path: ['^src/connect/', '^src/data/(keyspace|replication|monitor)/'],
  },
  { name: 'metrics', comment: 'the monitor engine', path: ['^src/metrics/'] },
  { name: 'providers', comment: 'AWS and the local sandbox', path: ['^src/(aws|sandbox)/'] },
  {
    name: 'operations',
    comment: 'migrate, verify, replay, snapshot, scale, triage, capture, export',
    path: ['^src/ops/', '^src/export/'],
  },
  { name: 'views', comment: 'ink reporters and the blessed dashboard', path: ['^src/(ui|dashboard)/'] },
  {
    name: 'commands',
    comment: 'oclif commands, their shell, the binary entry, benchmarks',
    path: [
      '^commands/',
      '^bench/',
      '^src/(cli|base-command|aws-command|pair-flags|quick-version)\\.ts$',
      '^src/hooks/',
    ],
  },
]

const anyOf = (paths) => paths.join('|')
const pathsOf = (some) => some.flatMap((layer) => layer.path)
// Operations and views stand at the same height: neither may import the other (views read the
// operations' events through the contract module in basics).
const peers = { operations: 'views', views: 'operations' }

const upward = layers.map((layer, index) => {
  const lower = layers.slice(0, index)
  const higher = layers.filter((l, i) => i > index || l.name === peers[layer.name])
  return {
    name: `no-upward-from-${layer.name}`,
    comment: `${layer.name} (${layer.comment}) must not import ${higher.map((l) => l.name).join(', ')}: see docs/architecture.md, Layers`,
    severity: 'error',
    // A path belongs to the lowest layer that claims it (src/ops/events.ts is basics, not operations).
    from: { path: anyOf(layer.path), ...(lower.length ? { pathNot: anyOf(pathsOf(lower)) } : {}) },
    to: {
      path: anyOf(pathsOf(higher)),
      pathNot: anyOf(pathsOf(layers.slice(0, index + 1).filter((l) => l.name !== peers[layer.name]))),
    },
  }
})

module.exports = {
  forbidden: [
    ...upward.slice(0, -1),
    {
      name: 'providers-stay-apart',
      comment: 'AWS and the sandbox are peers: a command chooses one, neither knows the other',
      severity: 'error',
      from: { path: '^src/aws/' },
      to: { path: '^src/sandbox/' },
    },
    {
      name: 'providers-stay-apart',
      comment: 'AWS and the sandbox are peers: a command chooses one, neither knows the other',
      severity: 'error',
      from: { path: '^src/sandbox/' },
      to: { path: '^src/aws/' },
    },
    {
      name: 'in-a-layer',
      comment:
        'every module under src/ belongs to a layer: add its folder to the layer table in .dependency-cruiser.cjs',
      severity: 'error',
      from: { path: '^src/', pathNot: anyOf(pathsOf(layers)) },
      to: {},
    },
    {
      name: 'no-circular',
      comment: 'an import cycle ties modules into one: break it by moving the shared part down',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    // Type-only imports count: a type imported from above is as much an upward dependency.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
}
