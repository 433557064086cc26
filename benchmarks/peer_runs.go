package benchmarks

import (
	"context"
	"errors"
	"fmt"
)

// PartialFailer is an optional ability of a Trial whose variants fail on
// their own: a variant that failed is left out of the later repeats while
// the others go on, and Failed, asked once the repeats are done, fails the
// benchmark with every other variant's figures kept.
type PartialFailer interface {
	Failed() error
}

// peerRuns runs a benchmark's measurement for each peer, each on its own
// (PartialFailer).
type peerRuns struct {
	peers  []*peer
	failed []error
	out    map[string]bool // peers left out after failing
}

// each runs f for each peer still in, starting with a different one each
// repeat. An interrupted run stops at once; when every peer has failed,
// there is nothing left to measure.
func (r *peerRuns) each(ctx context.Context, repeat int, f func(*peer) error) error {
	var live []*peer
	for _, p := range r.peers {
		if !r.out[p.name] {
			live = append(live, p)
		}
	}
	if len(live) == 0 {
		return r.Failed()
	}
	for _, p := range rotate(live, repeat) {
		err := f(p)
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return err
		}
		if r.out == nil {
			r.out = map[string]bool{}
		}
		r.out[p.name] = true
		r.failed = append(r.failed, fmt.Errorf("%s: %w", p.name, err))
	}
	return nil
}

// Failed implements PartialFailer.
func (r *peerRuns) Failed() error { return errors.Join(r.failed...) }

// drain stops every pooled peer's warm VMs.
func (r *peerRuns) drain(ctx context.Context) error {
	var errs []error
	for _, p := range r.peers {
		errs = append(errs, p.drain(ctx))
	}
	return errors.Join(errs...)
}
