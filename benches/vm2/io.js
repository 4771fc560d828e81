// Synchronous line input and buffered output for the benchmark scripts (no streams, no
// readline: their overhead would be charged to vm2).
'use strict'
const fs = require('fs')

// Writes all of `text` to `fd`, retrying when a non-blocking pipe is full.
function writeAll(fd, text) {
    const bytes = Buffer.from(text, 'utf8')
    let offset = 0
    while (offset < bytes.length) {
        try {
            offset += fs.writeSync(fd, bytes, offset, bytes.length - offset)
        } catch (error) {
            // The reader went away (`| head`): stop quietly, as a CLI does.
            if (error.code === 'EPIPE') process.exit(0)
            if (error.code !== 'EAGAIN') throw error
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1)
        }
    }
}

// Collects output and writes it in blocks of about 1 MiB.
class Output {
    constructor(fd) {
        this.fd = fd
        this.parts = []
        this.size = 0
    }
    line(text) {
        this.parts.push(text, '\n')
        this.size += text.length + 1
        if (this.size >= 1 << 20) this.flush()
    }
    flush() {
        if (this.size > 0) writeAll(this.fd, this.parts.join(''))
        this.parts = []
        this.size = 0
    }
}

// The non-blank lines of a file (`-`: stdin), read in blocks of 1 MiB.
function* readLines(path) {
    const fd = path === '-' ? 0 : fs.openSync(path, 'r')
    const block = Buffer.alloc(1 << 20)
    let rest = ''
    try {
        for (;;) {
            let read
            try {
                read = fs.readSync(fd, block, 0, block.length, null)
            } catch (error) {
                if (error.code === 'EAGAIN') continue
                if (error.code === 'EOF') break
                throw error
            }
            if (read === 0) break
            // Cut at the last newline, so that a multi-byte character is never split in two.
            const end = block.lastIndexOf(10, read - 1)
            if (end < 0) {
                rest += block.toString('utf8', 0, read)
                continue
            }
            const lines = (rest + block.toString('utf8', 0, end)).split('\n')
            rest = block.toString('utf8', end + 1, read)
            for (const line of lines) if (line.trim()) yield line
        }
        if (rest.trim()) yield rest
    } finally {
        if (fd !== 0) fs.closeSync(fd)
    }
}

module.exports = { writeAll, Output, readLines }
