package container

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// setCredentials switches this thread to p's user and capabilities, in
// runc's order: drop the bounding set while CAP_SETPCAP is still
// effective; keep the permitted set across setuid (PR_SET_KEEPCAPS); set
// groups, gid, uid; then set the effective, permitted and inheritable sets
// and raise the ambient ones.
//
// Every call here is a raw per-thread syscall. Go's syscall.Setuid and
// friends change every thread of the process through AllThreadsSyscall,
// which is unnecessary (execve keeps only this thread) and unavailable in
// binaries built with cgo.
func setCredentials(p ProcessSpec) error {
	caps, err := p.Capabilities.masks()
	if err != nil {
		return stageErr("reading capabilities", err)
	}
	known := knownCapabilities()
	if err := dropBounding(caps.bounding, known); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return stageErr("setting keepcaps", err)
	}
	if err := setIDs(p); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return stageErr("clearing keepcaps", err)
	}
	return setCapSets(caps, known)
}

// knownCapabilities is the mask of capabilities the running kernel knows:
// a kernel older than the table rejects the newer numbers.
func knownCapabilities() uint64 {
	var m uint64
	for n := 0; n < 64; n++ {
		if _, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(n), 0, 0, 0); err != nil {
			break
		}
		m |= 1 << n
	}
	return m
}

func dropBounding(keep, known uint64) error {
	for n := 0; n < 64; n++ {
		if known&(1<<n) == 0 || keep&(1<<n) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(n), 0, 0, 0); err != nil {
			return stageErr(fmt.Sprintf("dropping capability %d from the bounding set", n), err)
		}
	}
	return nil
}

func setIDs(p ProcessSpec) error {
	var groups unsafe.Pointer
	if len(p.AdditionalGIDs) > 0 {
		groups = unsafe.Pointer(&p.AdditionalGIDs[0])
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(p.AdditionalGIDs)), uintptr(groups), 0); e != 0 {
		return stageErr("setting additional groups", e)
	}
	gid, uid := uintptr(p.GID), uintptr(p.UID)
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, gid, gid, gid); e != 0 {
		return stageErr(fmt.Sprintf("setting gid %d", p.GID), e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uid, uid, uid); e != 0 {
		return stageErr(fmt.Sprintf("setting uid %d", p.UID), e)
	}
	return nil
}

func setCapSets(caps capSets, known uint64) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	e, pm, i := caps.effective&known, caps.permitted&known, caps.inheritable&known
	data := [2]unix.CapUserData{
		{Effective: uint32(e), Permitted: uint32(pm), Inheritable: uint32(i)},
		{Effective: uint32(e >> 32), Permitted: uint32(pm >> 32), Inheritable: uint32(i >> 32)},
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return stageErr("setting capabilities", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		return stageErr("clearing ambient capabilities", err)
	}
	for n := 0; n < 64; n++ {
		if caps.ambient&known&(1<<n) == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(n), 0, 0); err != nil {
			return stageErr(fmt.Sprintf("raising ambient capability %d", n), err)
		}
	}
	return nil
}
