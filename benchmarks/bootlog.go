package benchmarks

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// initLine is the guest kernel's log line as it runs the initramfs's init,
// with its timestamp (seconds since the kernel started).
var initLine = regexp.MustCompile(`(?m)^\[\s*(\d+\.\d+)\] Run \S+ as init process`)

// parseInitTime reads from the guest kernel's log (dmesg) when it ran
// /init.
func parseInitTime(dmesg string) (time.Duration, error) {
	m := initLine.FindStringSubmatch(dmesg)
	if m == nil {
		return 0, errors.New(`the guest kernel's log has no "Run /init as init process" line`)
	}
	s, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("reading the time of /init %q: %w", m[1], err)
	}
	return time.Duration(s * float64(time.Second)), nil
}

// Agent log messages (agent/server/run.go) that say how the boot modules
// went, at debug level.
const (
	modulesLoadedMsg = `msg="kernel modules loaded"`
	noModulesMsg     = `msg="no module list"`
)

// parseModuleLoading reads from the guest console how long the agent took
// to load the image's modules: the took= of its "kernel modules loaded"
// line; 0 for an image without a module list.
func parseModuleLoading(console string) (time.Duration, error) {
	for _, line := range strings.Split(console, "\n") {
		if strings.Contains(line, noModulesMsg) {
			return 0, nil
		}
		if !strings.Contains(line, modulesLoadedMsg) {
			continue
		}
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "took="); ok {
				d, err := time.ParseDuration(v)
				if err != nil {
					return 0, fmt.Errorf("reading the agent's module loading time %q: %w", v, err)
				}
				return d, nil
			}
		}
		return 0, fmt.Errorf("the agent's module line has no took=: %q", line)
	}
	return 0, errors.New("the guest console has no line of the agent's module loading (agent.log_level must be debug)")
}
