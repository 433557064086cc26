package guest

// Step names a phase of a build, for progress display.
type Step string

// The steps a build reports, in the order they happen.
const (
	StepResolve   Step = "resolve"   // asking apt which kernel (or source) package is current
	StepDownload  Step = "download"  // apt-get download of the kernel (or source) package
	StepKernel    Step = "kernel"    // building the Kite kernel: start and end
	StepExtract   Step = "extract"   // reading the kernel and modules out of the .deb, or unpacking the source
	StepConfig    Step = "config"    // the Kite kernel's configuration: fragments merged and checked
	StepCompile   Step = "compile"   // compiling the Kite kernel (reported every few seconds)
	StepInstall   Step = "install"   // the Kite kernel's vmlinux and modules into the cache
	StepVmlinux   Step = "vmlinux"   // decompressing the bzImage into vmlinux, or copying the Kite one
	StepModules   Step = "modules"   // resolving the module load order
	StepRootImage Step = "rootimage" // writing the NVDIMM root image (FormatNVDIMM)
	StepInitramfs Step = "initramfs" // writing the initramfs
	StepCached    Step = "cached"    // nothing changed: outputs verified and kept
	StepDone      Step = "done"
)

// Event is one progress report.
type Event struct {
	Step    Step
	Message string // for people, e.g. "decompressing vmlinux (7.7 MiB xz)"
}

// Progress receives step events during a build. Build calls it from the
// calling goroutine.
type Progress interface {
	Report(Event)
}

// ProgressFunc adapts a function to Progress.
type ProgressFunc func(Event)

// Report calls f(e).
func (f ProgressFunc) Report(e Event) { f(e) }

type noProgress struct{}

func (noProgress) Report(Event) {}
