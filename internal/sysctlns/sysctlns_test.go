package sysctlns

import "testing"

func TestOf(t *testing.T) {
	for key, want := range map[string]Kind{
		"kernel.shm_rmid_forced":   IPC,
		"kernel.shmmax":            IPC,
		"kernel.sem":               IPC,
		"kernel.msgmnb":            IPC,
		"fs.mqueue.msg_max":        IPC,
		"fs/mqueue/queues_max":     IPC,
		"kernel.hostname":          UTS,
		"kernel.domainname":        UTS,
		"net.ipv4.ip_forward":      Net,
		"net.core.somaxconn":       Net,
		"vm.swappiness":            None,
		"kernel.pid_max":           None,
		"kernel.shm":               None,
		"fs.mqueue":                None,
		"kernel.semaphore":         None,
		"fs.file-max":              None,
		"kernel.shmmax.extra":      None,
		"network.ipv4.ip_forward":  None,
		"user.max_user_namespaces": None,
	} {
		if got := Of(key); got != want {
			t.Errorf("Of(%q) = %v, want %v", key, got, want)
		}
	}
}
