package devices

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kite-vm/kite/agent/server/pcipath"
)

// ErrNoDriver is wrapped when no guest driver takes a function in time.
var ErrNoDriver = errors.New("no guest driver bound the function")

// pciClassStorage starts the class code of mass storage functions (NVMe
// is 0x010802), whose guest driver makes block devices.
const pciClassStorage = "0x01"

// BindFunction gives the passed-through function in sysfs directory dir,
// at guest path p, to its guest kernel driver, and reports the block device
// a storage function's driver made (an NVMe namespace; Node is zero for
// other functions); for a NIC it returns once the driver's netdev exists. When no driver takes it in time, the error names the
// function, its ids, its PCI path and what to do: the guest image lacks the
// driver's module.
func (f *Finder) BindFunction(ctx context.Context, p pcipath.Path, dir string, timeout time.Duration) (Node, error) {
	start := time.Now()
	if _, err := f.BindKernel(ctx, dir, timeout); err != nil {
		if errors.Is(err, ErrTimeout) {
			return Node{}, fmt.Errorf("%w: %s at PCI path %s within %s: the guest image has no driver for it (add its module: kite guest build --modules <module>, or guest.extra_modules)",
				ErrNoDriver, describe(dir), p, timeout)
		}
		return Node{}, err
	}
	switch class := readAttr(dir, "class"); {
	case strings.HasPrefix(class, pciClassStorage):
		return f.waitBlockUnder(ctx, p, dir, timeout-time.Since(start))
	case strings.HasPrefix(class, pciClassNetwork):
		return Node{}, f.waitNetdevUnder(ctx, p, dir, timeout-time.Since(start))
	}
	return Node{}, nil
}

// pciClassNetwork starts the class code of network controllers (an
// Ethernet VF is 0x020000), whose guest driver makes a netdev.
const pciClassNetwork = "0x02"

// waitNetdevUnder waits for the netdev a NIC function's driver registers:
// the kernel links the function to its driver before the driver's probe
// runs, and a NIC driver registers its netdev late in its probe (e1000e
// after reading its NVM, slow under TCG), so the interface may not exist
// yet when the driver link does. Configuring it by its PCI path comes
// next.
func (f *Finder) waitNetdevUnder(ctx context.Context, p pcipath.Path, dir string, timeout time.Duration) error {
	return f.watcher.Wait(ctx, "network interface of the function at PCI path "+p.String(), max(timeout, time.Millisecond), func() (bool, error) {
		entries, _ := os.ReadDir(filepath.Join(dir, "net"))
		return len(entries) > 0, nil
	})
}

// waitBlockUnder waits for a whole disk (not a partition) of the
// function: one whose device lies under the function's directory, such as
// nvme/nvme0/nvme0n1, or, for a namespace an NVMe subsystem shares
// (multipath), the head disk of the subsystem one of whose controllers
// does. A hidden disk (a multipath head's path) has no node and is
// skipped.
func (f *Finder) waitBlockUnder(ctx context.Context, p pcipath.Path, dir string, timeout time.Duration) (Node, error) {
	var node Node
	err := f.watcher.Wait(ctx, "disk of the storage function at PCI path "+p.String(), max(timeout, time.Millisecond), func() (bool, error) {
		entries, _ := filepath.Glob(filepath.Join(f.sysfs, "class", "block", "*"))
		for _, e := range entries {
			if !diskOf(e, dir) {
				continue
			}
			name := filepath.Base(e)
			n, ok, err := f.node(e, name, name)
			if err != nil || ok {
				node = n
				return ok, err
			}
		}
		return false, nil
	})
	return node, err
}

// diskOf says whether the block class entry e is a whole, visible disk of
// the PCI function in dir, directly or as its NVMe subsystem's.
func diskOf(e, dir string) bool {
	real, err := filepath.EvalSymlinks(e)
	if err != nil || exists(filepath.Join(real, "partition")) || readAttr(real, "hidden") == "1" {
		return false
	}
	under := func(p string) bool { return strings.HasPrefix(p, dir+string(filepath.Separator)) }
	if under(real) {
		return true
	}
	// A multipath head lives under its NVMe subsystem, which links to its
	// controllers (Linux 6.1 has no link from the head to its paths).
	subsys := filepath.Dir(real)
	if filepath.Base(filepath.Dir(subsys)) != "nvme-subsystem" {
		return false
	}
	ctrls, _ := filepath.Glob(filepath.Join(subsys, "nvme*"))
	for _, c := range ctrls {
		if r, err := filepath.EvalSymlinks(c); err == nil && r != real && under(r) {
			return true
		}
	}
	return false
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// describe names a function for a person: its address, ids and class.
func describe(dir string) string {
	id := func(name string) string { return strings.TrimPrefix(readAttr(dir, name), "0x") }
	return fmt.Sprintf("%s (%s:%s, class %s)", pcipath.BDF(dir), id("vendor"), id("device"), id("class"))
}

func readAttr(dir, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}
