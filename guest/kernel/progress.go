package kernel

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progressEvery paces the compile stage's reports: a cold build runs for
// minutes, and a silent terminal looks hung.
const progressEvery = 15 * time.Second

// makeProgress counts the steps make reports ("  CC      kernel/fork.o")
// and reports the count and the latest step every progressEvery.
type makeProgress struct {
	report func(string)
	trim   string // prefix dropped from the paths make prints
	start  time.Time
	done   chan struct{}
	wg     sync.WaitGroup

	mu    sync.Mutex
	steps int    // guarded by mu
	last  string // guarded by mu
	part  []byte // an unfinished line; guarded by mu
}

func newMakeProgress(trim string, report func(string)) *makeProgress {
	p := &makeProgress{report: report, trim: trim, start: time.Now(), done: make(chan struct{})}
	p.wg.Add(1)
	go p.loop()
	return p
}

func (p *makeProgress) loop() {
	defer p.wg.Done()
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
			p.report(p.String())
		}
	}
}

// String is the current report.
func (p *makeProgress) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("%d steps in %s, now %s", p.steps, time.Since(p.start).Round(time.Second), p.last)
}

// Write takes make's output.
func (p *makeProgress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	data := append(p.part, b...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		p.line(string(data[:i]))
		data = data[i+1:]
	}
	p.part = append(p.part[:0], data...)
	return len(b), nil
}

// line counts one line of kbuild's short output: "  CC      path" or
// "  LD [M]  path".
func (p *makeProgress) line(s string) {
	f := strings.Fields(s)
	if len(f) == 3 && f[1] == "[M]" {
		f = []string{f[0], f[2]}
	}
	if len(f) == 2 && strings.HasPrefix(s, "  ") && strings.ToUpper(f[0]) == f[0] {
		p.steps++
		p.last = strings.TrimPrefix(f[1], p.trim)
	}
}

func (p *makeProgress) stop() {
	close(p.done)
	p.wg.Wait()
}

// teeWriter writes to the log and to the progress counter.
type teeWriter struct {
	log io.Writer
	p   *makeProgress
}

func (w teeWriter) Write(b []byte) (int, error) {
	if _, err := w.log.Write(b); err != nil {
		return 0, err
	}
	return w.p.Write(b)
}
