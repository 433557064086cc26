package client

import (
	"context"
	"errors"
	"io"
)

// readChunk is how much output one read of a process's stream asks for.
const readChunk = 64 << 10

// StreamReader is ReadStdout or ReadStderr of a Client.
type StreamReader func(ctx context.Context, p ProcessRef, maxBytes int) ([]byte, error)

// CopyOutput copies a process's output stream to w (nil: drop it) until
// the stream ends. When w fails (a reader that went away: EPIPE), the rest
// is read and dropped, so that the process never blocks on a full pipe in
// the guest.
func CopyOutput(ctx context.Context, read StreamReader, p ProcessRef, w io.Writer) error {
	for {
		b, err := read(ctx, p, readChunk)
		if len(b) > 0 && w != nil {
			if _, werr := w.Write(b); werr != nil {
				w = nil
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// CopyInput copies r to the process's stdin and closes the process's
// stdin at r's end. It stops when the process no longer takes input.
func (c *Client) CopyInput(ctx context.Context, p ProcessRef, r io.Reader) error {
	buf := make([]byte, 32<<10)
	for {
		n, rerr := r.Read(buf)
		for off := 0; off < n; {
			w, err := c.WriteStdin(ctx, p, buf[off:n])
			if err != nil {
				return err
			}
			off += w
		}
		if rerr == io.EOF {
			return c.CloseStdin(ctx, p)
		}
		if rerr != nil {
			return rerr
		}
	}
}
