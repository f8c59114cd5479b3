import { MARKS } from './node-flags.js'

export const HELP_LINES = [
  '{bold}kvtop top{/bold}',
  '',
  '  q, Ctrl-C     quit',
  '  ↑ ↓, j k      move the selection',
  '  PgUp PgDn     page through nodes',
  '  s / S         next sort column / reverse the order',
  '  /             filter: words from an address, primary, replica, down, lag, hot, s3 (shard 3)',
  '  Esc           clear the filter, close a window',
  '  p             pause / resume the display',
  '  w             chart window: 1, 5 or 15 minutes (of the history kept)',
  '  c             charts: the cluster or the selected node (when only two fit)',
  '  Enter         details of the selected node',
  '  ?             this help',
  '',
  `Rows: {red-fg}${MARKS.down} down{/red-fg}  {yellow-fg}${MARKS.lagging} lagging{/yellow-fg}  {magenta-fg}${MARKS.hot} hot{/magenta-fg}`,
]
