package vfio

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/kite-vm/kite/internal/cleanup"
)

// VFCount is the VF state SetNumVFs asks of a PF.
type VFCount struct {
	NumVFs int
	// DriversAutoprobe lets host drivers bind the new VFs as they appear.
	// Kite normally leaves it off: its VFs go to vfio-pci, not to the host.
	DriversAutoprobe bool
}

// SetNumVFs sets the number of VFs of the PF pf. The kernel refuses to change
// between two non-zero counts (EBUSY), so such a change goes through 0; a
// failure after that puts the old count back. sriov_drivers_autoprobe is
// written before VFs are created, since it only acts on VFs as they appear.
func SetNumVFs(k Kernel, sysfsRoot, pf string, want VFCount) error {
	dir, err := deviceDir(sysfsRoot, pf)
	if err != nil {
		return err
	}
	total, cur, err := readVFCounts(dir, pf)
	if err != nil {
		return err
	}
	if want.NumVFs < 0 || want.NumVFs > total {
		return fmt.Errorf("setting %d VFs on %s: %w (%d, from %s)",
			want.NumVFs, pf, ErrTooManyVFs, total, filepath.Join(dir, "sriov_totalvfs"))
	}
	if want.NumVFs == cur {
		return nil
	}
	if err := setNumVFs(k, dir, cur, want); err != nil {
		return fmt.Errorf("setting %d VFs on %s: %w", want.NumVFs, pf, err)
	}
	return nil
}

func readVFCounts(dir, pf string) (total, cur int, err error) {
	totalPath := filepath.Join(dir, "sriov_totalvfs")
	if _, err := os.Stat(totalPath); errors.Is(err, os.ErrNotExist) {
		return 0, 0, fmt.Errorf("%s: %w (no %s)", pf, ErrNotSRIOV, totalPath)
	}
	if total, err = readInt(totalPath); err != nil {
		return 0, 0, err
	}
	if cur, err = readInt(filepath.Join(dir, "sriov_numvfs")); err != nil {
		return 0, 0, err
	}
	return total, cur, nil
}

func setNumVFs(k Kernel, dir string, cur int, want VFCount) (err error) {
	numPath := filepath.Join(dir, "sriov_numvfs")
	var cu cleanup.Stack
	defer func() {
		if err != nil {
			if cerr := cu.Clean(); cerr != nil {
				err = fmt.Errorf("%w (and rolling back: %v)", err, cerr)
			}
		}
	}()
	if cur != 0 {
		if err := k.WriteAttr(numPath, "0"); err != nil {
			return err
		}
		cu.Add("sriov_numvfs 0", func() error { return k.WriteAttr(numPath, strconv.Itoa(cur)) })
	}
	if want.NumVFs == 0 {
		return nil
	}
	if err := setAutoprobe(k, dir, want.DriversAutoprobe, &cu); err != nil {
		return err
	}
	if err := k.WriteAttr(numPath, strconv.Itoa(want.NumVFs)); err != nil {
		return err
	}
	got, err := readInt(numPath)
	if err != nil {
		return err
	}
	if got != want.NumVFs {
		return fmt.Errorf("%s reads %d after writing %d", numPath, got, want.NumVFs)
	}
	return nil
}

func setAutoprobe(k Kernel, dir string, on bool, cu *cleanup.Stack) error {
	path := filepath.Join(dir, "sriov_drivers_autoprobe")
	old, err := readInt(path)
	if err != nil {
		return err
	}
	want := 0
	if on {
		want = 1
	}
	if old == want {
		return nil
	}
	if err := k.WriteAttr(path, strconv.Itoa(want)); err != nil {
		return err
	}
	cu.Add("sriov_drivers_autoprobe", func() error { return k.WriteAttr(path, strconv.Itoa(old)) })
	return nil
}

func readInt(path string) (int, error) {
	s, err := readAttr(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("reading %s: %q is not a decimal number", path, s)
	}
	return n, nil
}
