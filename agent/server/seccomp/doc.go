// Package seccomp compiles an OCI seccomp profile (linux.seccomp) into a
// classic BPF program for seccomp(2) and installs it, in pure Go: the agent
// is a static binary without libseccomp.
//
// Compile is pure and follows runc and libseccomp where the OCI spec leaves
// room:
//
//   - a system call name the x86 tables (the kernel's UAPI headers, see
//     zsyscalls.go) do not know is skipped and reported, not an error: the
//     profile may name calls of newer kernels;
//   - a rule whose action is the default action is redundant and dropped;
//   - a rule's conditions must all hold, except that several conditions on
//     the same argument are alternatives (runc adds each as a rule of its
//     own, since libseccomp cannot AND them);
//   - arguments compare as unsigned 64-bit numbers; SCMP_CMP_MASKED_EQ
//     takes the mask in value and the datum in valueTwo;
//   - a system call's conditional rules are tried in the profile's order
//     before its unconditional one; two unconditional rules with different
//     actions for one call are an error;
//   - the native x86_64 and the architectures listed each get their own
//     section, x32 inside x86_64's (same audit token, numbers with
//     __X32_SYSCALL_BIT); a call through any other ABI kills the thread, as
//     libseccomp's default bad-architecture action does.
//
// Calls newer than the tables get the default action (runc's patchbpf
// returns ENOSYS for them instead; the guest's kernel and the tables come
// from the same Linux release, so the difference is moot there).
package seccomp

//go:generate go run mksyscalls.go
