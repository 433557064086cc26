package synth

import (
	"archive/tar"
	"bytes"
	"fmt"
	"sort"

	"github.com/ulikunitz/xz"
)

// DebFile is one regular file in a package's data archive, by its path
// relative to the root ("boot/vmlinuz-6.1.0-1-amd64").
type DebFile struct {
	Path string
	Data []byte
}

// Deb returns a Debian binary package: an ar archive with debian-binary,
// control.tar.xz (holding control) and data.tar.xz (files under "./", with
// their parent directories, like dpkg-deb writes them).
func Deb(control string, files []DebFile) []byte {
	ctl := tarXZ([]DebFile{{Path: "control", Data: []byte(control)}})
	data := tarXZ(files)
	var b bytes.Buffer
	b.WriteString("!<arch>\n")
	arMember(&b, "debian-binary", []byte("2.0\n"))
	arMember(&b, "control.tar.xz", ctl)
	arMember(&b, "data.tar.xz", data)
	return b.Bytes()
}

func arMember(b *bytes.Buffer, name string, data []byte) {
	fmt.Fprintf(b, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", name, 0, 0, 0, "100644", len(data))
	b.Write(data)
	if len(data)%2 == 1 {
		b.WriteByte('\n')
	}
}

func tarXZ(files []DebFile) []byte {
	var b bytes.Buffer
	zw, _ := xz.NewWriter(&b)
	tw := tar.NewWriter(zw)
	dirs := map[string]bool{}
	var names []string
	for _, f := range files {
		for d := parent(f.Path); d != ""; d = parent(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		names = append(names, d)
	}
	sort.Strings(names)
	tw.WriteHeader(&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755})
	for _, d := range names {
		tw.WriteHeader(&tar.Header{Name: "./" + d + "/", Typeflag: tar.TypeDir, Mode: 0o755})
	}
	for _, f := range files {
		tw.WriteHeader(&tar.Header{Name: "./" + f.Path, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.Data))})
		tw.Write(f.Data)
	}
	tw.Close()
	zw.Close()
	return b.Bytes()
}

func parent(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return ""
}
