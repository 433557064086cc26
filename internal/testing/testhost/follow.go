package testhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ErrInnerFailed means the tests inside the test host failed, or the test
// host never ran them to the end.
var ErrInnerFailed = errors.New("tests inside the test host failed")

// pollInterval paces the reading of the console and the output file.
const pollInterval = 50 * time.Millisecond

// bootDeadline bounds the test host's boot, to its ready marker: it is
// up in 3-12 s here, and a boot that takes minutes has hung (QEMU 10's
// multi-threaded TCG now and then leaves a vCPU's timer unfired: the
// kernel logs RCU stalls and never reaches /init, with QEMU idle).
const bootDeadline = 3 * time.Minute

// errBootHung marks a test host that was not up within bootDeadline.
var errBootHung = errors.New("the test host did not come up")

// follow streams the inner output into t.Logf until the test host powers
// off, then judges the run by the exit status /init recorded.
func (v *vm) follow(t testing.TB, ctx context.Context, work string) (Result, error) {
	t.Helper()
	out := &lineFollower{path: filepath.Join(work, outputFile), logf: func(s string) { t.Logf("testhost| %s", s) }}
	var readyAt time.Time
	for exited := false; !exited; {
		select {
		case <-v.proc.Done():
			exited = true
		case <-ctx.Done():
			out.poll(true)
			return Result{Output: out.all.String()}, fmt.Errorf("%w: test host still running after the timeout (%w)\n%s",
				ErrInnerFailed, ctx.Err(), v.failReport())
		case <-time.After(pollInterval):
		}
		if readyAt.IsZero() && strings.Contains(v.console(), ReadyMarker) {
			readyAt = time.Now()
			t.Logf("test host up in %s", v.bootTime(readyAt).Round(time.Millisecond))
		}
		if readyAt.IsZero() && !exited && time.Since(v.started) > bootDeadline {
			return Result{Output: out.all.String()}, fmt.Errorf("%w within %s\n%s", errBootHung, bootDeadline, v.failReport())
		}
		out.poll(exited)
	}
	res := Result{BootTime: v.bootTime(readyAt), Output: out.all.String()}
	if !readyAt.IsZero() {
		res.RunTime = time.Since(readyAt)
	}
	return res, v.judge(t.Name(), work, res)
}

// judge returns nil only when the inner test binary exited 0 after
// running the test named name.
func (v *vm) judge(name, work string, res Result) error {
	if line := markerLine(v.console(), FailMarker); line != "" {
		return fmt.Errorf("%w: test host /init failed: %s\n%s", ErrInnerFailed, line, v.failReport())
	}
	b, err := os.ReadFile(filepath.Join(work, statusFile))
	if err != nil {
		return fmt.Errorf("%w: test host ended without an exit status from the tests (%w)\n%s", ErrInnerFailed, err, v.failReport())
	}
	status, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("%w: test host wrote exit status %q\n%s", ErrInnerFailed, b, v.failReport())
	}
	if status != 0 {
		return fmt.Errorf("%w: exit status %d (booted in %s, ran %s)\n%s", ErrInnerFailed,
			status, res.BootTime.Round(time.Millisecond), res.RunTime.Round(time.Millisecond), v.failReport())
	}
	top := strings.SplitN(name, "/", 2)[0]
	ran := strings.Contains(res.Output, "--- PASS: "+top)
	if strings.HasPrefix(top, "Benchmark") {
		// A benchmark that ran prints its result line, not a PASS line.
		ran = strings.Contains(res.Output, "\n"+top+"-") || strings.HasPrefix(res.Output, top+"-")
	}
	if !ran {
		return fmt.Errorf("%w: the inner run exited 0 but did not run %s (no PASS line)\n%s", ErrInnerFailed, name, v.failReport())
	}
	return nil
}

// markerLine returns the first console line holding marker, or "".
func markerLine(console, marker string) string {
	for _, l := range strings.Split(console, "\n") {
		if strings.Contains(l, marker) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// lineFollower hands each complete new line of a growing file to logf.
type lineFollower struct {
	path    string
	logf    func(string)
	offset  int64
	partial []byte
	all     bytes.Buffer
}

// poll reads what was appended; final flushes a last line without newline.
func (f *lineFollower) poll(final bool) {
	if fh, err := os.Open(f.path); err == nil {
		b, _ := io.ReadAll(io.NewSectionReader(fh, f.offset, 1<<40))
		fh.Close()
		f.offset += int64(len(b))
		f.all.Write(b)
		f.partial = append(f.partial, b...)
	}
	for {
		i := bytes.IndexByte(f.partial, '\n')
		if i < 0 {
			break
		}
		f.logf(string(f.partial[:i]))
		f.partial = f.partial[i+1:]
	}
	if final && len(f.partial) > 0 {
		f.logf(string(f.partial))
		f.partial = nil
	}
}
