// Removes the configured properties from each event, as PostHog's property filter plugin does.

export function setupPlugin({ config, global }) {
    global.paths = (config.properties || '')
        .split(',')
        .map((path) => path.trim())
        .filter((path) => path.length > 0)
        .map((path) => path.split('.'))
}

function remove(object, path) {
    let parent = object
    for (const key of path.slice(0, -1)) {
        if (parent === null || typeof parent !== 'object') {
            return
        }
        parent = parent[key]
    }
    if (parent !== null && typeof parent === 'object') {
        delete parent[path[path.length - 1]]
    }
}

export function processEvent(event, { global }) {
    if (!event.properties) {
        return event
    }
    for (const path of global.paths) {
        remove(event.properties, path)
    }
    return event
}
