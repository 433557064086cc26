package sandbox

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/spec"
)

// The pod's functions a later container gets are the pod's requests less
// what the first container named itself; a claim skips those it holds.
func TestPodFunctionsAndHeld(t *testing.T) {
	pod := []devicemgr.ExactRequest{
		{Source: "PodResources app a", BDFs: []string{"0000:3b:02.2", "0000:3b:02.3"}},
		{Source: "PodResources app b", BDFs: []string{"0000:3b:02.4"}},
	}
	first := &spec.Container{ID: "pause", Process: &spec.Process{Env: []string{"PCIDEVICE_X=0000:3b:02.4"}}}
	got := podFunctions(pod, first)
	want := map[string]bool{"0000:3b:02.2": true, "0000:3b:02.3": true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("podFunctions (-want +got):\n%s", diff)
	}
	reqs := withoutHeld(append(pod, devicemgr.ExactRequest{Source: "PCIDEVICE_Y", BDFs: []string{"0000:3b:02.2"}}), got)
	wantReqs := []devicemgr.ExactRequest{{Source: "PodResources app b", BDFs: []string{"0000:3b:02.4"}}}
	if diff := cmp.Diff(wantReqs, reqs); diff != "" {
		t.Errorf("withoutHeld (-want +got):\n%s", diff)
	}
	if got := podFunctions(nil, first); len(got) != 0 {
		t.Errorf("no pod requests: %v", got)
	}
}
