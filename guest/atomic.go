package guest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writeAtomic writes a file through write into a temporary file next to
// path, syncs it and renames it over path, so readers (and later builds) see
// either the old file or the complete new one. It returns the SHA-256 and
// size of what was written.
func writeAtomic(path string, perm os.FileMode, write func(io.Writer) error) (Blob, error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return Blob{}, err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op once renamed
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	err = write(cw)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return Blob{}, fmt.Errorf("writing %s: %w", path, err)
	}
	syncDir(dir)
	return Blob{SHA256: hex.EncodeToString(h.Sum(nil)), Size: cw.n}, nil
}

// writeBytesAtomic is writeAtomic for data already in memory.
func writeBytesAtomic(path string, perm os.FileMode, data []byte) (Blob, error) {
	return writeAtomic(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// syncDir makes a rename durable; failure only weakens durability, never
// correctness, so it is not reported.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
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
