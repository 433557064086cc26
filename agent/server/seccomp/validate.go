package seccomp

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// validate checks p, naming the part at fault.
func (p Profile) validate() error {
	if err := checkAction("defaultAction", p.DefaultAction, p.DefaultErrno); err != nil {
		return err
	}
	for i, a := range p.Architectures {
		if a.table() == nil {
			return fmt.Errorf("%w: architectures[%d]: unknown architecture %d", ErrInvalid, i, a)
		}
	}
	for i, f := range p.Flags {
		if f < FlagTSync || f > FlagSpecAllow {
			return fmt.Errorf("%w: flags[%d]: unknown flag %d", ErrInvalid, i, f)
		}
	}
	for i, r := range p.Rules {
		field := fmt.Sprintf("syscalls[%d]", i)
		if len(r.Names) == 0 {
			return fmt.Errorf("%w: %s: names no system call", ErrInvalid, field)
		}
		for j, n := range r.Names {
			if n == "" {
				return fmt.Errorf("%w: %s.names[%d]: empty name", ErrInvalid, field, j)
			}
		}
		if err := checkAction(field+".action", r.Action, r.Errno); err != nil {
			return err
		}
		for j, a := range r.Args {
			if a.Index >= maxArgs {
				return fmt.Errorf("%w: %s.args[%d]: argument index %d is not below %d", ErrInvalid, field, j, a.Index, maxArgs)
			}
			if a.Op < OpNotEqual || a.Op > OpMaskedEqual {
				return fmt.Errorf("%w: %s.args[%d]: unknown comparison %d", ErrInvalid, field, j, a.Op)
			}
		}
	}
	return nil
}

func checkAction(field string, a Action, errno *uint32) error {
	switch {
	case a < ActKillThread || a > ActAllow:
		return fmt.Errorf("%w: %s: unknown action %d", ErrInvalid, field, a)
	case errno != nil && a != ActErrno && a != ActTrace:
		return fmt.Errorf("%w: %s: an errno goes only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE", ErrInvalid, field)
	case errno != nil && *errno > unix.SECCOMP_RET_DATA:
		return fmt.Errorf("%w: %s: errno %d does not fit in 16 bits", ErrInvalid, field, *errno)
	}
	return nil
}

// ret is the filter's return value for the action.
func (a Action) ret(errno *uint32) uint32 {
	data := uint32(unix.EPERM)
	if errno != nil {
		data = *errno
	}
	switch a {
	case ActKillProcess:
		return unix.SECCOMP_RET_KILL_PROCESS
	case ActTrap:
		return unix.SECCOMP_RET_TRAP
	case ActErrno:
		return unix.SECCOMP_RET_ERRNO | data&unix.SECCOMP_RET_DATA
	case ActTrace:
		return unix.SECCOMP_RET_TRACE | data&unix.SECCOMP_RET_DATA
	case ActLog:
		return unix.SECCOMP_RET_LOG
	case ActAllow:
		return unix.SECCOMP_RET_ALLOW
	}
	return unix.SECCOMP_RET_KILL_THREAD
}

// table is the ABI's system call numbers; nil for an unknown ABI.
func (a Arch) table() map[string]uint32 {
	switch a {
	case ArchX86_64:
		return x86_64Syscalls
	case ArchX86:
		return i386Syscalls
	case ArchX32:
		return x32Syscalls
	}
	return nil
}

// archSet is the ABIs the profile lists and the guest's native x86_64,
// which libseccomp's filters always hold.
func (p Profile) archSet() map[Arch]bool {
	set := map[Arch]bool{ArchX86_64: true}
	for _, a := range p.Architectures {
		set[a] = true
	}
	return set
}

// flagBits are the profile's flags for seccomp(2).
func (p Profile) flagBits() uint {
	var bits uint
	for _, f := range p.Flags {
		switch f {
		case FlagTSync:
			bits |= unix.SECCOMP_FILTER_FLAG_TSYNC
		case FlagLog:
			bits |= unix.SECCOMP_FILTER_FLAG_LOG
		case FlagSpecAllow:
			bits |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
		}
	}
	return bits
}
