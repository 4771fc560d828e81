// flatten-properties (after plugins/flatten-properties/src/lib.rs): every nested value of the
// properties is also written at the top under its path joined with `separator` (arrays by
// index; a non-empty object is descended into, anything else is a value; an empty array adds
// nothing). $set, $set_once and $group_set are flattened within themselves; $autocapture events
// and PostHog's internal properties are left alone.
const SEPARATORS = ['__', '.', '>', '/']
const DENY_LIST = ['$elements', '$elements_chain', '$groups', '$active_feature_flags', '$heatmap_data', '$web_vitals_data']
const PROPERTY_OBJECTS = ['$set', '$set_once', '$group_set']

const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value)

function addNested(path, value, separator, out) {
    let children
    if (Array.isArray(value)) children = value.map((item, index) => [String(index), item])
    else if (isObject(value)) children = Object.entries(value).filter(([key]) => !DENY_LIST.includes(key))
    else return
    for (const [key, child] of children) {
        const childPath = `${path}${separator}${key}`
        if (Array.isArray(child) || (isObject(child) && Object.keys(child).length > 0)) {
            addNested(childPath, child, separator, out)
        } else {
            out[childPath] = child
        }
    }
}

function flatten(properties, separator) {
    const out = { ...properties }
    for (const [key, value] of Object.entries(properties)) {
        if (DENY_LIST.includes(key)) continue
        if (PROPERTY_OBJECTS.includes(key)) {
            if (isObject(value)) out[key] = flatten(value, separator)
            continue
        }
        addNested(key, value, separator, out)
    }
    return out
}

function setupPlugin({ config, global }) {
    const separator = config.separator !== undefined ? config.separator : '__'
    if (!SEPARATORS.includes(separator)) {
        throw new Error(`config value \`separator\` = ${JSON.stringify(separator)} is not one of: ${SEPARATORS.join(' ')}`)
    }
    global.separator = separator
}

function processEvent(event, { global }) {
    if (event.event !== '$autocapture' && isObject(event.properties)) {
        event.properties = flatten(event.properties, global.separator)
    }
    return event
}
