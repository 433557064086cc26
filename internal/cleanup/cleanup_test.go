package cleanup

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCleanRunsInReverseAndJoinsErrors(t *testing.T) {
	var order []string
	var s Stack
	s.Add("a", func() error { order = append(order, "a"); return nil })
	s.Add("b", func() error { order = append(order, "b"); return errors.New("boom") })
	s.Add("c", func() error { order = append(order, "c"); return nil })

	err := s.Clean()
	if diff := cmp.Diff([]string{"c", "b", "a"}, order); diff != "" {
		t.Errorf("undo order (-want +got):\n%s", diff)
	}
	if err == nil || !strings.Contains(err.Error(), "undo b: boom") {
		t.Errorf("Clean() error = %v, want it to name step b", err)
	}
	if s.Len() != 0 {
		t.Errorf("Len() after Clean = %d, want 0", s.Len())
	}
	if err := s.Clean(); err != nil {
		t.Errorf("second Clean() = %v, want nil", err)
	}
}

func TestReleaseKeepsEffects(t *testing.T) {
	ran := false
	var s Stack
	s.Add("x", func() error { ran = true; return nil })
	kept := s.Release()
	if err := s.Clean(); err != nil || ran {
		t.Fatalf("Clean after Release ran an undo (ran=%v, err=%v)", ran, err)
	}
	if err := kept.Clean(); err != nil || !ran {
		t.Fatalf("kept.Clean() did not run the released step (ran=%v, err=%v)", ran, err)
	}
}
