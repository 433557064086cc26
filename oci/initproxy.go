package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kite-vm/kite/oci/control"
	"github.com/kite-vm/kite/sandbox"
	"golang.org/x/sys/unix"
)

// ProxyConfig is what an init proxy needs.
type ProxyConfig struct {
	// ControlSocket is the sandbox process's control socket.
	ControlSocket string
	// ExecID names the exec the proxy stands for; empty: the init.
	ExecID string
	// Netns is a network namespace to join before reporting ready, so
	// that /proc/<pid>/ns/net is the container's, as a hook expects; empty
	// stays in the caller's. The caller runs RunInitProxy on the process's
	// main thread (see NetnsThreadLock), which is the one /proc/<pid>/ns
	// shows.
	Netns string
	// Report is the pipe on which the spawner waits (StartInitProxy).
	Report *os.File
	// Go, when set, holds the proxy back after it reported ready, until
	// the spawner writes on it (the sandbox process exists) or closes it
	// (the create failed: the proxy exits).
	Go *os.File
	// Logger receives what goes wrong; nil discards it.
	Logger *slog.Logger
}

// RunInitProxy is the main of an init proxy: the host process that stands
// for a container's init (or for an exec) where runc's clients expect the
// process itself. It is what --pid-file names and what `kite state`
// reports as the pid:
//
//   - it exits when the process exits, with its exit status, or by the
//     same signal when the status says it was killed (128+N): conmon and
//     the runc shim learn the exit by reaping it, as they would reap runc's
//     init;
//   - every signal it gets (but SIGKILL and SIGSTOP, which it cannot
//     catch) is forwarded to the process, as `kite kill` does;
//   - killed by SIGKILL, it goes away before the process has exited: the
//     sandbox process sees its watch end and kills the process, so a
//     SIGKILL to the pid kills the container as it would under runc;
//   - if the sandbox process dies, the container died with it: the proxy
//     exits with sandbox.UnknownExit (255), and the state reads stopped.
//
// It never returns: it exits the process.
func RunInitProxy(ctx context.Context, cfg ProxyConfig) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("exec", cfg.ExecID)
	// Signals are caught before the spawner learns the pid: nobody can
	// have sent one the default action would act on.
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs)
	if cfg.Netns != "" {
		if err := joinNetns(cfg.Netns); err != nil {
			reportAndExit(log, cfg.Report, err)
		}
	}
	if cfg.Go != nil {
		if err := writeProxyReport(cfg.Report, proxyReport{Ready: true}, false); err != nil {
			log.Error("reporting ready", "err", err)
			os.Exit(sandbox.UnknownExit)
		}
		if !waitGo(cfg.Go) {
			os.Exit(sandbox.UnknownExit) // the create failed
		}
	}
	cl := control.NewClient(cfg.ControlSocket)
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	w, err := cl.Watch(wctx, cfg.ExecID)
	cancel()
	if err != nil {
		reportAndExit(log, cfg.Report, err)
	}
	if err := writeProxyReport(cfg.Report, proxyReport{Watching: true, Pid: w.Pid}, true); err != nil {
		log.Warn("reporting the watch", "err", err)
	}
	exit := make(chan int, 1)
	go func() {
		code, err := w.Wait()
		if err != nil {
			log.Warn("the watched process's end is unknown", "err", err)
			code = sandbox.UnknownExit
		}
		exit <- code
	}()
	for {
		select {
		case code := <-exit:
			mirrorExit(code)
		case s := <-sigs:
			forward(cl, cfg.ExecID, s.(syscall.Signal), log)
		}
	}
}

// forward sends sig to the process the proxy stands for, skipping the
// signals that are the proxy's own business: SIGCHLD (it has no
// children), SIGURG (Go's scheduler), SIGWINCH (a terminal's size travels
// on its own).
func forward(cl *control.Client, execID string, sig syscall.Signal, log *slog.Logger) {
	switch sig {
	case syscall.SIGCHLD, syscall.SIGURG, syscall.SIGWINCH:
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	if execID == "" {
		err = cl.Kill(ctx, sig, false)
	} else {
		err = cl.KillExec(ctx, execID, sig)
	}
	if err != nil && !errors.Is(err, control.ErrNotFound) { // an exit already on its way
		log.Warn("forwarding a signal", "signal", sig, "err", err)
	}
}

// mirrorExit ends the proxy as the process ended: by the same signal when
// code says it was killed by one whose default action ends a process
// (128+N), with code otherwise.
func mirrorExit(code int) {
	if sig := syscall.Signal(code - 128); code > 128 && terminates(sig) {
		dieBySignal(sig)
	}
	os.Exit(code)
}

// terminates reports whether sig's default action ends the process.
func terminates(sig syscall.Signal) bool {
	switch sig {
	case syscall.SIGCHLD, syscall.SIGCONT, syscall.SIGURG, syscall.SIGWINCH,
		syscall.SIGSTOP, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU:
		return false
	}
	return sig > 0 && sig <= 64
}

// dieBySignal ends the process by sig with no core file, past Go's
// runtime, which turns some signals (SIGQUIT, SIGABRT...) into a stack
// dump and exit status 2.
func dieBySignal(sig syscall.Signal) {
	signal.Reset()
	unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}) // lowering needs no privilege
	if sig != syscall.SIGKILL {
		setDefaultAction(sig)
	}
	unix.Kill(os.Getpid(), sig)
	time.Sleep(5 * time.Second) // the signal is on its way
	os.Exit(128 + int(sig))
}

// waitGo waits for the spawner's go-ahead: one byte, or the pipe's end.
func waitGo(f *os.File) bool {
	var b [1]byte
	n, err := f.Read(b[:])
	f.Close()
	return n == 1 && err == nil
}

func reportAndExit(log *slog.Logger, report *os.File, err error) {
	log.Error("init proxy", "err", err)
	if werr := writeProxyReport(report, proxyReport{Error: control.ToError(err)}, true); werr != nil && !errors.Is(werr, io.ErrClosedPipe) {
		log.Error("reporting the failure", "err", werr)
	}
	os.Exit(sandbox.UnknownExit)
}

func joinNetns(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%w: opening the network namespace %s: %v", control.ErrInvalidArgument, path, err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("joining the network namespace %s: %w", path, err)
	}
	return nil
}
