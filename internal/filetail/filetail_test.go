package filetail

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRead(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(p, []byte("old run\nnew run: boom\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		start int64
		n     int
		want  string
	}{
		{0, 5, "boom\n"},
		{8, 100, "new run: boom\n"}, // only what came after start
		{22, 100, ""},               // nothing new
		{0, 100, "old run\nnew run: boom\n"},
	} {
		if got := Read(p, tc.start, tc.n); got != tc.want {
			t.Errorf("Read(start=%d, n=%d) = %q, want %q", tc.start, tc.n, got, tc.want)
		}
	}
	if got := Read(filepath.Join(t.TempDir(), "missing"), 0, 10); got != "" {
		t.Errorf("Read(missing) = %q", got)
	}
}

func TestLastLines(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"a\n\n b \nc\nd\n", 3, "b | c | d"},
		{"only\n", 3, "only"},
		{"\n \n", 2, ""},
	} {
		if got := LastLines(tc.s, tc.n); got != tc.want {
			t.Errorf("LastLines(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}
