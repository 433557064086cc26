package spec

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Real-time signals as the C library numbers them: glibc and musl keep 32
// and 33 for their threads, so SIGRTMIN is 34 to every program.
const (
	sigRTMin = 34
	sigRTMax = 64
)

// signalAliases are the other names the C library accepts.
var signalAliases = map[string]syscall.Signal{
	"IOT": unix.SIGABRT, "CLD": unix.SIGCHLD, "POLL": unix.SIGIO,
}

// ParseSignal reads a `kite kill` signal the way runc does: a name with or
// without "SIG" in any case ("TERM", "SIGTERM", "sigterm"), a real-time
// signal ("RTMIN", "RTMIN+3", "RTMAX-1"), or a number from 1 to 64.
func ParseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > sigRTMax {
			return 0, signalError(s)
		}
		return syscall.Signal(n), nil
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if sig := unix.SignalNum("SIG" + name); sig != 0 {
		return sig, nil
	}
	if sig, ok := signalAliases[name]; ok {
		return sig, nil
	}
	if sig, ok := realtimeSignal(name); ok {
		return sig, nil
	}
	return 0, signalError(s)
}

// realtimeSignal reads RTMIN, RTMIN+n, RTMAX and RTMAX-n.
func realtimeSignal(name string) (syscall.Signal, bool) {
	for _, rt := range []struct {
		prefix string
		base   int
		sign   string
	}{{"RTMIN", sigRTMin, "+"}, {"RTMAX", sigRTMax, "-"}} {
		rest, ok := strings.CutPrefix(name, rt.prefix)
		if !ok {
			continue
		}
		if rest == "" {
			return syscall.Signal(rt.base), true
		}
		off, ok := strings.CutPrefix(rest, rt.sign)
		n, err := strconv.Atoi(off)
		if !ok || err != nil || n < 0 || n > sigRTMax-sigRTMin {
			return 0, false
		}
		if rt.sign == "-" {
			n = -n
		}
		return syscall.Signal(rt.base + n), true
	}
	return 0, false
}

func signalError(s string) error {
	return fmt.Errorf("%w %q: want a name like TERM or a number 1-%d", ErrInvalidSignal, s, sigRTMax)
}
