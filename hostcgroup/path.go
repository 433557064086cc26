package hostcgroup

import (
	"fmt"
	"path"
	"strings"
)

// Path is a linux.cgroupsPath, parsed: the cgroup it names in every
// hierarchy.
type Path struct {
	// Cgroup is absolute ("/kubepods/besteffort/pod1/c1", from the root of
	// each hierarchy) or relative ("pods/c1": below the cgroup the calling
	// process is in, in each hierarchy, as runc takes a relative path).
	Cgroup string
	// Unit is the systemd unit a "slice:prefix:name" path names
	// ("cri-containerd-<id>.scope"), "" for a cgroupfs path.
	Unit string
}

// Relative reports whether the cgroup is below the caller's own.
func (p Path) Relative() bool { return !path.IsAbs(p.Cgroup) }

// defaultSlice is the slice of a systemd path that names none, as runc
// and systemd take it.
const defaultSlice = "system.slice"

// maxUnitName is systemd's limit on a unit name (UNIT_NAME_MAX, with its
// terminating NUL).
const maxUnitName = 255

// ParsePath parses a linux.cgroupsPath: a cgroupfs path, absolute or
// relative, or systemd's "slice:prefix:name" as containerd (SystemdCgroup),
// CRI-O and podman pass it. A systemd path is expanded as systemd lays
// slices out: "a-b.slice:cri:ID" is /a.slice/a-b.slice/cri-ID.scope, ""
// for the slice is system.slice, "-.slice" the root slice, and a name
// ending in ".slice" is that slice itself (the prefix then unused). A path
// of that form (two colons, no slash) is always read as systemd's.
func ParsePath(s string) (Path, error) {
	if s == "" {
		return Path{}, fmt.Errorf("%w: empty cgroups path", ErrInvalid)
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return Path{}, fmt.Errorf("%w: cgroups path %q has a control character", ErrInvalid, s)
		}
	}
	if strings.Count(s, ":") == 2 && !strings.Contains(s, "/") {
		return parseSystemd(s)
	}
	for _, c := range strings.Split(s, "/") {
		if c == ".." || c == "." {
			return Path{}, fmt.Errorf("%w: cgroups path %q: %q components are not allowed", ErrInvalid, s, c)
		}
	}
	clean := path.Clean(s)
	if clean == "/" || clean == "." {
		return Path{}, fmt.Errorf("%w: cgroups path %q names no cgroup of its own", ErrInvalid, s)
	}
	return Path{Cgroup: clean}, nil
}

// parseSystemd expands "slice:prefix:name".
func parseSystemd(s string) (Path, error) {
	parts := strings.Split(s, ":")
	slice, prefix, name := parts[0], parts[1], parts[2]
	if slice == "" {
		slice = defaultSlice
	}
	parent, err := ExpandSlice(slice)
	if err != nil {
		return Path{}, fmt.Errorf("cgroups path %q: %w", s, err)
	}
	if name == "" {
		return Path{}, fmt.Errorf("%w: cgroups path %q: want slice:prefix:name with a name", ErrInvalid, s)
	}
	if strings.HasSuffix(name, ".slice") {
		p, err := ExpandSlice(name)
		if err != nil {
			return Path{}, fmt.Errorf("cgroups path %q: %w", s, err)
		}
		if path.Dir(p) != parent {
			return Path{}, fmt.Errorf("%w: cgroups path %q: slice %s is not a child of %s", ErrInvalid, s, name, slice)
		}
		return Path{Cgroup: p, Unit: name}, nil
	}
	unit := name + ".scope"
	if prefix != "" {
		unit = prefix + "-" + unit
	}
	if err := checkUnitName(unit); err != nil {
		return Path{}, fmt.Errorf("cgroups path %q: %w", s, err)
	}
	return Path{Cgroup: path.Join(parent, unit), Unit: unit}, nil
}

// ExpandSlice is the cgroup of a systemd slice: each dash opens a level,
// "a-b-c.slice" is /a.slice/a-b.slice/a-b-c.slice, "-.slice" the root.
func ExpandSlice(slice string) (string, error) {
	name, ok := strings.CutSuffix(slice, ".slice")
	switch {
	case !ok || strings.Contains(slice, "/"):
		return "", fmt.Errorf("%w: %q is not a slice name (want NAME.slice without slashes)", ErrInvalid, slice)
	case name == "-":
		return "/", nil
	case name == "" || strings.Contains(name, "--") || strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-"):
		return "", fmt.Errorf("%w: slice %q: systemd refuses empty parts between dashes", ErrInvalid, slice)
	}
	if err := checkUnitName(slice); err != nil {
		return "", err
	}
	var b strings.Builder
	prefix := ""
	for _, part := range strings.Split(name, "-") {
		b.WriteString("/" + prefix + part + ".slice")
		prefix += part + "-"
	}
	return b.String(), nil
}

// checkUnitName refuses what systemd refuses in a unit name.
func checkUnitName(u string) error {
	if len(u) > maxUnitName {
		return fmt.Errorf("%w: unit name %q is longer than systemd's %d bytes", ErrInvalid, u, maxUnitName)
	}
	for _, r := range u {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(":_.\\-@", r)
		if !ok {
			return fmt.Errorf("%w: unit name %q: systemd allows only letters, digits and :_.\\-@", ErrInvalid, u)
		}
	}
	return nil
}
