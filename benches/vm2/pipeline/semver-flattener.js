// semver-flattener (after plugins/semver-flattener/src/lib.rs): each listed property holding
// `[v]MAJOR[.MINOR[.PATCH]][-PRE][+BUILD]` gets <key>__major, __minor, __patch (numbers),
// __preRelease, __build (strings) beside it; a part the version lacks is removed.
const U64_MAX = 18446744073709551615n

function number(text) {
    if (!/^[0-9]+$/.test(text)) return null
    if (text.length > 19 && BigInt(text) > U64_MAX) return null
    return Number(text)
}

function identifiers(text) {
    return text.split('.').every((id) => /^[A-Za-z0-9-]+$/.test(id)) ? text : null
}

function parseVersion(text) {
    if (text.startsWith('v') || text.startsWith('V')) text = text.slice(1)
    let rest = text
    let build = null
    const plus = text.indexOf('+')
    if (plus >= 0) {
        build = identifiers(text.slice(plus + 1))
        if (build === null) return null
        rest = text.slice(0, plus)
    }
    let core = rest
    let preRelease = null
    const dash = rest.indexOf('-')
    if (dash >= 0) {
        preRelease = identifiers(rest.slice(dash + 1))
        if (preRelease === null) return null
        core = rest.slice(0, dash)
    }
    const numbers = core.split('.')
    if (numbers.length > 3) return null
    const [major, minor, patch] = numbers.map(number)
    if (major === null || minor === null || patch === null) return null
    return { major, minor, patch, preRelease, build }
}

function flatten(properties, key) {
    const text = properties[key]
    if (typeof text !== 'string') return
    const version = parseVersion(text)
    if (version === null) return
    for (const part of ['major', 'minor', 'patch', 'preRelease', 'build']) {
        const value = version[part]
        if (value === null || value === undefined) delete properties[`${key}__${part}`]
        else properties[`${key}__${part}`] = value
    }
}

function setupPlugin({ config, global }) {
    global.keys = (config.properties || '')
        .split(',')
        .map((key) => key.trim())
        .filter((key) => key)
}

function processEvent(event, { global }) {
    if (event.properties && typeof event.properties === 'object') {
        for (const key of global.keys) flatten(event.properties, key)
    }
    return event
}
