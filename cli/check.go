package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/kite-vm/kite/cli/hostcheck"
	"github.com/kite-vm/kite/configs"
)

func runCheck(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "check", "")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	rep := hostcheck.Run(ctx, hostOptions(cfg))
	if *asJSON {
		enc := json.NewEncoder(e.io.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printCheck(e, rep)
	}
	if !rep.CanRun {
		return exitCodeError{code: exitError}
	}
	return nil
}

func hostOptions(cfg *configs.Config) hostcheck.Options {
	var rules []hostcheck.VFRulePF
	for i, r := range cfg.Devices.VF {
		rules = append(rules, hostcheck.VFRulePF{Rule: fmt.Sprintf("devices.vf[%d]", i), PF: r.PF})
	}
	return hostcheck.Options{
		VFRules:       rules,
		QEMUPath:      cfg.Hypervisor.Path,
		VirtiofsdPath: cfg.SharedFS.VirtiofsdPath,
		NeedVirtiofsd: cfg.SharedFS.Driver == configs.FSVirtioFS,
		KernelPath:    cfg.Guest.KernelPath(),
		InitrdPath:    cfg.Guest.InitrdPath(),
		Accel:         string(cfg.Hypervisor.Accel),
		Seccomp:       string(cfg.Runtime.Seccomp),
		QEMUSeccomp:   cfg.Hypervisor.Seccomp,
		QEMUUser:      cfg.Hypervisor.User,
		NinePEveryVM:  cfg.SharedFS.Driver == configs.FSVirtio9P || cfg.Hotplug.Spare9PShares > 0,
	}
}

func printCheck(e *env, rep hostcheck.Report) {
	tw := tabwriter.NewWriter(e.io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSTATUS\tDETAIL")
	for _, r := range rep.Results {
		status := string(r.Status)
		if r.Required {
			status += " (required)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, status, r.Detail)
		if r.Status != hostcheck.OK && r.Hint != "" {
			fmt.Fprintf(tw, "\t\t  fix: %s\n", r.Hint)
		}
	}
	tw.Flush()
	verdict := "Kite can run here"
	if !rep.CanRun {
		var failed []string
		for _, r := range rep.Results {
			if r.Required && r.Status == hostcheck.Fail {
				failed = append(failed, r.Name)
			}
		}
		verdict = "Kite cannot run here yet: fix " + strings.Join(failed, ", ")
	}
	fmt.Fprintf(e.io.Out, "\n%s (accelerator: %s)\n", verdict, rep.Accel)
}
