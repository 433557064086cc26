// Package devcgroup is a container's device cgroup in the guest: the cgroup
// v2 eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) that decides which device
// nodes the container's processes may read, write and create.
//
// The rules are OCI linux.resources.devices, applied in order with cgroup
// v1's semantics, as runc applies them: writes to devices.allow and
// devices.deny on a cgroup that starts denying everything. Plan replays
// them into a Table (a default and its exceptions, the state cgroup v1
// would hold); Program emits the eBPF instructions that decide as the
// table does. Before the table, every program denies reading and writing
// the guest's console devices (Reserved), whatever the rules say: they
// lead out of the VM, to the host's console log. Attach loads the program
// and attaches it to a cgroup; Filter.Replace swaps it for an update
// without a moment unfiltered.
//
// Planning and emitting are pure and tested by running the emitted
// program in a small interpreter against the table; only bpf_linux.go
// makes system calls.
package devcgroup
