// downsampling (after plugins/downsampling/src/lib.rs): keeps `percentage` % of users. The
// value of a distinct_id is the first 15 hex digits of its SHA-256 over 0xfffffffffffffff; the
// event is kept when that is at most percentage / 100.
const { createHash } = __pluginHostImports['crypto']

const MAX_15_HEX_DIGITS = 0xfffffffffffffff

function parsePercentage(raw) {
    let text = raw.trim()
    if (text.endsWith('%')) text = text.slice(0, -1).trimEnd()
    const value = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN
    if (!(value >= 0 && value <= 100)) {
        throw new Error(`config value \`percentage\` = ${JSON.stringify(raw)} must be a number from 0 to 100`)
    }
    return value
}

function setupPlugin({ config, global }) {
    // Only an absent percentage means 100; a blank one is an error. (samplingMethod
    // `Random sampling` is not restated: the pipeline uses the default, per distinct_id.)
    const raw = config.percentage
    global.ratio = (raw === undefined ? 100 : parsePercentage(raw)) / 100
    const method = config.samplingMethod !== undefined && config.samplingMethod.trim() ? config.samplingMethod : 'Distinct ID aware sampling'
    if (method !== 'Distinct ID aware sampling') throw new Error(`samplingMethod ${JSON.stringify(method)} is not restated in this benchmark`)
}

function processEvent(event, { global }) {
    if (global.ratio >= 1) return event
    const digest = createHash('sha256').update(event.distinct_id).digest('hex')
    const value = parseInt(digest.slice(0, 15), 16) / MAX_15_HEX_DIGITS
    return value <= global.ratio ? event : null
}
