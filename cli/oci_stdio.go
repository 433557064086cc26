package cli

import (
	"errors"
	"io"
	"os"
	"sync"

	"github.com/kite-vm/kite/oci/control"
)

// passedStdio is the stdio handed to another process (the sandbox process,
// or an exec through it), made of files.
type passedStdio struct {
	files control.Stdio
	// ours are the files opened here, closed once handed over.
	ours []*os.File
	wg   sync.WaitGroup // the copies between pipes and the caller's IO
}

// close closes the files opened here: call it once they have been passed.
func (p *passedStdio) close() {
	for _, f := range p.ours {
		f.Close()
	}
	p.ours = nil
}

// wait waits for the copies of the output to end, which happens when every
// holder of the pipes' write ends has closed them.
func (p *passedStdio) wait() { p.wg.Wait() }

// daemonStdio is the stdio of the sandbox process: the CLI's own when they
// are files (runc's semantics: the container gets the stdio given to
// create). Main's caller may give other readers and writers: with attached
// set (a foreground run, which outlives the container), pipes copy to and
// from them; otherwise /dev/null replaces them.
func daemonStdio(s IO, attached bool) (*passedStdio, error) {
	p := &passedStdio{}
	var err error
	if p.files.In, err = p.input(s.In, attached); err == nil {
		if p.files.Out, err = p.output(s.Out, attached); err == nil {
			p.files.Err, err = p.output(s.Err, attached)
		}
	}
	if err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// input returns r as a file: itself, a pipe fed from it, or /dev/null.
func (p *passedStdio) input(r io.Reader, attached bool) (*os.File, error) {
	if f, ok := r.(*os.File); ok {
		return f, nil
	}
	if r == nil || !attached {
		return p.devNull(os.O_RDONLY)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	p.ours = append(p.ours, pr)
	go func() {
		io.Copy(pw, r)
		pw.Close()
	}()
	return pr, nil
}

// output returns w as a file: itself, a pipe copied to it, or /dev/null.
func (p *passedStdio) output(w io.Writer, attached bool) (*os.File, error) {
	if f, ok := w.(*os.File); ok {
		return f, nil
	}
	if w == nil || !attached {
		return p.devNull(os.O_WRONLY)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	p.ours = append(p.ours, pw)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		io.Copy(w, pr)
		pr.Close()
	}()
	return pw, nil
}

func (p *passedStdio) devNull(flag int) (*os.File, error) {
	f, err := os.OpenFile(os.DevNull, flag, 0)
	if err != nil {
		return nil, errors.Join(errors.New("opening /dev/null"), err)
	}
	p.ours = append(p.ours, f)
	return f, nil
}

// syncIO serializes the writes to s's writers that are not files: the
// copies from several pipes (and a terminal) run at once, and Main's caller
// may give one writer as both stdout and stderr. It also hides the
// writers' ReadFrom, which io.Copy would otherwise run concurrently on one
// buffer.
func syncIO(s IO) IO {
	var mu sync.Mutex
	wrap := func(w io.Writer) io.Writer {
		if _, ok := w.(*os.File); ok || w == nil {
			return w
		}
		return lockedWriter{mu: &mu, w: w}
	}
	return IO{In: s.In, Out: wrap(s.Out), Err: wrap(s.Err)}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
