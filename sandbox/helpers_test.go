package sandbox_test

import (
	"strconv"

	"golang.org/x/sys/unix"
)

func itoa(i int) string { return strconv.Itoa(i) }

func unmount(p string) { unix.Unmount(p, unix.MNT_DETACH) }
