package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/agent/server/container"
	"github.com/kite-vm/kite/agent/server/stdio"
)

// Read sizes: the protocol's default, and a cap well below ttrpc's 4 MiB
// message limit.
const (
	defaultReadBytes = 32 << 10
	maxReadBytes     = 1 << 20
)

// veof is the terminal's end-of-file character (^D): closing a terminal's
// input means typing it, since closing the pty master would hang up.
const veof = 0x04

// WriteStdin writes to the process's stdin or terminal.
func (s *Service) WriteStdin(ctx context.Context, req *protocol.WriteStdinRequest) (*protocol.WriteStdinResponse, error) {
	_, pr, err := s.process(req.GetContainerId(), req.GetExecId())
	if err != nil {
		return nil, err
	}
	n, err := pr.writeStdin(ctx, req.GetData())
	if err != nil {
		return &protocol.WriteStdinResponse{Len: uint32(n)}, err
	}
	return &protocol.WriteStdinResponse{Len: uint32(n)}, nil
}

// CloseStdin gives the process end of file on its input.
func (s *Service) CloseStdin(ctx context.Context, req *protocol.CloseStdinRequest) (*protocol.CloseStdinResponse, error) {
	_, pr, err := s.process(req.GetContainerId(), req.GetExecId())
	if err != nil {
		return nil, err
	}
	if err := pr.closeStdin(ctx); err != nil {
		return nil, err
	}
	return &protocol.CloseStdinResponse{}, nil
}

// ReadStdout reads the process's stdout or terminal output.
func (s *Service) ReadStdout(ctx context.Context, req *protocol.ReadStreamRequest) (*protocol.ReadStreamResponse, error) {
	return s.read(ctx, req, func(pr *proc) *stdio.Buffer { return pr.stdout })
}

// ReadStderr reads the process's stderr; a terminal has none.
func (s *Service) ReadStderr(ctx context.Context, req *protocol.ReadStreamRequest) (*protocol.ReadStreamResponse, error) {
	return s.read(ctx, req, func(pr *proc) *stdio.Buffer { return pr.stderr })
}

func (s *Service) read(ctx context.Context, req *protocol.ReadStreamRequest, stream func(*proc) *stdio.Buffer) (*protocol.ReadStreamResponse, error) {
	c, pr, err := s.process(req.GetContainerId(), req.GetExecId())
	if err != nil {
		return nil, err
	}
	max := int(req.GetMaxBytes())
	if max == 0 {
		max = defaultReadBytes
	}
	data, eof, err := stream(pr).Read(ctx, min(max, maxReadBytes))
	if err != nil {
		return nil, err
	}
	if eof {
		c.noteCollected(pr)
	}
	return &protocol.ReadStreamResponse{Data: data, Eof: eof}, nil
}

// TtyWinResize sets the size of the process's terminal.
func (s *Service) TtyWinResize(_ context.Context, req *protocol.TtyWinResizeRequest) (*protocol.TtyWinResizeResponse, error) {
	_, pr, err := s.process(req.GetContainerId(), req.GetExecId())
	if err != nil {
		return nil, err
	}
	sz := req.GetSize()
	if sz == nil || sz.GetHeight() > 0xffff || sz.GetWidth() > 0xffff {
		return nil, fmt.Errorf("%w: terminal size %v", ErrInvalid, sz)
	}
	if err := pr.p.Resize(uint16(sz.GetHeight()), uint16(sz.GetWidth())); err != nil {
		return nil, err
	}
	return &protocol.TtyWinResizeResponse{}, nil
}

// input returns where the process's input goes: the stdin pipe or the pty.
func (pr *proc) input() (*os.File, error) {
	if pty := pr.p.Pty(); pty != nil {
		return pty, nil
	}
	if in := pr.p.Stdin(); in != nil {
		return in, nil
	}
	return nil, fmt.Errorf("%w: process %q has no stdin (start it with stdin set)", ErrState, pr.id)
}

// writeStdin writes data, giving up when ctx ends: a process that does not
// read its input must not hold the RPC (or the host connection) forever.
func (pr *proc) writeStdin(ctx context.Context, data []byte) (int, error) {
	pr.stdinMu.Lock()
	defer pr.stdinMu.Unlock()
	if pr.stdinClosed {
		return 0, fmt.Errorf("%w: stdin of process %q is closed", ErrState, pr.id)
	}
	f, err := pr.input()
	if err != nil {
		return 0, err
	}
	stop := context.AfterFunc(ctx, func() { f.SetWriteDeadline(time.Now()) })
	n, err := f.Write(data)
	if !stop() {
		f.SetWriteDeadline(time.Time{})
		if err != nil {
			return n, fmt.Errorf("writing to stdin of %q: %w", pr.id, ctx.Err())
		}
	}
	if errors.Is(err, os.ErrClosed) {
		return n, fmt.Errorf("%w: process %q has ended", container.ErrExited, pr.id)
	}
	if err != nil {
		return n, fmt.Errorf("writing to stdin of %q: %w", pr.id, err)
	}
	return n, nil
}

func (pr *proc) closeStdin(ctx context.Context) error {
	if pr.p.Pty() != nil {
		_, err := pr.writeStdin(ctx, []byte{veof})
		return err
	}
	pr.stdinMu.Lock()
	defer pr.stdinMu.Unlock()
	in, err := pr.input()
	if err != nil || pr.stdinClosed {
		return err
	}
	pr.stdinClosed = true
	if err := in.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("closing stdin of %q: %w", pr.id, err)
	}
	return nil
}
