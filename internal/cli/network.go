package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/kite-vm/kite/runtime/sandbox"
)

// runNetwork dispatches `kite network add|rm|ls`.
func runNetwork(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "add":
			return runNetworkAdd(ctx, e, args[1:])
		case "rm":
			return runNetworkRm(ctx, e, args[1:])
		case "ls":
			return runNetworkLs(ctx, e, args[1:])
		}
	}
	return fmt.Errorf("%w: want 'kite network add ID IFNAME', 'kite network rm ID IFNAME' or 'kite network ls ID'", errUsage)
}

// networkClient opens the running container's sandbox process (for the
// network and volume commands).
func networkClient(ctx context.Context, e *env, id string) (*sandbox.Client, error) {
	c, err := e.openContainer(ctx, id, false)
	if err != nil {
		return nil, err
	}
	return c.client()
}

func idAndIfname(args []string) (string, string, error) {
	if len(args) != 2 {
		return "", "", fmt.Errorf("%w: want a container id and an interface name, got %d arguments", errUsage, len(args))
	}
	return args[0], args[1], nil
}

func runNetworkAdd(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "network add", "[--json] ID IFNAME")
	asJSON := fs.Bool("json", false, "print the interface as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	id, ifname, err := idAndIfname(fs.Args())
	if err != nil {
		return err
	}
	cl, err := networkClient(ctx, e, id)
	if err != nil {
		return err
	}
	i, err := cl.AddInterface(ctx, ifname)
	if err != nil {
		return fmt.Errorf("adding %s to container %q: %w", ifname, id, err)
	}
	if *asJSON {
		return printJSON(e, i)
	}
	t := i.Hotplug
	fmt.Fprintf(e.io.Out, "%s (%s, %s, %d queues) added: device_add %s, visible %s, configured %s\n",
		i.Name, i.Model, i.MAC, i.Queues, ms(t.QMP), ms(t.Visible), ms(t.Configured))
	return nil
}

func runNetworkRm(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "network rm", "ID IFNAME")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	id, ifname, err := idAndIfname(fs.Args())
	if err != nil {
		return err
	}
	cl, err := networkClient(ctx, e, id)
	if err != nil {
		return err
	}
	if err := cl.RemoveInterface(ctx, ifname); err != nil {
		return fmt.Errorf("removing %s from container %q: %w", ifname, id, err)
	}
	return nil
}

func runNetworkLs(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "network ls", "[--json] ID")
	asJSON := fs.Bool("json", false, "print the interfaces as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	id, err := needID(fs.Args())
	if err != nil {
		return err
	}
	cl, err := networkClient(ctx, e, id)
	if err != nil {
		return err
	}
	ifaces, err := cl.Interfaces(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e, ifaces)
	}
	tw := tabwriter.NewWriter(e.io.Out, 8, 1, 3, ' ', 0)
	fmt.Fprint(tw, "NAME\tMODEL\tMAC\tQUEUES\tPLUGGED\n")
	for _, i := range ifaces {
		plugged := "boot"
		if i.Hotplugged {
			plugged = "hot"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", i.Name, i.Model, i.MAC, i.Queues, plugged)
	}
	return tw.Flush()
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }
