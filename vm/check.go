package vm

import (
	"errors"
	"fmt"
	"os"
)

// Check looks at the host files the plan names, so that a missing one is
// reported by name before anything starts: the QEMU binary and the guest
// kernel and initramfs. (Each attachment checks its own files, a share's
// directory or virtiofsd's binary, before it does anything.) Boot calls it
// first.
func (p Plan) Check() error {
	errs := []error{
		CheckExecutable("hypervisor.path", p.QEMU.Binary),
		checkGuestFile("guest kernel", p.QEMU.Kernel.Path),
	}
	if p.QEMU.Kernel.Initrd != "" {
		errs = append(errs, checkGuestFile("guest initramfs", p.QEMU.Kernel.Initrd))
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

// CheckExecutable reports, naming the knob, a path that is not an
// executable file.
func CheckExecutable(what, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrHost, what, err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%w: %s %s is not an executable file", ErrHost, what, path)
	}
	return nil
}
