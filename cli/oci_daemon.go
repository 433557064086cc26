package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/kite-vm/kite/internal/logging"
	"github.com/kite-vm/kite/oci"
	"github.com/kite-vm/kite/oci/control"
)

// daemonCommand is the command `kite create` runs the sandbox process
// with; it is not for people.
const daemonCommand = "sandbox-daemon"

// runSandboxDaemon is the sandbox process (oci.RunDaemon). Its stdio
// is the container's: it writes nothing there itself. Errors go to the log
// and, during create, to the report pipe.
func runSandboxDaemon(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, daemonCommand, "--bundle DIR --dir DIR --report-fd N [--netns PATH] [--console-socket PATH] ID")
	bundle := fs.String("bundle", "", "the OCI bundle (absolute)")
	dir := fs.String("dir", "", "the sandbox directory (absolute)")
	netns := fs.String("netns", "", "the network namespace Kite made for the container")
	consoleSocket := fs.String("console-socket", "", "where to send the terminal's master")
	reportFD := fs.Int("report-fd", control.ReportFD, "the descriptor of the report pipe")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	id, err := needID(fs.Args())
	if err != nil {
		return err
	}
	log := logging.From(ctx).With(logging.KeySandbox, id)
	report, err := control.OpenReport(*reportFD)
	if err != nil {
		return err
	}
	stdio, err := stdioFiles(e.io)
	cfg, cerr := e.config()
	store, serr := e.store()
	if err := errors.Join(err, cerr, serr); err != nil {
		log.Error("sandbox process", "err", err)
		control.ReportFailure(report, err)
		return exitCodeError{code: exitError}
	}
	err = oci.RunDaemon(ctx, oci.DaemonConfig{
		ID: id, Store: store, Config: cfg, Bundle: *bundle, Dir: *dir, Netns: *netns, ConsoleSocket: *consoleSocket,
		Stdio: stdio, Report: report, Logger: log,
	})
	if err != nil {
		log.Error("sandbox process", "err", err)
		return exitCodeError{code: exitError}
	}
	return nil
}

// stdioFiles returns the process's own stdio, which must be files.
func stdioFiles(s IO) (control.Stdio, error) {
	in, ok1 := s.In.(*os.File)
	out, ok2 := s.Out.(*os.File)
	errOut, ok3 := s.Err.(*os.File)
	if !ok1 || !ok2 || !ok3 {
		return control.Stdio{}, fmt.Errorf("%s needs its stdio to be files", daemonCommand)
	}
	return control.Stdio{In: in, Out: out, Err: errOut}, nil
}
