#!/usr/bin/env node
// Compares two JSONL outputs event by event, as JSON values (key order and number spelling
// such as 12 vs 12.0 do not matter): `node compare.js a.jsonl b.jsonl`. Prints a one-line
// verdict and up to three differences; exit 0 when equal, 1 when they differ.
'use strict'
const { readLines } = require('./io')

function equal(a, b) {
    if (a === b) return true
    if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
    if (Array.isArray(a) !== Array.isArray(b)) return false
    const keys = Object.keys(a)
    if (keys.length !== Object.keys(b).length) return false
    return keys.every((key) => Object.prototype.hasOwnProperty.call(b, key) && equal(a[key], b[key]))
}

// The first path at which two values differ, for the report.
function firstDifference(a, b, at = '') {
    if (equal(a, b)) return null
    if (typeof a === 'object' && typeof b === 'object' && a && b && !Array.isArray(a) && !Array.isArray(b)) {
        for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
            const found = firstDifference(a[key], b[key], `${at}.${key}`)
            if (found) return found
        }
    }
    return `${at || '.'}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`
}

function main() {
    const [left, right] = process.argv.slice(2)
    if (!left || !right) {
        process.stderr.write('usage: node compare.js A.jsonl B.jsonl\n')
        process.exit(2)
    }
    const a = [...readLines(left)]
    const b = [...readLines(right)]
    const shown = []
    let differing = 0
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
        const x = JSON.parse(a[i])
        const y = JSON.parse(b[i])
        if (!equal(x, y)) {
            differing++
            if (shown.length < 3) shown.push(`  line ${i + 1} ${firstDifference(x, y)}`)
        }
    }
    const same = differing === 0 && a.length === b.length
    process.stdout.write(
        `${same ? 'same' : 'DIFFERENT'}: ${a.length} vs ${b.length} events, ${differing} of the common ones differ\n` +
            shown.map((line) => line + '\n').join('')
    )
    process.exit(same ? 0 : 1)
}

main()
