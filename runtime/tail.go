package runtime

import (
	"io"
	"os"
)

// tailFile reads the last n bytes of path after offset start. Errors give ""
// because tails only decorate other errors.
func tailFile(path string, start int64, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	from := max(start, st.Size()-int64(n))
	if from >= st.Size() {
		return ""
	}
	b, err := io.ReadAll(io.NewSectionReader(f, from, st.Size()-from))
	if err != nil {
		return ""
	}
	return string(b)
}
