package benchmarks

import (
	"bytes"
	"fmt"
	"path/filepath"

	"github.com/kite-vm/kite/internal/atomicfile"
)

// Report file names in the output directory.
const (
	ResultsFile = "results.json"
	ReportFile  = "report.html"
	ChartFile   = "chart.svg"
)

// WriteReport writes the results, the HTML report and the overview chart
// into dir (which must exist), each file replaced atomically.
func WriteReport(dir string, run Run) error {
	var js, page bytes.Buffer
	if err := WriteJSON(&js, run); err != nil {
		return fmt.Errorf("encoding results: %w", err)
	}
	if err := WriteHTML(&page, run); err != nil {
		return fmt.Errorf("rendering the report: %w", err)
	}
	for name, data := range map[string][]byte{
		ResultsFile: js.Bytes(),
		ReportFile:  page.Bytes(),
		ChartFile:   []byte(RunSVG(run)),
	} {
		if err := atomicfile.WriteBytes(filepath.Join(dir, name), 0o644, data); err != nil {
			return fmt.Errorf("writing %q: %w", name, err)
		}
	}
	return nil
}
