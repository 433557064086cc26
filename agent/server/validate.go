package server

import (
	"fmt"
	"regexp"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
)

// idRE is the protocol's id syntax.
var idRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// checkID validates a host-chosen id of the given kind ("container", ...).
func checkID(kind, id string) error {
	if !idRE.MatchString(id) || id == "." || id == ".." {
		return fmt.Errorf("%w: %s id %q: want 1-128 of [A-Za-z0-9_.-]", ErrInvalid, kind, id)
	}
	return nil
}

// maxTimeout bounds a host-given timeout, so a typo cannot park an RPC for
// days.
const maxTimeout = 10 * time.Minute

// timeout returns d as a duration (at most maxTimeout), or def when unset.
func timeout(d *durationpb.Duration, def time.Duration) (time.Duration, error) {
	if d == nil {
		return def, nil
	}
	if err := d.CheckValid(); err != nil || d.AsDuration() <= 0 {
		return 0, fmt.Errorf("%w: timeout %v", ErrInvalid, d.AsDuration())
	}
	return min(d.AsDuration(), maxTimeout), nil
}
