package qemu

import "github.com/kite-vm/kite/internal/filetail"

// LogTail returns up to the last n bytes QEMU wrote to its log in this run.
func (p *Process) LogTail(n int) string { return filetail.Read(p.logPath, p.logStart, n) }

// ConsoleTail returns up to the last n bytes of the guest console log (its
// older generation included), for error reports; "" without a console
// log. Once QEMU has exited the log holds everything QEMU wrote.
func (p *Process) ConsoleTail(n int) string {
	if p.cmdline.ConsoleLog == "" {
		return ""
	}
	return consoleTail(p.cmdline.ConsoleLog, n)
}
