package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/kite-vm/kite/devicemgr"
)

func runDevices(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "devices", "")
	root := fs.String("sysfs-root", devicemgr.DefaultSysfsRoot, "sysfs to read (a fake tree in tests)")
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	fns, err := devicemgr.Inventory(*root)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.io.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(fns)
	}
	printDevices(e, fns)
	return nil
}

func printDevices(e *env, fns []devicemgr.Function) {
	tw := tabwriter.NewWriter(e.io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BDF\tVENDOR:DEVICE\tCLASS\tDRIVER\tNUMA\tIOMMU GROUP\tSR-IOV\tNETDEVS")
	for _, f := range fns {
		fmt.Fprintf(tw, "%s\t%s:%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.BDF, f.Vendor, f.Device, f.Class,
			orDash(f.Driver), intOrDash(f.NUMANode), intOrDash(f.IOMMUGroup), sriovCell(f),
			orDash(strings.Join(f.Netdevs, ",")))
	}
	tw.Flush()
}

// sriovCell says what a function is to SR-IOV: "PF 4/7" (enabled/total VFs)
// or "VF 2 of 0000:3b:00.0".
func sriovCell(f devicemgr.Function) string {
	switch {
	case f.IsVF():
		return fmt.Sprintf("VF %d of %s", f.VFIndex, f.PhysFn)
	case f.SRIOV != nil:
		return fmt.Sprintf("PF %d/%d", f.SRIOV.NumVFs, f.SRIOV.TotalVFs)
	}
	return "-"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func intOrDash(n int) string {
	if n < 0 {
		return "-"
	}
	return strconv.Itoa(n)
}
