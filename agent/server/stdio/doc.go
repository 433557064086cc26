// Package stdio buffers a container process's output between the pipe (or
// pty) it writes to and the host's ReadStdout/ReadStderr calls. One
// goroutine per stream copies into a bounded Buffer, which pushes back on
// the process when the host reads slowly instead of dropping output, and
// keeps every byte written before the process exited until it is read.
package stdio
