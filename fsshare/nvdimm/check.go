package nvdimm

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrBadImage means a file cannot be mapped as a DAX-capable NVDIMM image.
var ErrBadImage = errors.New("not a Kite NVDIMM image")

// Image is what CheckImage found in an image file.
type Image struct {
	Path string
	// Size is the whole file, prefix included: what QEMU maps (its
	// memory-backend-file size).
	Size int64
	Info PFNInfo
}

// CheckImage checks that the file at path is an image as BuildImage writes
// it: a regular file whose size is a multiple of Align and which carries a
// valid PFN info block describing exactly the data after the prefix. QEMU
// accepts any file, and the guest then silently gets a raw-mode pmem device
// on which DAX mounts fail (or, with a bad size, a DIMM it cannot use at
// all), so the host refuses the file up front, naming it.
func CheckImage(path string) (Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return Image{}, fmt.Errorf("opening NVDIMM image %q: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Image{}, fmt.Errorf("opening NVDIMM image %q: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return Image{}, fmt.Errorf("%w: %q is not a regular file (%v)", ErrBadImage, path, fi.Mode().Type())
	}
	size := fi.Size()
	if size <= PrefixSize || size%Align != 0 {
		return Image{}, fmt.Errorf("%w: %q is %d bytes, not a multiple of %d MiB above the %d MiB prefix (build it with kite's NVDIMM image builder)",
			ErrBadImage, path, size, Align>>20, PrefixSize>>20)
	}
	block := make([]byte, InfoSize)
	if _, err := f.ReadAt(block, InfoOffset); err != nil && !errors.Is(err, io.EOF) {
		return Image{}, fmt.Errorf("reading NVDIMM image %q: %w", path, err)
	}
	info, err := ParsePFNInfo(block)
	if err != nil {
		return Image{}, fmt.Errorf("%w: %q has no usable PFN info block at offset %d, so the guest could not map it with DAX: %w",
			ErrBadImage, path, InfoOffset, err)
	}
	if info.DataSize != size-PrefixSize {
		return Image{}, fmt.Errorf("%w: %q: its PFN info block describes %d bytes of data but %d follow the prefix (was the file resized?)",
			ErrBadImage, path, info.DataSize, size-PrefixSize)
	}
	return Image{Path: path, Size: size, Info: info}, nil
}
