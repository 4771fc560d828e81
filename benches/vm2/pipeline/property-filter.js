// property-filter (after plugins/property-filter/src/lib.rs): removes the listed property
// paths. `a.b` removes both the top-level key "a.b" and key "b" of the object at "a"; dot paths
// go into arrays by index too (an element removed becomes null, as `delete` leaves a hole); a
// path that is missing or runs into anything else is ignored. Listing `$ip` also removes the
// event's top-level `ip`; an event without properties gets `{}`.
const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value)
const has = (object, key) => Object.prototype.hasOwnProperty.call(object, key)

function arrayIndex(segment, length) {
    if (!/^(0|[1-9][0-9]*)$/.test(segment)) return null
    const index = Number(segment)
    return index < length ? index : null
}

function child(value, segment) {
    if (isObject(value)) return has(value, segment) ? value[segment] : undefined
    if (Array.isArray(value)) {
        const index = arrayIndex(segment, value.length)
        return index === null ? undefined : value[index]
    }
    return undefined
}

function removePath(properties, path) {
    delete properties[path]
    const dot = path.lastIndexOf('.')
    if (dot < 0) return
    const segments = path.slice(0, dot).split('.')
    const last = path.slice(dot + 1)
    let current = has(properties, segments[0]) ? properties[segments[0]] : undefined
    for (const segment of segments.slice(1)) {
        if (current === undefined) return
        current = child(current, segment)
    }
    if (isObject(current)) delete current[last]
    else if (Array.isArray(current)) {
        const index = arrayIndex(last, current.length)
        if (index !== null) current[index] = null
    }
}

function setupPlugin({ config, global }) {
    const list = config.properties !== undefined ? config.properties : '$ip,$geoip_latitude,$geoip_longitude'
    global.paths = list
        .split(',')
        .map((path) => path.trim())
        .filter((path) => path)
    global.removesIp = global.paths.includes('$ip')
}

function processEvent(event, { global }) {
    if (global.removesIp) delete event.ip
    if (!isObject(event.properties)) event.properties = {}
    for (const path of global.paths) removePath(event.properties, path)
    return event
}
