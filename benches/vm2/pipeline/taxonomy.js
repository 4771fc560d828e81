// taxonomy (after plugins/taxonomy/src/lib.rs): custom event names (not starting with `$`, and
// not PostHog's survey events) are rewritten into one naming convention. Words split on white
// space, `_`, `-`, `.`, before an upper-case letter after a lower-case letter or digit, and
// before the last letter of an upper-case run followed by a lower-case letter; camelCase and
// PascalCase names already in the convention are kept.
const CONVENTIONS = ['camelCase', 'PascalCase', 'snake_case', 'kebab-case', 'spaces in between']
const SEPARATOR = /[\p{White_Space}_.-]/u
const SEPARATORS = /[\p{White_Space}_.-]+/u
const isUpper = (c) => /\p{Uppercase}/u.test(c)
const isLower = (c) => /\p{Lowercase}/u.test(c)
const isNumeric = (c) => /\p{N}/u.test(c)
const single = (text, c) => ([...text].length === 1 ? text : c)
const upperChar = (c) => single(c.toUpperCase(), c)
const lowerChar = (c) => single(c.toLowerCase(), c)

function splitWords(name) {
    const words = []
    for (const part of name.split(SEPARATORS)) {
        if (!part) continue
        const chars = [...part]
        let start = 0
        for (let i = 1; i < chars.length; i++) {
            const c = chars[i]
            const prev = chars[i - 1]
            const next = chars[i + 1]
            const afterLower = isLower(prev) || isNumeric(prev)
            const endsRun = isUpper(prev) && next !== undefined && isLower(next)
            if (isUpper(c) && (afterLower || endsRun)) {
                words.push(chars.slice(start, i).join(''))
                start = i
            }
        }
        words.push(chars.slice(start).join(''))
    }
    return words
}

function lowerWords(name) {
    return splitWords(name).flatMap((word) => splitWords(word.toLowerCase()))
}

function capitalize(word) {
    const [first, ...rest] = [...word]
    return first === undefined ? '' : upperChar(first) + rest.join('')
}

function alreadyIn(name, convention) {
    const first = [...name][0]
    if (first === undefined || SEPARATOR.test(name)) return false
    if (convention === 'camelCase') return lowerChar(first) === first
    if (convention === 'PascalCase') return upperChar(first) === first
    return false
}

function standardizeName(name, convention) {
    if (alreadyIn(name, convention)) return name
    const words = lowerWords(name)
    if (words.length === 0) return name
    switch (convention) {
        case 'camelCase':
            return words[0] + words.slice(1).map(capitalize).join('')
        case 'PascalCase':
            return words.map(capitalize).join('')
        case 'snake_case':
            return words.join('_')
        case 'kebab-case':
            return words.join('-')
        default:
            return words.join(' ')
    }
}

function setupPlugin({ config, global }) {
    const raw = (config.defaultNamingConvention !== undefined ? config.defaultNamingConvention : 'camelCase').trim()
    if (!CONVENTIONS.includes(raw)) {
        throw new Error(`config value \`defaultNamingConvention\` = ${JSON.stringify(raw)} is not one of: ${CONVENTIONS.join(', ')}`)
    }
    global.convention = raw
}

// Events posthog-js sends without a `$` (the upstream plugin's skippedPostHogEvents).
const SKIPPED_POSTHOG_EVENTS = ['survey shown', 'survey sent', 'survey dismissed']

function processEvent(event, { global }) {
    if (!event.event.startsWith('$') && !SKIPPED_POSTHOG_EVENTS.includes(event.event)) {
        event.event = standardizeName(event.event, global.convention)
    }
    return event
}
