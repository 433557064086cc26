package seccomp

// Profile is a seccomp profile, as OCI linux.seccomp says it.
type Profile struct {
	// DefaultAction is what a call no rule matches gets.
	DefaultAction Action
	// DefaultErrno is the errno of an ActErrno default action (the data of
	// an ActTrace one); nil means EPERM.
	DefaultErrno *uint32
	// Architectures are the ABIs the rules apply to besides the native
	// ArchX86_64, which is always in (as libseccomp's filters have it).
	Architectures []Arch
	// Flags are seccomp(2)'s SECCOMP_FILTER_FLAG_* flags.
	Flags []Flag
	// Rules give calls their actions.
	Rules []Rule
}

// Rule gives system calls an action when its conditions hold.
type Rule struct {
	// Names are system call names, e.g. "mkdir".
	Names  []string
	Action Action
	// Errno is the errno of ActErrno (the data of ActTrace); nil means
	// EPERM.
	Errno *uint32
	// Args must all hold, but those on the same argument are alternatives.
	Args []Arg
}

// Arg is a condition on one argument.
type Arg struct {
	// Index is the argument's position, 0 to 5.
	Index uint32
	Op    Op
	// Value is compared with the argument; for OpMaskedEqual it is the
	// mask, and ValueTwo what the masked argument must equal.
	Value, ValueTwo uint64
}

// Action is what a matching call gets.
type Action int

// The actions of OCI's SCMP_ACT_*.
const (
	ActKillThread Action = iota + 1
	ActKillProcess
	ActTrap
	ActErrno
	ActTrace
	ActLog
	ActAllow
)

// Op is a comparison of an argument with a value, unsigned.
type Op int

// The comparisons of OCI's SCMP_CMP_*.
const (
	OpNotEqual Op = iota + 1
	OpLess
	OpLessOrEqual
	OpEqual
	OpGreaterOrEqual
	OpGreater
	OpMaskedEqual
)

// Arch is a system call ABI of an x86_64 kernel.
type Arch int

// The ABIs of OCI's SCMP_ARCH_X86_64, SCMP_ARCH_X86 and SCMP_ARCH_X32.
const (
	ArchX86_64 Arch = iota + 1
	ArchX86
	ArchX32
)

// Flag is a flag of seccomp(2)'s SECCOMP_SET_MODE_FILTER.
type Flag int

// The flags of OCI's SECCOMP_FILTER_FLAG_TSYNC, _LOG and _SPEC_ALLOW.
const (
	FlagTSync Flag = iota + 1
	FlagLog
	FlagSpecAllow
)
