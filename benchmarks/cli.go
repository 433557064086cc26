package benchmarks

import (
	"io"

	"bytes"
	"context"
	"fmt"
	"github.com/kite-vm/kite/internal/filetail"
	"os"
	"os/exec"
	"strings"
)

// ociCLI runs an OCI runtime's command line (kite or runc) with a state
// root of its own. The long-lived processes that create leaves behind
// inherit stdio: theirs goes to a log file, never to a pipe that would keep
// the command's output open.
type ociCLI struct {
	bin    string
	global []string // flags before the command: --root, --config
	log    string   // stdout and stderr of create/start/delete
}

// run runs a command whose output is not needed.
func (c ociCLI) run(ctx context.Context, args ...string) error {
	log, err := os.OpenFile(c.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	// The log may be shared by commands run at once: its tail since this
	// command started is a hint at why it failed, kept in the error (the
	// file goes with the benchmark's work directory).
	start, _ := log.Seek(0, io.SeekEnd)
	cmd := exec.CommandContext(ctx, c.bin, append(append([]string(nil), c.global...), args...)...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", c.bin, strings.Join(args, " "), err,
			strings.TrimSpace(filetail.Read(c.log, start, 600)))
	}
	return nil
}

// output runs a command that exits with its children (kite exec) and
// returns its stdout.
func (c ociCLI) output(ctx context.Context, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, c.bin, append(append([]string(nil), c.global...), args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", c.bin, strings.Join(args, " "), err, bytes.TrimSpace(errOut.Bytes()))
	}
	return out.String(), nil
}

// kiteCLI is the kite binary with the benchmark's state root and the
// configuration the benchmark runs with.
func kiteCLI(env Env, root, log string) ociCLI {
	global := []string{"--root", root}
	if env.ConfigPath != "" {
		global = append(global, "--config", env.ConfigPath)
	}
	return ociCLI{bin: env.Kite, global: global, log: log}
}

// requireKite skips the CLI benchmarks when the kite binary is unknown.
func requireKite(env Env) error {
	if env.Kite == "" {
		return skip("no kite binary to run (Env.Kite is empty)")
	}
	if _, err := os.Stat(env.Kite); err != nil {
		return skip("kite binary %s: %v", env.Kite, err)
	}
	return nil
}
