package runtime

import (
	"errors"
	"fmt"
	"os"
)

// Check looks at the host files the plan names, so that a missing one is
// reported by name before anything starts: the QEMU and virtiofsd binaries,
// the guest kernel and initramfs, and every share's directory. BootVM calls
// it first.
func (p VMPlan) Check() error {
	errs := []error{
		checkExecutable("hypervisor.path", p.QEMU.Binary),
		checkGuestFile("guest kernel", p.QEMU.Kernel.Path),
	}
	if p.QEMU.Kernel.Initrd != "" {
		errs = append(errs, checkGuestFile("guest initramfs", p.QEMU.Kernel.Initrd))
	}
	if len(p.Virtiofsd) > 0 {
		errs = append(errs, checkExecutable("shared_fs.virtiofsd_path", p.Virtiofsd[0].Binary))
	}
	for _, s := range p.Shares {
		errs = append(errs, checkHostDir(s))
	}
	return errors.Join(errs...)
}

func checkGuestFile(what, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%w: %s: %w (try: kite guest build)", ErrHost, what, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%w: %s %s is not a regular file", ErrHost, what, path)
	}
	return nil
}

func checkExecutable(what, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrHost, what, err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%w: %s %s is not an executable file", ErrHost, what, path)
	}
	return nil
}
