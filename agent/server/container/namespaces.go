package container

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// nsKind is a kind of namespace a stage joins.
type nsKind int

const (
	nsMount nsKind = iota
	nsPID
	nsUTS
	nsIPC
	nsCgroup
)

// procName is the kind's file name under /proc/<pid>/ns.
func (k nsKind) procName() string {
	switch k {
	case nsMount:
		return "mnt"
	case nsPID:
		return "pid"
	case nsUTS:
		return "uts"
	case nsIPC:
		return "ipc"
	default:
		return "cgroup"
	}
}

// cloneFlag is the kind's CLONE_NEW* flag, for clone, unshare and setns.
func (k nsKind) cloneFlag() int {
	switch k {
	case nsMount:
		return unix.CLONE_NEWNS
	case nsPID:
		return unix.CLONE_NEWPID
	case nsUTS:
		return unix.CLONE_NEWUTS
	case nsIPC:
		return unix.CLONE_NEWIPC
	default:
		return unix.CLONE_NEWCGROUP
	}
}

// nsID identifies a namespace: the device and inode of its nsfs file.
type nsID struct {
	dev, ino uint64
}

// namespaceOf returns the id of pid's namespace of kind k.
func namespaceOf(pid int, k nsKind) (nsID, error) {
	var st unix.Stat_t
	p := "/proc/" + strconv.Itoa(pid) + "/ns/" + k.procName()
	if err := unix.Stat(p, &st); err != nil {
		return nsID{}, fmt.Errorf("stat %s: %w", p, err)
	}
	return nsID{dev: st.Dev, ino: st.Ino}, nil
}

// openNamespace opens pid's namespace of kind k, for setns.
func openNamespace(pid int, k nsKind) (*os.File, error) {
	return os.Open("/proc/" + strconv.Itoa(pid) + "/ns/" + k.procName())
}

// signalNamespaceMembers sends sig to every live process of the guest whose
// namespace of kind k is ns, and returns how many it signalled. Each process
// is pinned by a pidfd before its namespace is checked, so a reused pid is
// never signalled by mistake. Zombies have left their namespaces already and
// are not counted.
func signalNamespaceMembers(k nsKind, ns nsID, sig syscall.Signal) (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("listing processes: %w", err)
	}
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ok, err := signalIfMember(pid, k, ns, sig)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

func signalIfMember(pid int, k nsKind, ns nsID, sig syscall.Signal) (bool, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return false, nil // gone already
	}
	defer unix.Close(fd)
	if got, err := namespaceOf(pid, k); err != nil || got != ns {
		return false, nil
	}
	err = unix.PidfdSendSignal(fd, sig, nil, 0)
	if errors.Is(err, unix.ESRCH) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("signalling process %d: %w", pid, err)
	}
	return true, nil
}
