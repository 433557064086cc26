// Package sysctlns says which kernel namespace a sysctl belongs to, so that
// the host (converting a spec) and the guest agent (creating a container)
// accept the same sysctls for a container: those a namespace of the
// container confines, as runc does. Any other sysctl is the whole kernel's,
// which in Kite is the whole VM's, the pod's other containers included.
package sysctlns

import "strings"

// Kind is the namespace a sysctl acts on.
type Kind int

const (
	// None: the sysctl is global to the kernel.
	None Kind = iota
	// IPC: System V IPC and POSIX message queue limits.
	IPC
	// UTS: the host and NIS domain names.
	UTS
	// Net: the network namespace's settings (net.*).
	Net
)

func (k Kind) String() string {
	switch k {
	case IPC:
		return "ipc"
	case UTS:
		return "uts"
	case Net:
		return "network"
	}
	return "none"
}

// ipcKeys are the IPC namespace's sysctls under kernel. (fs.mqueue.* are
// too, by prefix).
var ipcKeys = map[string]bool{
	"kernel.msgmax": true, "kernel.msgmnb": true, "kernel.msgmni": true, "kernel.sem": true,
	"kernel.shmall": true, "kernel.shmmax": true, "kernel.shmmni": true, "kernel.shm_rmid_forced": true,
	"kernel.msg_next_id": true, "kernel.sem_next_id": true, "kernel.shm_next_id": true,
}

// Of returns the namespace key (a dotted name such as "kernel.shmmax";
// the slash form "kernel/shmmax" is read the same way) belongs to.
func Of(key string) Kind {
	key = strings.ReplaceAll(key, "/", ".")
	switch {
	case ipcKeys[key], strings.HasPrefix(key, "fs.mqueue."):
		return IPC
	case key == "kernel.hostname", key == "kernel.domainname":
		return UTS
	case strings.HasPrefix(key, "net."):
		return Net
	}
	return None
}
