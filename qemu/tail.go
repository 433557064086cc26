package qemu

import (
	"io"
	"os"
)

// LogTail returns up to the last n bytes QEMU wrote to its log in this run.
func (p *Process) LogTail(n int) string { return tailFile(p.logPath, p.logStart, n) }

// ConsoleTail returns up to the last n bytes of the guest console log, for
// error reports; "" without a console log.
func (p *Process) ConsoleTail(n int) string {
	if p.cmdline.ConsoleLog == "" {
		return ""
	}
	return tailFile(p.cmdline.ConsoleLog, 0, n)
}

// tailFile reads the last n bytes of path after offset start. Errors give ""
// because tails only decorate other errors.
func tailFile(path string, start int64, n int) string {
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
