package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
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

func runNetworkAdd(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "network add", "[--json] ID IFNAME")
	asJSON := fs.Bool("json", false, "print the interface as JSON")
	cl, pos, err := sandboxCommand(ctx, e, fs, args, "an interface name")
	if err != nil {
		return err
	}
	i, err := cl.AddInterface(ctx, pos[1])
	if err != nil {
		return fmt.Errorf("adding %s to container %q: %w", pos[1], pos[0], err)
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
	cl, pos, err := sandboxCommand(ctx, e, newFlags(e, "network rm", "ID IFNAME"), args, "an interface name")
	if err != nil {
		return err
	}
	if err := cl.RemoveInterface(ctx, pos[1]); err != nil {
		return fmt.Errorf("removing %s from container %q: %w", pos[1], pos[0], err)
	}
	return nil
}

func runNetworkLs(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "network ls", "[--json] ID")
	asJSON := fs.Bool("json", false, "print the interfaces as JSON")
	cl, _, err := sandboxCommand(ctx, e, fs, args)
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
