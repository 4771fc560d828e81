// Marks the first time an event is seen, ever and for each user, as PostHog's first time event
// tracker does, with the plugin's persistent storage.

interface PluginEvent {
    event: string
    distinct_id: string
    properties?: Record<string, unknown>
}

interface Meta {
    config: { events?: string }
    global: { events: Set<string> }
    storage: {
        get(key: string, defaultValue: unknown): Promise<unknown>
        set(key: string, value: unknown): Promise<void>
    }
}

export function setupPlugin({ config, global }: Meta): void {
    global.events = new Set(
        (config.events || '')
            .split(',')
            .map((name) => name.trim())
            .filter((name) => name.length > 0)
    )
}

export async function processEvent(event: PluginEvent, { global, storage }: Meta): Promise<PluginEvent> {
    if (!global.events.has(event.event)) {
        return event
    }
    const everKey = `seen:${event.event}`
    const userKey = `seen:${event.event}:${event.distinct_id}`
    const seenEver = (await storage.get(everKey, false)) as boolean
    const seenForUser = (await storage.get(userKey, false)) as boolean
    if (!seenEver) {
        await storage.set(everKey, true)
    }
    if (!seenForUser) {
        await storage.set(userKey, true)
    }
    event.properties = {
        ...(event.properties ?? {}),
        is_first_event_ever: !seenEver,
        is_first_event_for_user: !seenForUser,
    }
    return event
}
