package devices

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/kite-vm/kite/agent/server/pcipath"
)

// WaitFS waits for the virtio-fs or 9p device at p to have its virtio
// driver bound: the driver registers the mount tag when it probes, and a
// mount of a tag not registered yet fails with EINVAL, which a hot-plugged
// share would otherwise race.
func (f *Finder) WaitFS(ctx context.Context, p pcipath.Path, timeout time.Duration) error {
	return f.watcher.Wait(ctx, "share device at PCI path "+p.String(), timeout, func() (bool, error) {
		dir, err := pcipath.Resolve(f.sysfs, p)
		if errors.Is(err, pcipath.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		virtio, ok := child(dir, "")
		if !ok {
			return false, nil
		}
		_, err = os.Stat(filepath.Join(dir, virtio, "driver"))
		return err == nil, nil
	})
}
