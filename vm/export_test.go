package vm

// Internals the external tests (package vm_test) need: they boot real
// guests, which takes fsshare, and read back what Boot did.
var (
	// QEMUThreads lists the thread ids of a QEMU process.
	QEMUThreads = qemuThreads
	// ReadPoolCount reads a huge page pool counter.
	ReadPoolCount = readPoolCount
)

// MaxCPU is the highest CPU number a cpuset may name.
const MaxCPU = maxCPU
