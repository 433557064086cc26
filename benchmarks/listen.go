package benchmarks

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// soAcceptCon is the "listening" bit of /proc/net/unix's Flags column
// (__SO_ACCEPTCON).
const soAcceptCon = 1 << 16

// waitListening waits until a unix socket at path accepts connections. A
// socket file exists from bind(2) on, a moment before listen(2): a client
// connecting in between is refused. Probing by connecting is no option for
// virtiofsd, which serves the first client only, so this reads the kernel's
// table of unix sockets instead.
func waitListening(ctx context.Context, procRoot, path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := listening(procRoot, path)
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("socket %s is not listening after %s", path, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func listening(procRoot, path string) (bool, error) {
	b, err := os.ReadFile(procRoot + "/net/unix")
	if err != nil {
		return false, err
	}
	return unixListening(string(b), path), nil
}

// unixListening reports whether /proc/net/unix text lists path with the
// listening flag.
func unixListening(table, path string) bool {
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		// Num RefCount Protocol Flags Type St Inode Path
		if len(f) < 8 || f[7] != path {
			continue
		}
		flags, err := strconv.ParseUint(f[3], 16, 32)
		if err == nil && flags&soAcceptCon != 0 {
			return true
		}
	}
	return false
}
