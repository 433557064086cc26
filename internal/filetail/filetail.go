// Package filetail reads the end of log files for error reports (QEMU's
// output, the guest console, virtiofsd's log).
package filetail

import (
	"io"
	"os"
	"strings"
)

// Read returns the last n bytes of path written after offset start (the size
// the file had when the process of interest started). Errors give "": a tail
// only decorates another error.
func Read(path string, start int64, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	from := max(start, st.Size()-int64(n))
	if from >= st.Size() {
		return ""
	}
	b, err := io.ReadAll(io.NewSectionReader(f, from, st.Size()-from))
	if err != nil {
		return ""
	}
	return string(b)
}

// LastLines joins the last n non-empty lines of s (a tail Read returned)
// with " | ", for a one-line error.
func LastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
