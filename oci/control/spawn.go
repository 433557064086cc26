package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// ReportFD is the descriptor number of the report pipe in the sandbox
// process (ExtraFiles[0]).
const ReportFD = 3

// report is what the sandbox process writes, once, on the report pipe.
type report struct {
	Created bool   `json:"created,omitempty"`
	Error   *Error `json:"error,omitempty"`
}

func writeReport(w io.WriteCloser, r report) error {
	if w == nil {
		return nil
	}
	data, err := json.Marshal(r)
	if err == nil {
		_, err = w.Write(append(data, '\n'))
	}
	return errors.Join(err, w.Close())
}

// OpenReport returns the report pipe the sandbox process was given as fd,
// after checking that fd is a pipe: the descriptor number is a convention
// between two processes, and a mistaken one must not be written to.
func OpenReport(fd int) (*os.File, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("report descriptor %d: %w", fd, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
		return nil, fmt.Errorf("report descriptor %d is not a pipe", fd)
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "report"), nil
}

// SpawnSpec is how to start the sandbox process: Kite's own binary, whose
// arguments run RunDaemon with the report pipe on ReportFD.
type SpawnSpec struct {
	Path string
	// Args are the arguments, without argv[0].
	Args []string
	// Stdio becomes the sandbox process's stdin, stdout and stderr: the
	// container's stdio.
	Stdio Stdio
	// Env is the environment; nil means the caller's.
	Env []string
}

// killWait bounds the wait for a sandbox process that failed to exit.
const killWait = 30 * time.Second

// Spawn starts the sandbox process in a session of its own (it outlives
// the caller, and a signal to the caller's terminal must not reach it) and
// waits for its report. It returns the process's pid once the sandbox is
// created; otherwise the error the process reported, after the process has
// exited, so that it has undone all it did. If ctx ends first, the process
// is asked to stop (SIGTERM, which makes it undo its work) and waited for.
func Spawn(ctx context.Context, spec SpawnSpec) (int, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("creating the report pipe: %w", err)
	}
	defer r.Close()
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = spec.Stdio.In, spec.Stdio.Out, spec.Stdio.Err
	cmd.ExtraFiles = []*os.File{w}
	cmd.Env = spec.Env
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return 0, fmt.Errorf("starting the sandbox process: %w", err)
	}
	rep, err := readReport(ctx, r)
	if err == nil && rep.Created {
		go cmd.Wait() // reaps it if it ends while the caller runs (tests)
		return cmd.Process.Pid, nil
	}
	if ctx.Err() != nil {
		cmd.Process.Signal(syscall.SIGTERM)
	}
	waitErr := waitExit(cmd)
	switch {
	case err != nil:
		return 0, err
	case rep.Error != nil:
		return 0, rep.Error
	default:
		return 0, fmt.Errorf("%w before reporting (%v)", ErrDaemonExited, waitErr)
	}
}

// readReport reads the report; the pipe's end without one is ErrDaemonExited's
// business, reported by the caller as an empty report.
func readReport(ctx context.Context, r *os.File) (report, error) {
	type result struct {
		rep report
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var rep report
		line, err := bufio.NewReader(r).ReadBytes('\n')
		if len(line) > 0 {
			err = json.Unmarshal(line, &rep)
		} else if err == io.EOF {
			err = nil
		}
		ch <- result{rep, err}
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			return report{}, fmt.Errorf("reading the sandbox process's report: %w", res.err)
		}
		return res.rep, nil
	case <-ctx.Done():
		return report{}, ctx.Err()
	}
}

// waitExit waits for the process, killing it after killWait.
func waitExit(cmd *exec.Cmd) error {
	t := time.AfterFunc(killWait, func() { cmd.Process.Kill() })
	defer t.Stop()
	return cmd.Wait()
}

// ReportFailure reports on the report pipe an error that happened before
// RunDaemon could, and closes the pipe.
func ReportFailure(w *os.File, err error) error {
	return writeReport(w, report{Error: ToError(err)})
}

// ReportCreated tells `kite create`, waiting in Spawn, that the sandbox is
// created, and closes the pipe.
func ReportCreated(w *os.File) error {
	return writeReport(w, report{Created: true})
}
