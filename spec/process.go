package spec

// Process is a process to run in the container: its init process, or an
// exec.
type Process struct {
	// Args is argv; Args[0] is looked up in the container's PATH when it
	// is not absolute.
	Args []string
	// Env holds "KEY=value" entries.
	Env []string
	// Cwd is the absolute working directory in the container.
	Cwd string
	// Terminal runs the process on a pseudo-terminal.
	Terminal bool
	// ConsoleSize is the terminal's first size; nil leaves the default.
	ConsoleSize *ConsoleSize
	// User holds the process's credentials.
	User User
	// Rlimits are applied before exec, each type at most once.
	Rlimits []Rlimit
	// NoNewPrivileges sets PR_SET_NO_NEW_PRIVS.
	NoNewPrivileges bool
	// Capabilities are the capability sets; nil means none at all.
	Capabilities *Capabilities
	// Stdin gives the process a stdin pipe the engine relays; false gives
	// it /dev/null. Convert sets it, as runc hands its stdin to the
	// container; the front end clears it when it has no stdin to give.
	Stdin bool
	// OOMScoreAdj is the process's oom_score_adj in [-1000, 1000]; nil
	// leaves the inherited value.
	OOMScoreAdj *int32
}

// ConsoleSize is a terminal's size in character cells.
type ConsoleSize struct {
	Height, Width uint16
}

// User holds a process's credentials.
type User struct {
	UID, GID       uint32
	AdditionalGIDs []uint32
	// Umask is the file mode creation mask, permission bits only; nil
	// means 0022.
	Umask *uint32
}

// Rlimit is a resource limit (setrlimit).
type Rlimit struct {
	Type RlimitType
	// Hard and Soft are the limits; 2^64-1 means unlimited. Soft is at
	// most Hard.
	Hard, Soft uint64
}

// RlimitType is a Linux resource, named as the OCI spec names it.
type RlimitType string

// The resources a process may be limited in.
const (
	RlimitCPU        RlimitType = "RLIMIT_CPU"
	RlimitFSize      RlimitType = "RLIMIT_FSIZE"
	RlimitData       RlimitType = "RLIMIT_DATA"
	RlimitStack      RlimitType = "RLIMIT_STACK"
	RlimitCore       RlimitType = "RLIMIT_CORE"
	RlimitRSS        RlimitType = "RLIMIT_RSS"
	RlimitNProc      RlimitType = "RLIMIT_NPROC"
	RlimitNoFile     RlimitType = "RLIMIT_NOFILE"
	RlimitMemLock    RlimitType = "RLIMIT_MEMLOCK"
	RlimitAS         RlimitType = "RLIMIT_AS"
	RlimitLocks      RlimitType = "RLIMIT_LOCKS"
	RlimitSigPending RlimitType = "RLIMIT_SIGPENDING"
	RlimitMsgQueue   RlimitType = "RLIMIT_MSGQUEUE"
	RlimitNice       RlimitType = "RLIMIT_NICE"
	RlimitRTPrio     RlimitType = "RLIMIT_RTPRIO"
	RlimitRTTime     RlimitType = "RLIMIT_RTTIME"
)

// RlimitTypes returns every resource Convert accepts, in the kernel's
// order; the agent edge checks it maps each of them.
func RlimitTypes() []RlimitType {
	return []RlimitType{
		RlimitCPU, RlimitFSize, RlimitData, RlimitStack, RlimitCore, RlimitRSS, RlimitNProc, RlimitNoFile,
		RlimitMemLock, RlimitAS, RlimitLocks, RlimitSigPending, RlimitMsgQueue, RlimitNice, RlimitRTPrio, RlimitRTTime,
	}
}

// Capabilities are a process's capability sets, capability names such as
// "CAP_CHOWN". Every ambient capability is also permitted and inheritable.
type Capabilities struct {
	Bounding, Effective, Inheritable, Permitted, Ambient []string
}
