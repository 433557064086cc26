package guest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/kite-vm/kite/internal/atomicfile"
)

// writeAtomic replaces path with what write produces (atomicfile.Write:
// readers, and later builds, see the old file or the complete new one) and
// returns the SHA-256 and size of what was written.
func writeAtomic(path string, perm os.FileMode, write func(io.Writer) error) (Blob, error) {
	h := sha256.New()
	cw := &countWriter{}
	err := atomicfile.Write(path, perm, func(w io.Writer) error {
		cw.w = io.MultiWriter(w, h)
		return write(cw)
	})
	if err != nil {
		return Blob{}, err
	}
	return Blob{SHA256: hex.EncodeToString(h.Sum(nil)), Size: cw.n}, nil
}

// writeBytesAtomic is writeAtomic for data already in memory.
func writeBytesAtomic(path string, perm os.FileMode, data []byte) (Blob, error) {
	return writeAtomic(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// hashBytes returns the SHA-256 and size of data.
func hashBytes(data []byte) Blob {
	sum := sha256.Sum256(data)
	return Blob{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
}

// hashFile returns the SHA-256 and size of the file at path.
func hashFile(path string) (Blob, error) {
	f, err := os.Open(path)
	if err != nil {
		return Blob{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return Blob{}, fmt.Errorf("hashing %s: %w", path, err)
	}
	return Blob{SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

// mib formats a byte count for progress messages.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
