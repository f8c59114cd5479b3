#!/usr/bin/env node
// Exports no other module imports: `export` that only widens what a newcomer must keep in mind.
// Reads every module of tsconfig.test.json (src/, commands/, bench/, test/) with the TypeScript
// checker; an export counts as used when any other file imports it (statically, through a
// re-export chain, or by importing the whole module: `import * as`, `import()`, `typeof import()`).
// Prints each unused export of src/ as `file:line name (own file|nowhere)`: "own file" only needs
// its `export` dropped, "nowhere" is dead code. Entry points (src/cli.ts, src/hooks/) are skipped.
// Usage: node scripts/dead-exports.js [--count] [path-prefix ...]
import { relative } from 'node:path'
import ts from 'typescript'

const args = process.argv.slice(2)
const countOnly = args.includes('--count')
const prefixes = args.filter((a) => !a.startsWith('--'))
const ENTRY = /^src\/(cli\.ts$|hooks\/)/

const config = ts.getParsedCommandLineOfConfigFile(
  'tsconfig.test.json',
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
    },
  },
)
const program = ts.createProgram(config.fileNames, config.options)
const checker = program.getTypeChecker()
const own = program
  .getSourceFiles()
  .filter((sf) => !sf.isDeclarationFile && !sf.fileName.includes('/node_modules/'))
const rel = (sf) => relative(process.cwd(), sf.fileName)

const original = (symbol) =>
  symbol && symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol
/** Original symbol -> files (other than its own) that import it. */
const importedBy = new Map()
/** Modules imported whole somewhere: every export of them counts as used. */
const wholeModules = new Set()

function markUsed(symbol, from) {
  const sym = original(symbol)
  if (!sym) return
  const files = importedBy.get(sym) ?? new Set()
  files.add(from)
  importedBy.set(sym, files)
}

function moduleFile(specifier, from) {
  const resolved = ts.resolveModuleName(specifier.text, from.fileName, config.options, ts.sys).resolvedModule
  return resolved?.resolvedFileName
}

function visit(node, sf) {
  if (ts.isImportDeclaration(node) && node.importClause) {
    const clause = node.importClause
    if (clause.name) markUsed(checker.getSymbolAtLocation(clause.name), sf.fileName)
    const bindings = clause.namedBindings
    if (bindings && ts.isNamespaceImport(bindings)) wholeModules.add(moduleFile(node.moduleSpecifier, sf))
    if (bindings && ts.isNamedImports(bindings))
      for (const spec of bindings.elements) markUsed(checker.getSymbolAtLocation(spec.name), sf.fileName)
  }
  if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
    const arg = node.arguments[0]
    if (arg && ts.isStringLiteral(arg)) wholeModules.add(moduleFile(arg, sf))
  }
  if (
    ts.isImportTypeNode(node) &&
    ts.isLiteralTypeNode(node.argument) &&
    ts.isStringLiteral(node.argument.literal)
  )
    wholeModules.add(moduleFile(node.argument.literal, sf))
  ts.forEachChild(node, (child) => visit(child, sf))
}
for (const sf of own) visit(sf, sf)

/** Is `symbol` referred to in its own file other than where it is declared (and exported)? */
function usedInOwnFile(symbol, sf) {
  const declared = new Set(symbol.declarations?.map((d) => d.name).filter(Boolean))
  let found = false
  const walk = (node) => {
    if (found) return
    if (ts.isIdentifier(node) && !declared.has(node.parent?.name === node ? node : undefined)) {
      if (
        !declared.has(node) &&
        node.text === symbol.name &&
        original(checker.getSymbolAtLocation(node)) === symbol
      )
        found = true
    }
    ts.forEachChild(node, walk)
  }
  walk(sf)
  return found
}

const dead = []
for (const sf of own) {
  const file = rel(sf)
  if (!file.startsWith('src/') || ENTRY.test(file) || wholeModules.has(sf.fileName)) continue
  if (prefixes.length && !prefixes.some((p) => file.startsWith(p))) continue
  const moduleSymbol = checker.getSymbolAtLocation(sf)
  if (!moduleSymbol) continue
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const sym = original(exported)
    const importers = [...(importedBy.get(sym) ?? [])].filter((f) => f !== sf.fileName)
    if (importers.length) continue
    const decl = exported.declarations?.[0]
    // A re-export (`export { x } from`) lives or dies with what it names.
    if (decl && decl.getSourceFile() !== sf) continue
    if (decl && (ts.isExportSpecifier(decl) || ts.isExportAssignment(decl))) continue
    const line = decl ? sf.getLineAndCharacterOfPosition(decl.getStart()).line + 1 : 0
    dead.push(`${file}:${line} ${exported.name} (${usedInOwnFile(sym, sf) ? 'own file' : 'nowhere'})`)
  }
}
if (countOnly) console.log(dead.length)
else for (const d of dead) console.log(d)
