import { KVTOP_FAMILIES, REDIS_FAMILIES } from './catalog.js'

/** The command's description: what it serves, how it behaves, and every metric name. */
export function exportHelp(): string {
  const names = (families: typeof REDIS_FAMILIES) => families.map((f) => f.name).join(', ')
  return [
    'A long-running process: each deployment (a URL argument, --profile, --all-profiles, --elasticache, ' +
      '--memorydb; any number of them) is polled by its own monitor engine (the engine of `kvtop top`), ' +
      'and GET /metrics serves the latest figures of all of them in the Prometheus text format; GET /healthz ' +
      'answers {"status":"ok", deployments, polling}. A scrape reads cached figures and never waits on a server: ' +
      'a slow or dead deployment does not delay the others; its nodes show redis_up 0, and once its last round is ' +
      'older than 3 intervals plus the poll timeout every node of it does (kvtop_deployment_snapshot_age_seconds ' +
      'says by how much). A deployment that cannot be reached at start is retried in the background with back-off.',
    "Labels: deployment (the profile or AWS name, or the URL's host:port; never a password), shard, addr " +
      '(host:port); role is on redis_instance_info and kvtop_node_info only, so a failover does not split every series.',
    `redis_exporter's names: ${names(REDIS_FAMILIES)}.`,
    `kvtop's figures: ${names(KVTOP_FAMILIES)}.`,
    'With --cloudwatch-namespace the kvtop figures (replica lag in bytes and seconds, backlog headroom, nodes up, ' +
      'events, slowlog entries) are also published as CloudWatch custom metrics every --cloudwatch-interval, with ' +
      'dimensions Deployment, Shard and Node; a failed publication is reported (and retried) and does not stop /metrics.',
    'Prints the bound address (with --json an NDJSON {"type":"listening", address} line, then one line per event ' +
      'with its deployment); stops on SIGINT / SIGTERM. Every metric with its meaning: docs/export.md.',
  ].join('\n\n')
}
