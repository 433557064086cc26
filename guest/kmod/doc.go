// Package kmod reads Linux kernel modules the way modprobe would, without the
// depmod files (Debian's kernel package ships no modules.dep): each module's
// name and dependencies come from its .modinfo ELF section, built-in modules
// from modules.builtin, and Resolve turns a list of wanted modules into a
// deterministic load order, dependencies first.
package kmod
