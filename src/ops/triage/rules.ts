/** Triage's rules and report sections: the rules live one per finding under rules/, by category. */
export { evaluate, findingsOf, rankFindings, RULES, type TriageRule } from './rules/index.js'
export { openSlotFindings } from './rules/topology.js'
export { cloudWatchFindings } from './rules/cloudwatch.js'
export { summarize } from './summary.js'
