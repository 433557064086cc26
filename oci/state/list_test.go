package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestList(t *testing.T) {
	s := Store{Root: t.TempDir()}
	for _, id := range []string{"zeta", "alpha", "mid"} { // written out of order
		h, err := s.Create(id)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Write(sampleState(id)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Create("half"); err != nil { // a create in progress
		t.Fatal(err)
	}
	corrupt, err := s.Create("corrupt")
	if err != nil {
		t.Fatal(err)
	}
	corruptPath := filepath.Join(corrupt.Dir(), stateName)
	if err := os.WriteFile(corruptPath, []byte(`{"id": "corrupt", "status": `), 0o600); err != nil {
		t.Fatal(err)
	}
	// Strangers in the root are not containers.
	if err := os.WriteFile(filepath.Join(s.Root, "notes.txt"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(s.Root, "not an id"), 0o700); err != nil {
		t.Fatal(err)
	}

	states, err := s.List()
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), corruptPath) {
		t.Errorf("List error = %v, want ErrCorrupt naming %s", err, corruptPath)
	}
	var ids []string
	for _, st := range states {
		ids = append(ids, st.ID)
	}
	if diff := cmp.Diff([]string{"alpha", "mid", "zeta"}, ids); diff != "" {
		t.Errorf("listed ids (-want +got):\n%s", diff)
	}
	if len(states) > 0 {
		if diff := cmp.Diff(sampleState("alpha"), states[0]); diff != "" {
			t.Errorf("listed state differs (-want +got):\n%s", diff)
		}
	}
}

func TestListEmptyOrMissingRoot(t *testing.T) {
	for _, root := range []string{t.TempDir(), filepath.Join(t.TempDir(), "absent")} {
		states, err := Store{Root: root}.List()
		if err != nil || len(states) != 0 {
			t.Errorf("List(%s) = %v, %v; want nothing", root, states, err)
		}
	}
}

func TestReadCorrupt(t *testing.T) {
	s := Store{Root: t.TempDir()}
	tests := []struct {
		name, content, want string
	}{
		{"not json", "garbage", "invalid character"},
		{"other id", `{"id": "other", "status": "running"}`, `holds container "other"`},
		{"bad status", `{"id": "c1", "status": "zombie"}`, `unknown status "zombie"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := s.Create("c1")
			if err != nil {
				t.Fatal(err)
			}
			defer h.Remove()
			if err := os.WriteFile(filepath.Join(h.Dir(), stateName), []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err = h.Read()
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), h.Dir()) {
				t.Errorf("Read: %v, want ErrCorrupt naming the file and saying %q", err, tt.want)
			}
		})
	}
}
