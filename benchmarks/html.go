package benchmarks

import (
	"fmt"
	"html/template"
	"io"
	"strings"
)

// reportTemplate is the self-contained HTML report: inline CSS and SVG, no
// script and nothing fetched from the network.
var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"svg":   func(r Result) template.HTML { return template.HTML(ResultSVG(r)) },
	"value": formatValue,
	"ratio": func(r Result, m *Metric) string {
		if v, ok := Ratio(r, m); ok {
			return fmt.Sprintf("%.2fx", v)
		}
		return ""
	},
	"upper": strings.ToUpper,
	"join":  strings.Join,
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Kite benchmarks ({{upper .Machine.Accel}})</title>
<style>
body{font-family:sans-serif;max-width:60em;margin:1em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
td:first-child,th:first-child,td.l{text-align:left}.skip{color:#a00}.warn{background:#fee;padding:.5em}
</style></head><body>
<h1>Kite benchmarks</h1>
{{if eq .Machine.Accel "tcg"}}<p class="warn">Accelerator: <b>TCG</b> (software emulation, no KVM). Absolute figures are several times slower than under KVM; compare only with other TCG runs.</p>{{end}}
{{if .Interrupted}}<p class="warn">The run was interrupted: these results are partial.</p>{{end}}
<table>
<tr><th>accelerator</th><td class="l">{{.Machine.Accel}}</td></tr>
<tr><th>CPU</th><td class="l">{{.Machine.CPUModel}} ({{.Machine.CPUs}} CPUs, {{.Machine.MemoryMiB}} MiB)</td></tr>
<tr><th>host kernel</th><td class="l">{{.Machine.Kernel}}</td></tr>
<tr><th>QEMU</th><td class="l">{{.Machine.QEMUVersion}}</td></tr>
<tr><th>kite</th><td class="l">{{.KiteVersion}} ({{.Machine.GoVersion}})</td></tr>
<tr><th>run</th><td class="l">{{.Started.Format "2006-01-02 15:04:05 MST"}}, {{if .Options.Quick}}quick, {{end}}{{.Options.Warmup}} warm-up + {{.Options.Repeat}} repeats</td></tr>
</table>
{{range $r := .Results}}
<h2 id="{{$r.Name}}">{{$r.Title}} <small>({{$r.Name}})</small></h2>
{{if ne $r.Status "ok"}}<p class="skip">{{$r.Status}}: {{$r.Reason}}</p>{{end}}
{{if $r.Baseline}}<p>Baseline: {{$r.Baseline}}.</p>{{end}}
{{if $r.Notes}}<p>{{join $r.Notes "; "}}.</p>{{end}}
{{if $r.Metrics}}{{svg $r}}
<table><tr><th>metric</th><th>variant</th><th>median</th><th>min</th><th>max</th><th>unit</th><th>n</th><th>vs baseline</th></tr>
{{range $m := $r.Metrics}}<tr><td>{{$m.Name}}</td><td class="l">{{$m.Variant}}</td><td>{{value $m.Median}}</td><td>{{value $m.Min}}</td><td>{{value $m.Max}}</td><td>{{$m.Unit}}</td><td>{{$m.N}}</td><td>{{ratio $r $m}}</td></tr>
{{end}}</table>{{end}}
{{end}}
</body></html>
`))

// WriteHTML writes the run's report.
func WriteHTML(w io.Writer, run Run) error {
	return reportTemplate.Execute(w, run)
}
