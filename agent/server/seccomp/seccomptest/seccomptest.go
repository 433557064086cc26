// Package seccomptest reads OCI seccomp profiles (linux.seccomp as JSON)
// into seccomp.Profile, for tests: the agent itself gets its profiles
// through the protocol. DockerDefault is the Docker/moby default profile
// (testdata/docker-default.json in the seccomp package).
package seccomptest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/kite-vm/kite/agent/server/seccomp"
)

// ociProfile is the part of OCI linux.seccomp the compiler takes.
type ociProfile struct {
	DefaultAction   string    `json:"defaultAction"`
	DefaultErrnoRet *uint32   `json:"defaultErrnoRet"`
	Architectures   []string  `json:"architectures"`
	Flags           []string  `json:"flags"`
	Syscalls        []ociRule `json:"syscalls"`
}

type ociRule struct {
	Names    []string `json:"names"`
	Action   string   `json:"action"`
	ErrnoRet *uint32  `json:"errnoRet"`
	Args     []struct {
		Index    uint32 `json:"index"`
		Value    uint64 `json:"value"`
		ValueTwo uint64 `json:"valueTwo"`
		Op       string `json:"op"`
	} `json:"args"`
}

var (
	actions = map[string]seccomp.Action{
		"SCMP_ACT_KILL": seccomp.ActKillThread, "SCMP_ACT_KILL_THREAD": seccomp.ActKillThread,
		"SCMP_ACT_KILL_PROCESS": seccomp.ActKillProcess, "SCMP_ACT_TRAP": seccomp.ActTrap,
		"SCMP_ACT_ERRNO": seccomp.ActErrno, "SCMP_ACT_TRACE": seccomp.ActTrace,
		"SCMP_ACT_LOG": seccomp.ActLog, "SCMP_ACT_ALLOW": seccomp.ActAllow,
	}
	arches = map[string]seccomp.Arch{"SCMP_ARCH_X86_64": seccomp.ArchX86_64, "SCMP_ARCH_X86": seccomp.ArchX86, "SCMP_ARCH_X32": seccomp.ArchX32}
	flags  = map[string]seccomp.Flag{"SECCOMP_FILTER_FLAG_TSYNC": seccomp.FlagTSync, "SECCOMP_FILTER_FLAG_LOG": seccomp.FlagLog,
		"SECCOMP_FILTER_FLAG_SPEC_ALLOW": seccomp.FlagSpecAllow}
	ops = map[string]seccomp.Op{"SCMP_CMP_NE": seccomp.OpNotEqual, "SCMP_CMP_LT": seccomp.OpLess, "SCMP_CMP_LE": seccomp.OpLessOrEqual,
		"SCMP_CMP_EQ": seccomp.OpEqual, "SCMP_CMP_GE": seccomp.OpGreaterOrEqual, "SCMP_CMP_GT": seccomp.OpGreater,
		"SCMP_CMP_MASKED_EQ": seccomp.OpMaskedEqual}
)

// Parse reads an OCI profile; any name outside the x86 family or the
// actions the guest implements is an error.
func Parse(data []byte) (seccomp.Profile, error) {
	var in ociProfile
	if err := json.Unmarshal(data, &in); err != nil {
		return seccomp.Profile{}, err
	}
	look := func(m any, k string) error { return fmt.Errorf("unknown %T key %q", m, k) }
	var p seccomp.Profile
	var ok bool
	if p.DefaultAction, ok = actions[in.DefaultAction]; !ok {
		return p, look(actions, in.DefaultAction)
	}
	p.DefaultErrno = in.DefaultErrnoRet
	for _, a := range in.Architectures {
		v, ok := arches[a]
		if !ok {
			return p, look(arches, a)
		}
		p.Architectures = append(p.Architectures, v)
	}
	for _, f := range in.Flags {
		v, ok := flags[f]
		if !ok {
			return p, look(flags, f)
		}
		p.Flags = append(p.Flags, v)
	}
	for _, r := range in.Syscalls {
		rule := seccomp.Rule{Names: r.Names, Errno: r.ErrnoRet}
		if rule.Action, ok = actions[r.Action]; !ok {
			return p, look(actions, r.Action)
		}
		for _, a := range r.Args {
			op, ok := ops[a.Op]
			if !ok {
				return p, look(ops, a.Op)
			}
			rule.Args = append(rule.Args, seccomp.Arg{Index: a.Index, Op: op, Value: a.Value, ValueTwo: a.ValueTwo})
		}
		p.Rules = append(p.Rules, rule)
	}
	return p, nil
}

// DockerDefaultPath is the Docker/moby default profile as containerd and
// dockerd render it for Docker's default capabilities (RuntimeDefault).
func DockerDefaultPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "docker-default.json")
}

// DockerDefault reads DockerDefaultPath.
func DockerDefault(t testing.TB) seccomp.Profile {
	t.Helper()
	data, err := os.ReadFile(DockerDefaultPath())
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", DockerDefaultPath(), err)
	}
	return p
}
