package cleanup

import (
	"context"
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

func TestCleanCtxAndPush(t *testing.T) {
	type key struct{}
	var order []string
	var inner, outer Stack
	outer.Add("first", func() error { order = append(order, "first"); return nil })
	inner.AddCtx("a", func(ctx context.Context) error {
		order = append(order, "a:"+ctx.Value(key{}).(string))
		return nil
	})
	inner.Add("b", func() error { order = append(order, "b"); return errors.New("b failed") })
	outer.Push("inner", &inner)
	outer.Add("last", func() error { order = append(order, "last"); return nil })
	if inner.Len() != 0 {
		t.Errorf("Push left %d steps in the inner stack", inner.Len())
	}
	err := outer.CleanCtx(context.WithValue(context.Background(), key{}, "ctx"))
	if diff := cmp.Diff([]string{"last", "b", "a:ctx", "first"}, order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if err == nil || !strings.Contains(err.Error(), "undo inner: undo b: b failed") {
		t.Errorf("CleanCtx error = %v, want the inner step's failure named", err)
	}
}
