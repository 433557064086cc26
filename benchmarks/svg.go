package benchmarks

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
)

// Chart geometry, in SVG user units (px).
const (
	chartWidth  = 760
	labelWidth  = 190
	valueWidth  = 90
	barHeight   = 12
	barGap      = 3
	rowGap      = 10
	titleHeight = 26
	legendRow   = 18
)

// palette colours variants in order of appearance; the baseline is grey.
var palette = [...]string{"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#d62728", "#8c564b", "#17becf", "#bcbd22"}

const baselineColour = "#7f7f7f"

// chart is one unit's metrics of one result: rows of bars, one bar per
// variant, the bar at the median and a whisker from min to max.
type chart struct {
	title    string
	unit     Unit
	rows     []string // metric names, in order of appearance
	variants []string // in order of appearance
	baseline string
	values   map[[2]string]Stats // (metric, variant) -> stats
}

// charts splits a result's metrics into one chart per unit.
func charts(res Result) []chart {
	var out []chart
	for _, m := range res.Metrics {
		i := slices.IndexFunc(out, func(c chart) bool { return c.unit == m.Unit })
		if i < 0 {
			out = append(out, chart{title: res.Title, unit: m.Unit, baseline: res.Baseline, values: map[[2]string]Stats{}})
			i = len(out) - 1
		}
		c := &out[i]
		if !slices.Contains(c.rows, m.Name) {
			c.rows = append(c.rows, m.Name)
		}
		if !slices.Contains(c.variants, m.Variant) {
			c.variants = append(c.variants, m.Variant)
		}
		c.values[[2]string{m.Name, m.Variant}] = m.Stats
	}
	return out
}

func (c chart) colour(variant string) string {
	if variant == c.baseline {
		return baselineColour
	}
	n := 0
	for _, v := range c.variants {
		if v == variant {
			break
		}
		if v != c.baseline {
			n++
		}
	}
	return palette[n%len(palette)]
}

func (c chart) height() int {
	rowH := len(c.variants)*(barHeight+barGap) + rowGap
	return titleHeight + legendRow*((len(c.variants)+2)/3) + len(c.rows)*rowH + 8
}

// scaleMax is the largest value the chart must fit.
func (c chart) scaleMax() float64 {
	top := 0.0
	for _, s := range c.values {
		top = math.Max(top, math.Max(s.Max, s.Median))
	}
	if top <= 0 {
		return 1
	}
	return top
}

// render writes the chart as an SVG <g> translated to y.
func (c chart) render(b *strings.Builder, y int) {
	fmt.Fprintf(b, "<g transform=\"translate(0,%d)\">\n", y)
	fmt.Fprintf(b, "<text x=\"4\" y=\"16\" class=\"t\">%s (%s, %s)</text>\n", esc(c.title), esc(string(c.unit)), betterWord(c.unit))
	yy := titleHeight
	for i, v := range c.variants {
		x := 4 + (i%3)*250
		ly := yy + (i/3)*legendRow
		fmt.Fprintf(b, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"%d\" class=\"l\">%s</text>\n",
			x, ly, c.colour(v), x+14, ly+9, esc(legend(v, c.baseline)))
	}
	yy += legendRow * ((len(c.variants) + 2) / 3)
	span := float64(chartWidth - labelWidth - valueWidth)
	top := c.scaleMax()
	for _, row := range c.rows {
		fmt.Fprintf(b, "<text x=\"%d\" y=\"%d\" class=\"r\" text-anchor=\"end\">%s</text>\n", labelWidth-6, yy+barHeight, esc(row))
		for _, v := range c.variants {
			s, ok := c.values[[2]string{row, v}]
			if ok {
				w := s.Median / top * span
				fmt.Fprintf(b, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>%s %s: median %s %s (min %s, max %s, n=%d)</title></rect>\n",
					labelWidth, yy, w, barHeight, c.colour(v), esc(row), esc(v), formatValue(s.Median), esc(string(c.unit)), formatValue(s.Min), formatValue(s.Max), s.N)
				x0, x1 := float64(labelWidth)+s.Min/top*span, float64(labelWidth)+s.Max/top*span
				mid := yy + barHeight/2
				fmt.Fprintf(b, "<path d=\"M%.1f %dH%.1fM%.1f %dV%dM%.1f %dV%d\" class=\"w\"/>\n", x0, mid, x1, x0, mid-3, mid+3, x1, mid-3, mid+3)
				fmt.Fprintf(b, "<text x=\"%.1f\" y=\"%d\" class=\"v\">%s</text>\n", float64(labelWidth)+math.Max(w, s.Max/top*span)+4, yy+barHeight-2, formatValue(s.Median))
			}
			yy += barHeight + barGap
		}
		yy += rowGap
	}
	b.WriteString("</g>\n")
}

func betterWord(u Unit) string {
	if u.HigherIsBetter() {
		return "higher is better"
	}
	return "lower is better"
}

const svgStyle = `<style>text{font-family:sans-serif;font-size:11px;fill:#222}.t{font-size:13px;font-weight:bold}.h{font-size:15px;font-weight:bold}.w{stroke:#222;stroke-width:1;fill:none}.v{font-size:10px}.s{fill:#a00}</style>`

// ResultSVG renders one result's charts as a standalone SVG document, or ""
// when it has no metrics.
func ResultSVG(res Result) string {
	cs := charts(res)
	if len(cs) == 0 {
		return ""
	}
	return document("", cs, nil)
}

// RunSVG renders every result of run as one SVG document headed by the
// machine facts, the accelerator first: the chart the README shows.
func RunSVG(run Run) string {
	header := []string{fmt.Sprintf("Kite benchmarks, accelerator %s", strings.ToUpper(run.Machine.Accel))}
	if note := accelNote(run.Machine.Accel); note != "" {
		header = append(header, note)
	}
	header = append(header,
		fmt.Sprintf("%s, %d CPUs, host kernel %s, QEMU %s, %s", run.Machine.CPUModel, run.Machine.CPUs, run.Machine.Kernel, run.Machine.QEMUVersion, run.Started.Format("2006-01-02")))
	var cs []chart
	var skipped []string
	for _, res := range run.Results {
		cs = append(cs, charts(res)...)
		if res.Status != StatusOK {
			skipped = append(skipped, fmt.Sprintf("%s: %s (%s)", res.Name, res.Status, res.Reason))
		}
	}
	return document(strings.Join(header, "\n"), cs, skipped)
}

func accelNote(accel string) string {
	if accel == "tcg" {
		return "TCG is software emulation, no KVM: absolute figures are several times slower than under KVM"
	}
	return ""
}

func document(header string, cs []chart, footer []string) string {
	var body strings.Builder
	y := 0
	if header != "" {
		for i, line := range strings.Split(header, "\n") {
			class := "l"
			if i == 0 {
				class = "h"
			}
			fmt.Fprintf(&body, "<text x=\"4\" y=\"%d\" class=\"%s\">%s</text>\n", y+18, class, esc(line))
			y += 20
		}
		y += 6
	}
	for _, c := range cs {
		c.render(&body, y)
		y += c.height()
	}
	for _, line := range footer {
		fmt.Fprintf(&body, "<text x=\"4\" y=\"%d\" class=\"s\">%s</text>\n", y+14, esc(line))
		y += 16
	}
	return fmt.Sprintf("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n%s\n<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n%s</svg>\n",
		chartWidth, y+8, chartWidth, y+8, svgStyle, body.String())
}

func esc(s string) string { return html.EscapeString(s) }

func legend(variant, baseline string) string {
	if variant == baseline {
		return variant + " (baseline)"
	}
	return variant
}
