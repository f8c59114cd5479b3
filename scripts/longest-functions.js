#!/usr/bin/env node
// The longest functions and files under a source folder, measured in lines, to see where a
// newcomer has to read the most before changing anything. Uses the TypeScript parser so arrow
// functions, methods and nested functions count as themselves (a nested function's lines also
// count toward its parent).
// Usage: node scripts/longest-functions.js [--top N] [--files] [folder]   (default: src, top 10)
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import ts from 'typescript'

const args = process.argv.slice(2)
const topAt = args.indexOf('--top')
const top = topAt >= 0 ? Number(args[topAt + 1]) : 10
const showFiles = args.includes('--files')
const root = args.find((a, i) => !a.startsWith('--') && (topAt < 0 || i !== topAt + 1)) ?? 'src'

function sourceFiles(dir) {
  const out = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path))
    else if (/\.(ts|tsx|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(path)
  }
  return out
}

function functionName(node) {
  if (node.name) return node.name.getText()
  const parent = node.parent
  if (
    ts.isVariableDeclaration(parent) ||
    ts.isPropertyAssignment(parent) ||
    ts.isPropertyDeclaration(parent)
  ) {
    return parent.name.getText()
  }
  if (ts.isCallExpression(parent)) return `<callback of ${parent.expression.getText().slice(0, 40)}>`
  return '<anonymous>'
}

const functions = []
const files = []
for (const path of sourceFiles(root)) {
  const text = readFileSync(path, 'utf8')
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true)
  files.push({
    path: relative(process.cwd(), path),
    lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0),
  })
  const visit = (node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = file.getLineAndCharacterOfPosition(node.getStart(file)).line
      const end = file.getLineAndCharacterOfPosition(node.getEnd()).line
      const owner =
        ts.isMethodDeclaration(node) || ts.isConstructorDeclaration(node) || ts.isAccessor(node)
          ? `${node.parent.name?.getText() ?? '<class>'}.`
          : ''
      const name = ts.isConstructorDeclaration(node) ? 'constructor' : functionName(node)
      functions.push({
        where: `${relative(process.cwd(), path)}:${start + 1}`,
        name: owner + name,
        lines: end - start + 1,
      })
    }
    ts.forEachChild(node, visit)
  }
  visit(file)
}

functions.sort((a, b) => b.lines - a.lines)
for (const f of functions.slice(0, top)) console.log(`${f.where}:${f.name}:${f.lines}`)
if (showFiles) {
  console.log('')
  files.sort((a, b) => b.lines - a.lines)
  for (const f of files.slice(0, top)) console.log(`${f.path}:${f.lines}`)
}
