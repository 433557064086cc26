package sandbox

import (
	"log/slog"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/spec"
)

// applySeccompPolicy drops the container's seccomp profile when the
// configuration ignores seccomp (runtime.seccomp = "ignore"), and logs it
// at warning level: the container then runs without the filter its spec
// asks for, with the VM as its only boundary.
func applySeccompPolicy(log *slog.Logger, mode configs.SeccompMode, c *spec.Container) {
	if c.Seccomp == nil || mode != configs.SeccompIgnore {
		return
	}
	c.Seccomp = nil
	if log != nil {
		log.Warn("seccomp profile not enforced (runtime.seccomp = \"ignore\")", "container", c.ID)
	}
}
