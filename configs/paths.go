package configs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// CheckBinaries checks that the programs Kite starts exist and are
// executable: hypervisor.path, and shared_fs.virtiofsd_path when
// shared_fs.driver is "virtio-fs". Load calls it.
func (c *Config) CheckBinaries() error {
	errs := []error{checkFile("hypervisor.path", c.Hypervisor.Path, true,
		`install Debian's qemu-system-x86 or set hypervisor.path`)}
	if c.SharedFS.Driver == FSVirtioFS {
		errs = append(errs, checkFile("shared_fs.virtiofsd_path", c.SharedFS.VirtiofsdPath, true,
			`install Debian's qemu-system-common, set shared_fs.virtiofsd_path, or use shared_fs.driver = "virtio-9p"`))
	}
	return errors.Join(errs...)
}

// CheckGuestFiles checks that the guest files a sandbox boots from are
// readable regular files: the kernel, and the initramfs or (image_type
// "nvdimm") the root image. `kite guest build` writes them, so it does not
// call this, but everything that starts a VM should.
func (c *Config) CheckGuestFiles() error {
	const hint = "run `kite guest build`"
	g := c.Guest
	errs := []error{checkFile("guest.kernel", g.KernelPath(), false, hint)}
	if g.ImageType == ImageNVDIMM {
		errs = append(errs, checkFile("guest.image", g.ImagePath(), false, hint))
	} else {
		errs = append(errs, checkFile("guest.initrd", g.InitrdPath(), false, hint))
	}
	return errors.Join(errs...)
}

// checkFile checks that p is a regular file that this process can read, or
// execute when exec is set.
func checkFile(key, p string, exec bool, hint string) error {
	fi, err := os.Stat(p)
	var problem string
	switch {
	case errors.Is(err, fs.ErrNotExist):
		problem = "does not exist"
	case err != nil:
		problem = err.Error()
	case !fi.Mode().IsRegular():
		problem = fmt.Sprintf("is not a regular file (%s)", fi.Mode().Type())
	case exec && unix.Access(p, unix.X_OK) != nil:
		problem = fmt.Sprintf("is not executable (mode %s)", fi.Mode().Perm())
	case !exec && unix.Access(p, unix.R_OK) != nil:
		problem = fmt.Sprintf("is not readable (mode %s)", fi.Mode().Perm())
	default:
		return nil
	}
	return keyError(key, ErrPath, " %q: %s: %s", p, problem, hint)
}
