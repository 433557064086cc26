package container

import (
	"fmt"
	"os"
)

// stdio holds a process's pipes: the agent's ends and the stage's ends. A
// terminal process has none (its pty master arrives from the stage).
type stdio struct {
	stdin, stdout, stderr       *os.File // the agent's ends
	childIn, childOut, childErr *os.File // the stage's ends, closed once it has them
}

// newStdio makes the pipes p needs.
func newStdio(p ProcessSpec) (*stdio, error) {
	s := &stdio{}
	if p.Terminal {
		return s, nil
	}
	var err error
	if p.Stdin {
		if s.childIn, s.stdin, err = os.Pipe(); err != nil {
			return nil, fmt.Errorf("creating stdin pipe: %w", err)
		}
	}
	if s.stdout, s.childOut, err = os.Pipe(); err != nil {
		s.closeAll()
		return nil, fmt.Errorf("creating stdout pipe: %w", err)
	}
	if s.stderr, s.childErr, err = os.Pipe(); err != nil {
		s.closeAll()
		return nil, fmt.Errorf("creating stderr pipe: %w", err)
	}
	return s, nil
}

// closeChildEnds drops the agent's copies of the stage's ends, so that the
// agent sees end-of-file when the process closes its output.
func (s *stdio) closeChildEnds() {
	for _, f := range []*os.File{s.childIn, s.childOut, s.childErr} {
		closeIfSet(f)
	}
	s.childIn, s.childOut, s.childErr = nil, nil, nil
}

func (s *stdio) closeAll() {
	s.closeChildEnds()
	for _, f := range []*os.File{s.stdin, s.stdout, s.stderr} {
		closeIfSet(f)
	}
}

// chownChildEnds gives the stage's ends to uid and gid (a pipe's owner is
// that of both its ends).
func (s *stdio) chownChildEnds(uid, gid int) error {
	for _, f := range []*os.File{s.childIn, s.childOut, s.childErr} {
		if f == nil {
			continue
		}
		if err := f.Chown(uid, gid); err != nil {
			return fmt.Errorf("giving the stdio pipes to guest user %d: %w", uid, err)
		}
	}
	return nil
}
