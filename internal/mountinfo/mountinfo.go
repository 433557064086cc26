// Package mountinfo reads the kernel's mount tables (/proc/<pid>/mountinfo,
// proc(5)): the host runtime uses it to find mounts left under a sandbox, the
// guest agent to see what it has mounted and, in the container stage, what to
// detach from the old root.
package mountinfo

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// Mount is one line of a mountinfo table.
type Mount struct {
	Target string
	FSType string
	Source string
	// Dev is the file system's "major:minor" (st_dev of its files): the
	// same in every mount of one file system, in any namespace.
	Dev string
	// Root is the directory of the file system the mount shows at Target
	// ("/" unless it is a bind mount of a subdirectory).
	Root string
	// SuperOptions are the file system's own options, e.g. a cgroup v1
	// hierarchy's controllers ("rw,cpu,cpuacct").
	SuperOptions string
}

// Read parses the mountinfo table at path, e.g. /proc/self/mountinfo.
func Read(path string) ([]Mount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading mount table: %w", err)
	}
	defer f.Close()
	return Parse(f)
}

// Parse parses a mountinfo table. A line without the "-" separator and the
// fields around it is an error naming the line.
func Parse(r io.Reader) ([]Mount, error) {
	var mounts []Mount
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 5 || len(fields) < sep+3 {
			return nil, fmt.Errorf("malformed mountinfo line %q", sc.Text())
		}
		m := Mount{
			Dev:    fields[2],
			Root:   Unescape(fields[3]),
			Target: Unescape(fields[4]),
			FSType: fields[sep+1],
			Source: Unescape(fields[sep+2]),
		}
		if len(fields) > sep+3 {
			m.SuperOptions = fields[sep+3]
		}
		mounts = append(mounts, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading mountinfo: %w", err)
	}
	return mounts, nil
}

// Unescape undoes mountinfo's \ooo escapes (space, tab, newline, \).
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
