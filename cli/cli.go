package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/kite-vm/kite/agent/protocol"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/logging"
	"github.com/kite-vm/kite/internal/version"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// errUsage marks an error caused by how the command was called.
var errUsage = errors.New("usage")

// IO is where a command reads and writes.
type IO struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// globals are the flags that come before the command name (runc style).
type globals struct {
	root       string
	logPath    string
	logFormat  string
	debug      bool
	configPath string
}

// env is what every command receives.
type env struct {
	io      IO
	globals globals
	getenv  func(string) string
}

// config loads the effective configuration: --config, else $KITE_CONFIG, else
// /etc/kite/configuration.toml when present, else the embedded defaults. It
// does not check that the configured binaries exist (kite check reports on a
// host that may lack them); commands that start VMs call CheckBinaries.
func (e *env) config() (*configs.Config, error) {
	path := configs.Locate(e.globals.configPath, e.getenv, configs.SystemPath)
	if path == "" {
		return configs.Default(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	return configs.Parse(path, data)
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

func commands() []command {
	cmds := []command{
		{"check", "report what this host offers Kite, with fixes for what is missing", runCheck},
		{"env", "print the effective configuration", runEnv},
		{"devices", "list host PCI functions: IOMMU groups, SR-IOV, drivers", runDevices},
		{"version", "print the version", runVersion},
		{"bench", "run the benchmark suite and write its report (bench compare A.json B.json: ratios)", runBench},
		{"guest", "build the guest image (guest build), or run a command in it (guest run)", runGuest},
		{"create", "create a container in its own VM, ready to start", runCreate},
		{"start", "run the program of a created container", runStart},
		{"run", "create and start a container; without --detach, wait for it and delete it", runRun},
		{"state", "print a container's OCI state as JSON", runState},
		{"kill", "send a signal (default SIGTERM) to a container's process", runKill},
		{"delete", "delete a container and its VM", runDelete},
		{"exec", "run a process in a running container", runExec},
		{"ps", "list the processes Kite started in a container", runPs},
		{"list", "list the containers", runList},
		{"pause", "freeze a running container", runPause},
		{"resume", "thaw a paused container", runResume},
		{"network", "hot-plug pod interfaces: network add|rm ID IFNAME, network ls ID", runNetwork},
		{"volume", "hot-plug volumes: volume add ID NAME SOURCE, volume rm ID NAME, volume ls ID", runVolume},
		{daemonCommand, "(internal) the per-sandbox host process that create starts", runSandboxDaemon},
		{poolDaemonCommand, "(internal) a warm VM of the pool, waiting for a create", runPoolDaemon},
		{"pool", "the pool of warm VMs: pool status [--json], pool fill [--size N] [--wait], pool drain", runPool},
		{initProxyCommand, "(internal) the process that stands for a container's init (--pid-file)", runInitProxy},
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	return cmds
}

// Main runs the kite command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdio IO, getenv func(string) string) int {
	e := &env{io: stdio, getenv: getenv}
	fs := flag.NewFlagSet("kite", flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	fs.StringVar(&e.globals.root, "root", "", "directory for sandbox state (default: the configuration's runtime.root, "+configs.Default().Runtime.Root+")")
	fs.StringVar(&e.globals.logPath, "log", "", "log file (default: stderr)")
	fs.StringVar(&e.globals.logFormat, "log-format", "text", "log format: text or json")
	fs.BoolVar(&e.globals.debug, "debug", false, "log at debug level")
	fs.StringVar(&e.globals.configPath, "config", "", "configuration file (default: $KITE_CONFIG, then /etc/kite/configuration.toml)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() { usage(stdio.Err, fs) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *showVersion {
		fmt.Fprintf(stdio.Out, "kite version %s\n", version.String())
		return exitOK
	}
	if fs.NArg() == 0 {
		usage(stdio.Err, fs)
		return exitUsage
	}
	logger, closeLog, err := e.logger()
	if err != nil {
		fmt.Fprintf(stdio.Err, "kite: %v\n", err)
		return exitUsage
	}
	defer closeLog()
	ctx = logging.WithLogger(ctx, logger)

	name, rest := fs.Arg(0), fs.Args()[1:]
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, e, rest)
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.Is(err, errUsage):
			fmt.Fprintf(stdio.Err, "kite %s: %v\n", name, err)
			return exitUsage
		default:
			var ec exitCodeError
			if errors.As(err, &ec) {
				return ec.code
			}
			fmt.Fprintf(stdio.Err, "kite %s: %v\n", name, err)
			return exitError
		}
	}
	fmt.Fprintf(stdio.Err, "kite: unknown command %q; run 'kite --help' for the list\n", name)
	return exitUsage
}

// exitCodeError makes Main exit with code without printing anything more.
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func (e *env) logger() (*slog.Logger, func(), error) {
	level := "info"
	if e.globals.debug {
		level = "debug"
	}
	w, closeFn := io.Writer(e.io.Err), func() {}
	if e.globals.logPath != "" {
		f, err := os.OpenFile(e.globals.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return nil, nil, fmt.Errorf("opening log file: %w", err)
		}
		w, closeFn = f, func() { f.Close() }
	}
	l, err := logging.New(w, e.globals.logFormat, level)
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	return l, closeFn, nil
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "kite — containers in lightweight VMs with a bare-metal I/O data plane\n\n")
	fmt.Fprintf(w, "usage: kite [global flags] COMMAND [flags] [args]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nglobal flags:\n")
	fs.PrintDefaults()
}

// newFlags returns a flag set for a sub-command that prints its usage on -h.
func newFlags(e *env, name, argsUsage string) *flag.FlagSet {
	fs := flag.NewFlagSet("kite "+name, flag.ContinueOnError)
	fs.SetOutput(e.io.Err)
	fs.Usage = func() {
		fmt.Fprintf(e.io.Err, "usage: kite %s [flags] %s\n", name, argsUsage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and wraps flag errors as usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %s", errUsage, strings.TrimSpace(err.Error()))
	}
	return nil
}

func runVersion(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "version", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(e.io.Out, "kite version %s\nagent protocol %d\n", version.String(), protocol.Version)
	return nil
}
