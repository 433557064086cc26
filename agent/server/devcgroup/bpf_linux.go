package devcgroup

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// progName names the program in bpftool's listings (15 bytes at most).
const progName = "kite_devices"

// license is the program's license string: it calls no helper, so any
// will do.
const license = "Apache-2.0"

// Filter is a device program attached to one cgroup.
type Filter struct {
	cgroup string

	mu   sync.Mutex
	prog *os.File // the attached program; guarded by mu, nil once closed
}

// Attach loads the program for t and attaches it to the cgroup directory
// dir. It is attached with BPF_F_ALLOW_MULTI, as runc attaches its own, so
// that a container's nested runtime can add programs below it, which can
// only deny more.
func Attach(dir string, t Table) (*Filter, error) {
	prog, err := load(Program(t, Reserved))
	if err != nil {
		return nil, fmt.Errorf("loading the device filter of %s: %w", dir, err)
	}
	if err := attach(dir, prog, nil); err != nil {
		prog.Close()
		return nil, fmt.Errorf("attaching the device filter to %s: %w", dir, err)
	}
	return &Filter{cgroup: dir, prog: prog}, nil
}

// Replace swaps the attached program for one deciding as t does, in one
// system call (BPF_F_REPLACE): the cgroup is never without a filter.
func (f *Filter) Replace(t Table) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.prog == nil {
		return fmt.Errorf("replacing the device filter of %s: %w", f.cgroup, os.ErrClosed)
	}
	prog, err := load(Program(t, Reserved))
	if err != nil {
		return fmt.Errorf("loading the device filter of %s: %w", f.cgroup, err)
	}
	if err := attach(f.cgroup, prog, f.prog); err != nil {
		prog.Close()
		return fmt.Errorf("replacing the device filter of %s: %w", f.cgroup, err)
	}
	f.prog.Close()
	f.prog = prog
	return nil
}

// Close drops the agent's hold on the program. The cgroup keeps it
// attached until the cgroup is removed.
func (f *Filter) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.prog == nil {
		return nil
	}
	err := f.prog.Close()
	f.prog = nil
	return err
}

// progLoadAttr is the head of union bpf_attr for BPF_PROG_LOAD, up to
// expected_attach_type; the kernel takes a shorter attr as zeros beyond.
type progLoadAttr struct {
	progType           uint32
	insnCnt            uint32
	insns              uint64
	license            uint64
	logLevel           uint32
	logSize            uint32
	logBuf             uint64
	kernVersion        uint32
	progFlags          uint32
	progName           [unix.BPF_OBJ_NAME_LEN]byte
	progIfindex        uint32
	expectedAttachType uint32
}

// attachAttr is union bpf_attr for BPF_PROG_ATTACH.
type attachAttr struct {
	targetFD     uint32
	attachBPFFD  uint32
	attachType   uint32
	attachFlags  uint32
	replaceBPFFD uint32
}

// verifierLogSize bounds the verifier's report on a refused program.
const verifierLogSize = 64 << 10

// load loads insns as a cgroup device program. When the kernel refuses it,
// the load is retried with the verifier's log, which goes into the error.
func load(insns []Insn) (*os.File, error) {
	code := Marshal(insns)
	lic := []byte(license + "\x00")
	attr := progLoadAttr{
		progType: unix.BPF_PROG_TYPE_CGROUP_DEVICE,
		insnCnt:  uint32(len(insns)),
		insns:    uint64(uintptr(unsafe.Pointer(&code[0]))),
		license:  uint64(uintptr(unsafe.Pointer(&lic[0]))),
	}
	copy(attr.progName[:], progName)
	fd, err := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil {
		log := make([]byte, verifierLogSize)
		attr.logLevel, attr.logSize = 1, uint32(len(log))
		attr.logBuf = uint64(uintptr(unsafe.Pointer(&log[0])))
		if _, err2 := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err2 != nil {
			if n := bytes.IndexByte(log, 0); n > 0 {
				err = fmt.Errorf("%w; verifier: %s", err, bytes.TrimSpace(log[:n]))
			}
		}
		runtime.KeepAlive(log)
	}
	runtime.KeepAlive(code)
	runtime.KeepAlive(lic)
	if err != nil {
		return nil, fmt.Errorf("BPF_PROG_LOAD: %w", err)
	}
	return os.NewFile(uintptr(fd), "bpf-prog:"+progName), nil
}

// attach attaches prog to the cgroup dir, replacing old when it is set.
func attach(dir string, prog, old *os.File) error {
	cg, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer cg.Close()
	attr := attachAttr{
		targetFD:    uint32(cg.Fd()),
		attachBPFFD: uint32(prog.Fd()),
		attachType:  unix.BPF_CGROUP_DEVICE,
		attachFlags: unix.BPF_F_ALLOW_MULTI,
	}
	if old != nil {
		attr.attachFlags |= unix.BPF_F_REPLACE
		attr.replaceBPFFD = uint32(old.Fd())
	}
	_, err = bpf(unix.BPF_PROG_ATTACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(cg)
	runtime.KeepAlive(prog)
	runtime.KeepAlive(old)
	if err != nil {
		return fmt.Errorf("BPF_PROG_ATTACH: %w", err)
	}
	return nil
}

// bpf makes one bpf(2) call; an interrupted one is retried a few times
// (a program load answers EAGAIN when a signal cut the verifier short).
func bpf(cmd int, attr unsafe.Pointer, size uintptr) (int, error) {
	for try := 0; ; try++ {
		r, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
		switch {
		case errno == 0:
			return int(r), nil
		case (errno == unix.EINTR || errno == unix.EAGAIN) && try < 5:
			continue
		}
		return -1, errno
	}
}
