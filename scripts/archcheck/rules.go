package main

import (
	"fmt"
	"slices"
	"strings"
)

const module = "github.com/kite-vm/kite/"

// rel is a package's path inside the module ("" outside it).
func rel(path string) string {
	if r, ok := strings.CutPrefix(path, module); ok {
		return r
	}
	return ""
}

// under reports whether p is the package root or below it.
func under(p, root string) bool { return p == root || strings.HasPrefix(p, root+"/") }

func underAny(p string, roots ...string) bool {
	return slices.ContainsFunc(roots, func(r string) bool { return under(p, r) })
}

// subsystems own device kinds (and hostcgroup the sandbox's host
// cgroup); they never import each other.
var subsystems = []string{"devicemgr", "netmodels", "fsshare", "hostcgroup"}

// frontEnds translate a protocol to the engine.
var frontEnds = []string{"oci", "shim", "pool"}

// rule is one import rule: a package matching from may not import a
// package matching to.
type rule struct {
	why  string
	from func(string) bool
	to   func(from, to string) bool
}

var rules = []rule{
	{
		why:  "front ends talk to the engine, not to subsystems, QMP or the VM",
		from: func(p string) bool { return underAny(p, frontEnds...) },
		to: func(_, t string) bool {
			return underAny(t, "devicemgr", "vfio", "netmodels", "fsshare", "hostcgroup", "qemu/qmp", "qemu/hotplug", "vm")
		},
	},
	{
		why:  "subsystems never import each other",
		from: func(p string) bool { return underAny(p, subsystems...) },
		to: func(f, t string) bool {
			return underAny(t, subsystems...) && root(f) != root(t)
		},
	},
	{
		why:  "subsystems use the attachment contract, not the VM, the engine or a front end",
		from: func(p string) bool { return underAny(p, subsystems...) },
		to: func(_, t string) bool {
			return (under(t, "vm") && !under(t, "vm/attach")) || underAny(t, "sandbox", "oci", "shim", "cli")
		},
	},
	{
		why:  "the VM knows no subsystem, engine or front end",
		from: func(p string) bool { return under(p, "vm") },
		to: func(_, t string) bool {
			return underAny(t, "devicemgr", "netmodels", "fsshare", "hostcgroup", "sandbox", "oci", "shim", "cli", "vfio")
		},
	},
	{
		why: "nothing below the engine imports it or a front end",
		from: func(p string) bool {
			return !underAny(p, "sandbox", "oci", "shim", "pool", "cli", "cmd", "benchmarks", "scripts")
		},
		to: func(_, t string) bool { return underAny(t, "sandbox", "oci", "shim", "cli") },
	},
}

// root is a package's top-level directory.
func root(p string) string {
	top, _, _ := strings.Cut(p, "/")
	return top
}

// checkImports applies the rules to every package's imports (tests'
// imports aside: a test may reach across layers to set a scene up).
func checkImports(pkgs []pkg) []string {
	var problems []string
	for _, p := range pkgs {
		from := rel(p.ImportPath)
		for _, imp := range p.Imports {
			to := rel(imp)
			if from == "" || to == "" {
				continue
			}
			for _, r := range rules {
				if r.from(from) && r.to(from, to) {
					problems = append(problems, fmt.Sprintf("%s imports %s: %s", from, to, r.why))
				}
			}
		}
	}
	return problems
}
