package qemu

import "github.com/kite-vm/kite/internal/filetail"

// LogTail returns up to the last n bytes QEMU wrote to its log in this run.
func (p *Process) LogTail(n int) string { return filetail.Read(p.logPath, p.logStart, n) }

// ConsoleTail returns up to the last n bytes of the guest console log, for
// error reports; "" without a console log.
func (p *Process) ConsoleTail(n int) string {
	if p.cmdline.ConsoleLog == "" {
		return ""
	}
	return filetail.Read(p.cmdline.ConsoleLog, 0, n)
}
