// The example library's pipeline (plugins/pipeline.toml) as PostHog-style JS plugins, one file
// each under pipeline/ (url-normalizer: ./url-normalizer.js, PostHog's logic, which the Rust
// plugin follows), in the same order and with the same config. run.js gives each its own
// vm2 VM, as PostHog's plugin server gave each plugin config; config values not set here come
// from the `default`s of the Rust plugin's plugin.json (`manifest`), as the harness does.
'use strict'
const path = require('path')

const here = (file) => path.join(__dirname, 'pipeline', file)
const manifest = (name) => path.join(__dirname, '..', '..', 'plugins', name, 'plugin.json')

const plugin = (name, config = {}, file = here(`${name}.js`)) => ({ name, file, manifest: manifest(name), config })

module.exports = [
    plugin('downsampling', { percentage: '50' }),
    plugin('property-filter'),
    plugin('flatten-properties'),
    plugin('url-normalizer', {}, path.join(__dirname, 'url-normalizer.js')),
    plugin('taxonomy', { defaultNamingConvention: 'snake_case' }),
    plugin('semver-flattener'),
    plugin('currency-normalization', { openExchangeRatesApiKey: 'verify-key' }),
    plugin('first-time-event-tracker'),
]
