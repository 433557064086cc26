package nvdimm

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sparseImage writes a file of size bytes with the info block p (none when
// p.DataSize is 0); no file system is needed to check the header.
func sparseImage(t *testing.T, size int64, p PFNInfo) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if p.DataSize != 0 {
		if err := WritePFNInfo(f, p); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func TestCheckImage(t *testing.T) {
	const data = 8 << 20
	good := PFNInfo{UUID: testUUID, DataSize: data}
	corrupt := sparseImage(t, PrefixSize+data, good)
	f, err := os.OpenFile(corrupt, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff}, InfoOffset+100); err != nil {
		t.Fatal(err)
	}
	f.Close()

	tests := []struct {
		name    string
		path    string
		want    string // in the error; "" for success
		badFile bool   // ErrBadImage (rather than an open error)
	}{
		{"good", sparseImage(t, PrefixSize+data, good), "", false},
		{"not aligned", sparseImage(t, PrefixSize+data+4096, good), "not a multiple of 2 MiB", true},
		{"prefix only", sparseImage(t, PrefixSize, PFNInfo{}), "not a multiple of 2 MiB", true},
		{"no header", sparseImage(t, PrefixSize+data, PFNInfo{}), "no NVDIMM_PFN_INFO signature", true},
		{"bad checksum", corrupt, "checksum", true},
		{"resized", sparseImage(t, PrefixSize+2*data, good), "describes 8388608 bytes of data but 16777216 follow", true},
		{"directory", t.TempDir(), "not a regular file", true},
		{"missing", filepath.Join(t.TempDir(), "none.img"), "no such file", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := CheckImage(tt.path)
			if tt.want == "" {
				if err != nil || img.Size != PrefixSize+data || img.Info != good || img.Path != tt.path {
					t.Fatalf("CheckImage = %+v, %v; want size %d and info %+v", img, err, PrefixSize+data, good)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckImage accepted %s", tt.name)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error %q lacks %q or the file name", err, tt.want)
			}
			if errors.Is(err, ErrBadImage) != tt.badFile {
				t.Errorf("errors.Is(err, ErrBadImage) = %v, want %v", !tt.badFile, tt.badFile)
			}
			if tt.name == "missing" && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("error %v does not wrap fs.ErrNotExist", err)
			}
		})
	}
}
