package state

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kite-vm/kite/internal/atomicfile"
)

// While one handle rewrites the state over and over, alternating a small
// and a large one, a reader of state.json always sees one of them whole:
// never a missing, empty or truncated file.
func TestWriteIsAtomic(t *testing.T) {
	h, err := Store{Root: t.TempDir()}.Create("c1")
	if err != nil {
		t.Fatal(err)
	}
	small, large := sampleState("c1"), sampleState("c1")
	small.Annotations = map[string]string{"size": "small"}
	large.Annotations = map[string]string{"size": "large", "pad": strings.Repeat("x", 256<<10)}
	if err := h.Write(small); err != nil {
		t.Fatal(err)
	}
	var done atomic.Bool
	var wg sync.WaitGroup
	var reads, bad atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		path := filepath.Join(h.Dir(), stateName)
		for !done.Load() {
			data, err := os.ReadFile(path)
			var s State
			if err == nil {
				err = json.Unmarshal(data, &s)
			}
			reads.Add(1)
			if err != nil || (s.Annotations["size"] != "small" && len(s.Annotations["pad"]) != 256<<10) {
				bad.Add(1)
			}
		}
	}()
	for i := range 200 {
		s := small
		if i%2 == 0 {
			s = large
		}
		if err := h.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	done.Store(true)
	wg.Wait()
	if bad.Load() > 0 {
		t.Errorf("%d of %d reads saw a partial or missing state", bad.Load(), reads.Load())
	}
	t.Logf("%d reads during 200 writes", reads.Load())
	if left, _ := filepath.Glob(filepath.Join(h.Dir(), atomicfile.TempPattern(stateName))); len(left) > 0 {
		t.Errorf("temporary files left behind: %q", left)
	}
}
