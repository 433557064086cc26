// Package nldump retries netlink dumps the kernel interrupted.
package nldump

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
)

// attempts bounds the dumps of one Retry.
const attempts = 10

// Retry runs a netlink dump again while the kernel reports it interrupted
// (NLM_F_DUMP_INTR, netlink.ErrDumpInterrupted: the table changed during
// the dump, as when the kernel adds an IPv6 link-local address to a link
// coming up), so that no caller acts on an inconsistent list. Any other
// error ends it at once.
func Retry[T any](dump func() (T, error)) (T, error) {
	var v T
	var err error
	for range attempts {
		v, err = dump()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	return v, fmt.Errorf("%w (%d dumps in a row)", err, attempts)
}
