package kernel

import (
	"strings"
	"testing"
)

func TestMakeProgressCountsSteps(t *testing.T) {
	var reports []string
	p := newMakeProgress("/w/obj/", func(s string) { reports = append(reports, s) })
	p.Write([]byte("  CC      kernel/fork.o\n  CC      kernel/ex"))
	p.Write([]byte("it.o\nmake[2]: Entering directory '/x'\n  AR      kernel/built-in.a\n  LD [M]  /w/obj/fs/x.ko\n"))
	p.stop()
	if got := p.String(); !strings.HasPrefix(got, "4 steps in ") || !strings.HasSuffix(got, "now fs/x.ko") {
		t.Errorf("progress = %q, want 4 steps ending at fs/x.ko", got)
	}
}
