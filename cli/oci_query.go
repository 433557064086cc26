package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/kite-vm/kite/oci/state"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// containerState is what `kite state` prints for a container: the OCI
// state, with runc's rootfs and created fields.
type containerState struct {
	specs.State
	Rootfs  string    `json:"rootfs"`
	Created time.Time `json:"created"`
}

func newContainerState(st state.State, alive bool) containerState {
	return containerState{State: state.OCIState(st, alive), Rootfs: st.Rootfs, Created: st.Created}
}

// runState prints the container's state as JSON.
func runState(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "state", "ID")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	id, err := needID(fs.Args())
	if err != nil {
		return err
	}
	c, err := e.openContainer(ctx, id, false)
	if err != nil {
		return err
	}
	return printJSON(e, newContainerState(c.st, c.st.Alive(state.Proc{})))
}

// runList prints every container.
func runList(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "list", "")
	format := fs.String("format", "table", "table or json")
	fs.StringVar(format, "f", "table", "short for --format")
	quiet := fs.Bool("quiet", false, "print the ids only")
	fs.BoolVar(quiet, "q", false, "short for --quiet")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *format != "table" && *format != "json" {
		return fmt.Errorf("%w: --format %q: want table or json", errUsage, *format)
	}
	store, err := e.store()
	if err != nil {
		return err
	}
	states, err := store.List()
	if err != nil {
		return err
	}
	list := make([]containerState, 0, len(states))
	for _, st := range states {
		list = append(list, newContainerState(st, st.Alive(state.Proc{})))
	}
	switch {
	case *quiet:
		for _, c := range list {
			fmt.Fprintln(e.io.Out, c.ID)
		}
		return nil
	case *format == "json":
		return printJSON(e, list)
	}
	tw := tabwriter.NewWriter(e.io.Out, 12, 1, 3, ' ', 0)
	fmt.Fprint(tw, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\n")
	for _, c := range list {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", c.ID, c.Pid, c.Status, c.Bundle, c.Created.Format(time.RFC3339Nano))
	}
	return tw.Flush()
}

// runPs lists the container's processes by their guest pids: the init,
// the execs the sandbox process started, and every process those started
// (the container's cgroup in the guest).
func runPs(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "ps", "[--format table|json] ID")
	format := fs.String("format", "table", "table or json")
	fs.StringVar(format, "f", "table", "short for --format")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *format != "table" && *format != "json" {
		return fmt.Errorf("%w: --format %q: want table or json", errUsage, *format)
	}
	id, err := needID(fs.Args())
	if err != nil {
		return err
	}
	c, err := e.openContainer(ctx, id, false)
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	procs, err := cl.Ps(ctx)
	if err != nil {
		return err
	}
	if *format == "json" {
		pids := make([]int, 0, len(procs))
		for _, p := range procs {
			pids = append(pids, p.Pid)
		}
		return printJSON(e, pids)
	}
	tw := tabwriter.NewWriter(e.io.Out, 8, 1, 3, ' ', 0)
	fmt.Fprint(tw, "PID\tPROCESS\n")
	for _, p := range procs {
		name := "init"
		switch {
		case p.Child:
			name = "child"
		case p.ExecID != "":
			name = "exec " + p.ExecID
		}
		fmt.Fprintf(tw, "%d\t%s\n", p.Pid, name)
	}
	return tw.Flush()
}

func printJSON(e *env, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.io.Out, "%s\n", data)
	return err
}
