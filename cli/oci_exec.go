package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/kite-vm/kite/internal/fdclose"
	"github.com/kite-vm/kite/oci"
	"github.com/kite-vm/kite/oci/control"
	"github.com/kite-vm/kite/oci/state"
	"github.com/kite-vm/kite/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// execOptions are exec's flags.
type execOptions struct {
	tty         bool
	env         stringList
	cwd         string
	user        string
	processFile string
	detach      bool
	pidFile     string
	// consoleSocket receives the master of the terminal of a process on
	// one (runc's protocol), instead of its stdio being the caller's.
	consoleSocket string
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// runExec runs a process in a running container and exits with its code.
func runExec(ctx context.Context, e *env, args []string) error {
	var o execOptions
	fs := newFlags(e, "exec", "[flags] ID [--] COMMAND [ARG...]")
	fs.Var(preserveFDs{}, "preserve-fds", "descriptors to pass to the process beyond stdio: only 0 (a VM's container cannot receive host descriptors)")
	fs.BoolVar(&o.tty, "tty", false, "run the process on a terminal")
	fs.BoolVar(&o.tty, "t", false, "short for --tty")
	fs.Var(&o.env, "env", "add KEY=VALUE to the environment (repeatable)")
	fs.Var(&o.env, "e", "short for --env")
	fs.StringVar(&o.cwd, "cwd", "", "working directory in the container")
	fs.StringVar(&o.user, "user", "", "UID[:GID] to run as")
	fs.StringVar(&o.user, "u", "", "short for --user")
	fs.StringVar(&o.processFile, "process", "", "a JSON OCI process spec to run instead of COMMAND")
	fs.StringVar(&o.processFile, "p", "", "short for --process")
	fs.BoolVar(&o.detach, "detach", false, "return once the process runs")
	fs.BoolVar(&o.detach, "d", false, "short for --detach")
	fs.StringVar(&o.pidFile, "pid-file", "", "write the pid of the process that stands for the exec (its exit is the exec's) to this file")
	fs.StringVar(&o.consoleSocket, "console-socket", "", "unix socket to send the terminal's master to (a process on a terminal)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) > 1 && rest[1] == "--" {
		rest = append(rest[:1:1], rest[2:]...)
	}
	if len(rest) == 0 || (len(rest) == 1 && o.processFile == "") {
		return fmt.Errorf("%w: want ID and a COMMAND (or --process FILE)", errUsage)
	}
	if o.user != "" {
		if _, err := parseUser(o.user); err != nil {
			return err
		}
	}
	code, err := e.exec(ctx, rest[0], rest[1:], o)
	if err != nil {
		return err
	}
	if code != 0 {
		return exitCodeError{code: code}
	}
	return nil
}

func (e *env) exec(ctx context.Context, id string, argv []string, o execOptions) (int, error) {
	c, err := e.openContainer(ctx, id, true)
	if err != nil {
		return 0, err
	}
	defer c.unlock()
	if s := c.status(); s != state.StatusRunning {
		return 0, fmt.Errorf("container %s is %s, cannot exec", id, s)
	}
	proc, err := execProcessSpec(c.st.Bundle, argv, o)
	if err != nil {
		return 0, err
	}
	cl, err := c.client()
	if err != nil {
		return 0, err
	}
	if proc.Terminal && o.detach && o.consoleSocket == "" {
		return 0, fmt.Errorf("%w: a detached exec on a terminal needs --console-socket to hand the terminal to", errUsage)
	}
	if err := fdclose.OnExec(); err != nil {
		return 0, err
	}
	stdio, err := e.execFiles(proc, o)
	if err != nil {
		return 0, err
	}
	defer stdio.close()
	execID := newExecID()
	f := stdio.files
	if _, err := cl.Exec(ctx, control.ExecRequest{ExecID: execID, Process: proc}, f.In, f.Out, f.Err); err != nil {
		return 0, err
	}
	stdio.close() // the sandbox process has its copies
	if o.pidFile != "" {
		if err := e.startExecProxy(ctx, c, execID, o.pidFile); err != nil {
			return 0, errors.Join(err, cl.KillExec(ctx, execID, syscall.SIGKILL))
		}
	}
	c.unlock() // waiting does not keep others out
	if o.detach {
		return 0, nil
	}
	if in, ok := e.io.In.(*os.File); ok && o.tty && oci.IsTerminal(in) {
		if restore, err := oci.MakeRaw(in); err == nil {
			defer restore()
		}
	}
	code, err := cl.WaitExec(ctx, execID)
	stdio.wait()
	return code, err
}

// execFiles is the stdio to pass with an exec: a new host terminal's
// slave side, whose master goes to --console-socket, or the caller's.
func (e *env) execFiles(proc *specs.Process, o execOptions) (*passedStdio, error) {
	if proc.Terminal && o.consoleSocket != "" {
		sock, err := filepath.Abs(o.consoleSocket)
		if err != nil {
			return nil, err
		}
		slave, err := oci.NewConsole(sock)
		if err != nil {
			return nil, err
		}
		return &passedStdio{files: control.Stdio{In: slave, Out: slave, Err: slave}, ours: []*os.File{slave}}, nil
	}
	return execStdio(syncIO(e.io), o.detach)
}

// startExecProxy starts the process that stands for exec execID (its
// exit is the exec's, the signals it gets go to the exec) and writes its
// pid to pidFile, as runc writes the exec's.
func (e *env) startExecProxy(ctx context.Context, c *container, execID, pidFile string) error {
	root := filepath.Dir(c.h.Dir())
	proxy, err := oci.StartInitProxy(ctx, e.proxySpec(root, c.sandboxDir(), c.h.ID(), execID, "", false))
	if err != nil {
		return fmt.Errorf("exec %s: %w", execID, err)
	}
	if err := writePidFile(pidFile, proxy.Pid); err != nil {
		proxy.Kill()
		return err
	}
	return nil
}

// execProcessSpec is the process to exec: the --process file, or, as runc
// does, the bundle's process with the command and the flags applied.
func execProcessSpec(bundle string, argv []string, o execOptions) (*specs.Process, error) {
	if o.processFile != "" {
		data, err := os.ReadFile(o.processFile)
		if err != nil {
			return nil, fmt.Errorf("reading the process spec: %w", err)
		}
		var p specs.Process
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("reading the process spec %s: %w", o.processFile, err)
		}
		return &p, nil
	}
	raw, err := spec.Load(bundle)
	if err != nil {
		return nil, err
	}
	if raw.Process == nil {
		return nil, fmt.Errorf("%w: the bundle's config.json has no process to base the exec on: give one with --process", errUsage)
	}
	p := *raw.Process
	p.Args, p.Terminal, p.ConsoleSize = argv, o.tty, nil
	p.Env = append(append([]string(nil), p.Env...), o.env...)
	if o.cwd != "" {
		p.Cwd = o.cwd
	}
	if o.user != "" {
		u, err := parseUser(o.user)
		if err != nil {
			return nil, err
		}
		p.User = u
	}
	return &p, nil
}

// parseUser reads UID[:GID].
func parseUser(s string) (specs.User, error) {
	uidS, gidS, hasGID := strings.Cut(s, ":")
	uid, err := strconv.ParseUint(uidS, 10, 32)
	if err != nil {
		return specs.User{}, fmt.Errorf("%w: --user %q: want a numeric UID[:GID]", errUsage, s)
	}
	u := specs.User{UID: uint32(uid)}
	if hasGID {
		gid, err := strconv.ParseUint(gidS, 10, 32)
		if err != nil {
			return specs.User{}, fmt.Errorf("%w: --user %q: want a numeric UID[:GID]", errUsage, s)
		}
		u.GID = uint32(gid)
	}
	return u, nil
}

// newExecID names an exec: runc's CLI has no exec ids, the agent needs one.
func newExecID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "exec-" + hex.EncodeToString(b)
}

// execStdio is the stdio of an exec. Attached, its input always goes
// through a pipe fed here, unless it is /dev/null: the sandbox process
// outlives the exec, and a read it left pending on the caller's terminal
// would steal a keystroke after the exec ended. Output files are passed
// as they are.
func execStdio(s IO, detach bool) (*passedStdio, error) {
	p := &passedStdio{}
	var err error
	in := s.In
	if f, ok := in.(*os.File); ok && !detach && !isDevNull(f) {
		in = readerOnly{f} // not a file: input() makes the pipe
	}
	if p.files.In, err = p.input(in, !detach); err == nil {
		if p.files.Out, err = p.output(s.Out, !detach); err == nil {
			p.files.Err, err = p.output(s.Err, !detach)
		}
	}
	if err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// readerOnly hides that a reader is a file.
type readerOnly struct{ r *os.File }

func (r readerOnly) Read(b []byte) (int, error) { return r.r.Read(b) }

func isDevNull(f *os.File) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(os.DevNull)
	return err == nil && os.SameFile(a, b)
}
