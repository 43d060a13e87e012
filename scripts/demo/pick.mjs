#!/usr/bin/env node
// A small jq for scripts/demo.sh, in Node so that the tour needs nothing beyond what Steward already
// installs. No npm dependencies.
//
//   pick.mjs FILE EXPR          prints EXPR, a JavaScript expression over the response in FILE: a
//                               string as is, anything else as indented JSON (nothing for undefined)
//   pick.mjs --test FILE EXPR   prints nothing; exits 0 if EXPR is truthy, 1 if not (2 on errors)
//
// In EXPR, `r` is the response (the first JSON document in FILE) and `docs` every JSON document in it,
// in order: `buf curl` on a server stream prints one indented document per message. The helpers below
// are in scope too.

import { readFileSync } from 'node:fs';

// The JSON documents of `text`, written one after another (a `buf curl` server stream).
function parseAll(text) {
  const docs = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; ++i) {
    const c = text[i];
    if (inString) {
      if (c === '\\') ++i;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (depth++ === 0) start = i;
    } else if (c === '}' || c === ']') {
      if (--depth === 0) docs.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  return docs;  // a document cut off at the end of the file (still being written) is left out
}

const DAY_MS = 24 * 3600 * 1000;
const helpers = {
  // Days from ISO time a to ISO time b.
  days: (a, b) => (Date.parse(b) - Date.parse(a)) / DAY_MS,
  // ISO date of an ISO time ("2026-01-19").
  date: (t) => (t ?? '').slice(0, 10),
  round: (x, digits = 2) => (x === undefined ? undefined : Math.round(x * 10 ** digits) / 10 ** digits),
  // A feature's value from a Scores message.
  // (JSON leaves zeros out: a feature listed without a value is 0.)
  feature: (scores, name) => {
    const f = (scores?.features ?? []).find((x) => x.name === name);
    return f ? (f.value ?? 0) : undefined;
  },
  // The CLV segmentation uses: "with_expansion", else "basic", else the first estimate.
  clv: (scores) => {
    const estimates = scores?.clv?.estimates ?? [];
    const e = estimates.find((x) => x.formula === 'with_expansion') ?? estimates.find((x) => x.formula === 'basic') ?? estimates[0];
    return e ? (e.value ?? 0) : undefined;
  },
  // Drops enum prefixes: "ENROLLMENT_STATE_ACTIVE" → "ACTIVE".
  short: (e) => (e ?? '').replace(/^(ENROLLMENT_STATE|ENROLLMENT_SOURCE|CHANNEL|OPPORTUNITY_STATE)_/, ''),
  // The actions of a WatchActions stream, each as one line.
  actionLines: (docs, accounts) =>
    docs
      .map((d) => d.action)
      .filter((a) => a && (!accounts || accounts.includes(a.accountId)))
      .map((a) => `${a.createdTime}  ${a.accountId.padEnd(10)} ${a.stepId.padEnd(21)} ${a.channel}` +
        (a.assigneeRole ? ` (${a.assigneeRole})` : ''))
      .join('\n'),
  // One copy of each object of `list` by `key` (what an idempotent consumer keeps).
  unique: (list, key) => list.filter((x, i) => list.findIndex((y) => y[key] === x[key]) === i),
};

function main() {
  const args = process.argv.slice(2);
  const test = args[0] === '--test';
  if (test) args.shift();
  if (args.length !== 2) {
    process.stderr.write('usage: pick.mjs [--test] FILE EXPR\n');
    process.exit(2);
  }
  const [file, expr] = args;
  const docs = parseAll(readFileSync(file, 'utf8'));
  const r = docs[0] ?? {};
  const value = new Function('r', 'docs', ...Object.keys(helpers), `return (${expr});`)(
    r, docs, ...Object.values(helpers));
  if (test) process.exit(value ? 0 : 1);
  if (value === undefined) return;
  process.stdout.write(typeof value === 'string' ? `${value}\n` : `${JSON.stringify(value, null, 2)}\n`);
}

try {
  main();
} catch (e) {
  process.stderr.write(`pick.mjs: ${e.message}\n`);
  process.exit(2);
}
