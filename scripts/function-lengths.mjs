#!/usr/bin/env node
// The longest functions in the product and protocol sources, measured with the TypeScript compiler API:
// a function's length is the number of lines from its first to its last (signature and closing brace
// included). Every function counts: declarations, methods, constructors, accessors, arrows and function
// expressions; a function nested in another is measured on its own and also counts in its parent.
//
//   node scripts/function-lengths.mjs [--top=N] [--max=LINES] [dir…]
//
// Prints the N longest (default 10). With --max, exits 1 if any function is longer than LINES.

import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const root = fileURLToPath(new URL('..', import.meta.url))
const args = process.argv.slice(2)
const top = Number(args.find((a) => a.startsWith('--top='))?.slice(6) ?? 10)
const max = args.find((a) => a.startsWith('--max='))?.slice(6)
const given = args.filter((a) => !a.startsWith('--'))
const dirs = given.length ? given : ['apps/*/src', 'packages/*/src', 'packages/devnet/*/src', 'protocol/src']

function expand(pattern) {
  const parts = pattern.split('/')
  let paths = [root]
  for (const part of parts) {
    const next = []
    for (const p of paths) {
      if (part === '*') {
        for (const e of safeReaddir(p)) if (statSync(join(p, e)).isDirectory()) next.push(join(p, e))
      } else if (exists(join(p, part))) next.push(join(p, part))
    }
    paths = next
  }
  return paths
}

function safeReaddir(p) {
  try {
    return readdirSync(p)
  } catch {
    return []
  }
}

function exists(p) {
  try {
    statSync(p)
    return true
  } catch {
    return false
  }
}

function walk(dir, out) {
  for (const e of safeReaddir(dir)) {
    const p = join(dir, e)
    if (statSync(p).isDirectory()) walk(p, out)
    else if (/\.tsx?$/.test(e) && !e.endsWith('.d.ts')) out.push(p)
  }
  return out
}

function nameOf(node, sf) {
  if (node.name) return node.name.getText(sf)
  if (ts.isConstructorDeclaration(node)) return 'constructor'
  const parent = node.parent
  if (parent && ts.isVariableDeclaration(parent)) return parent.name.getText(sf)
  if (parent && ts.isPropertyAssignment(parent)) return parent.name.getText(sf)
  if (parent && ts.isCallExpression(parent)) return `(callback of ${parent.expression.getText(sf).slice(0, 40)})`
  return '(anonymous)'
}

function measure(file) {
  const text = readFileSync(file, 'utf8')
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const found = []
  const visit = (node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line
      found.push({ file: relative(root, file), line: start + 1, name: nameOf(node, sf), lines: end - start + 1 })
    }
    ts.forEachChild(node, visit)
  }
  visit(sf)
  return found
}

const files = [...new Set(dirs.flatMap(expand).flatMap((d) => walk(d, [])))]
const all = files.flatMap(measure).sort((a, b) => b.lines - a.lines)
for (const f of all.slice(0, top)) console.log(`${String(f.lines).padStart(4)}  ${f.file}:${f.line}  ${f.name}`)
if (max !== undefined) {
  const over = all.filter((f) => f.lines > Number(max))
  console.log(`${over.length} function(s) over ${max} lines in ${files.length} files`)
  if (over.length) process.exit(1)
}
