package seccomptest

import (
	"encoding/binary"
	"testing"

	"github.com/kite-vm/kite/agent/server/seccomp"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// run runs f over a call in x/net/bpf's interpreter, each 32-bit word of
// seccomp_data big-endian since the interpreter loads in network order.
func run(t *testing.T, f seccomp.Filter, arch, nr uint32, args ...uint64) uint32 {
	t.Helper()
	raw := make([]bpf.RawInstruction, len(f.Program))
	for i, s := range f.Program {
		raw[i] = bpf.RawInstruction{Op: s.Code, Jt: s.Jt, Jf: s.Jf, K: s.K}
	}
	ins, _ := bpf.Disassemble(raw)
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	binary.BigEndian.PutUint32(buf[0:], nr)
	binary.BigEndian.PutUint32(buf[4:], arch)
	for i, a := range args {
		binary.BigEndian.PutUint32(buf[16+8*i:], uint32(a))
		binary.BigEndian.PutUint32(buf[20+8*i:], uint32(a>>32))
	}
	out, err := vm.Run(buf)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(out)
}

// The Docker default profile compiles within the kernel's limit and does
// what it says for the calls containers care about.
func TestDockerDefault(t *testing.T) {
	f, skipped, err := seccomp.Compile(DockerDefault(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d instructions; names the tables lack: %v", len(f.Program), skipped)
	const x64 = unix.AUDIT_ARCH_X86_64
	allow := uint32(unix.SECCOMP_RET_ALLOW)
	eperm := uint32(unix.SECCOMP_RET_ERRNO | unix.EPERM)
	for _, c := range []struct {
		what string
		nr   uint32
		args []uint64
		want uint32
	}{
		{"read", unix.SYS_READ, nil, allow},
		{"execve", unix.SYS_EXECVE, nil, allow},
		{"mkdir", unix.SYS_MKDIR, nil, allow},
		{"mount without CAP_SYS_ADMIN", unix.SYS_MOUNT, nil, eperm},
		{"reboot", unix.SYS_REBOOT, nil, eperm},
		{"clone of a thread", unix.SYS_CLONE, []uint64{unix.CLONE_VM | unix.CLONE_THREAD}, allow},
		{"clone into a new user namespace", unix.SYS_CLONE, []uint64{unix.CLONE_NEWUSER}, eperm},
		{"clone3 (ENOSYS, so that libc falls back to clone)", unix.SYS_CLONE3, nil, unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
		{"personality(PER_LINUX)", unix.SYS_PERSONALITY, []uint64{0}, allow},
		{"personality(other)", unix.SYS_PERSONALITY, []uint64{0x1234}, eperm},
		{"socket(AF_INET)", unix.SYS_SOCKET, []uint64{unix.AF_INET}, allow},
		{"socket(AF_VSOCK)", unix.SYS_SOCKET, []uint64{unix.AF_VSOCK}, eperm},
	} {
		if got := run(t, f, x64, c.nr, c.args...); got != c.want {
			t.Errorf("%s: %#x, want %#x", c.what, got, c.want)
		}
	}
	// i386: getpid is 20 there.
	if got := run(t, f, unix.AUDIT_ARCH_I386, 20); got != allow {
		t.Errorf("i386 getpid: %#x, want allow", got)
	}
}

// BenchmarkCompileDockerDefault is what the agent spends per container
// created with Docker's default profile.
func BenchmarkCompileDockerDefault(b *testing.B) {
	p := DockerDefault(b)
	var n int
	for b.Loop() {
		f, _, err := seccomp.Compile(p)
		if err != nil {
			b.Fatal(err)
		}
		n = len(f.Program)
	}
	b.ReportMetric(float64(n), "instructions")
}
