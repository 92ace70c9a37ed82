package stacks

import (
	"errors"
	"strings"
	"testing"

	"github.com/eduai/infra/components/database"
	"github.com/eduai/infra/components/field"
)

// A component's field errors come out at the config keys their bindings
// name (issue #21: one rule, one message, the key path); an argument no
// binding names, or a plain error, stays under the section.
func TestComponentErrorsAtKeyPaths(t *testing.T) {
	var list field.List
	list.Add(field.Range, "BackupRetentionDays", 60, "must be 1..35")
	list.Add(field.Range, "ReaderScaling.MaxReaders", 16, "must be at most 15")
	list.Add(field.Required, "SubnetGroupName", nil, "is required")
	var errs Errors
	errs.component("database", databaseBindings, list)
	errs.component("database", databaseBindings, errors.New("wiring"))
	var cl field.List
	cl.Add(field.Enum, "NodeGroups[gpu].Taints[0].Effect", "NoSchedule", "must be one of NO_SCHEDULE")
	cl.Add(field.Format, "NodeGroups[GPU].Name", "GPU", "must be a node group name")
	cl.Add(field.Enum, "LogTypes[1]", "kubelet", "must be one of api")
	cl.Add(field.Format, "Addons[vpc-cni]", "latest", "must be an EKS add-on version")
	errs.component("cluster", clusterBindings, cl)
	got := errs.Error()
	for _, want := range []string{
		`cluster.nodeGroups.gpu.taints[0].effect: must be one of NO_SCHEDULE (got "NoSchedule")`,
		`cluster.nodeGroups.GPU: must be a node group name (got "GPU")`,
		`cluster.logTypes[1]: must be one of api (got "kubelet")`,
		`cluster.addons.vpc-cni: must be an EKS add-on version (got "latest")`,
		"database.backupRetentionDays: must be 1..35 (got 60)",
		"database.readerScaling.maxReaders: must be at most 15 (got 16)",
		"database: SubnetGroupName: is required",
		"database: wiring",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}

// The bindings build the arguments from the config: every bound value
// arrives, converted to the component's type.
func TestBindingsBuildTheArgs(t *testing.T) {
	c := Defaults("prod", Prod)
	c.Database.ReaderScaling = &ReaderScalingConfig{MinReaders: 2, MaxReaders: 5}
	c.Database.EngineVersion = "17.4"
	args := c.databaseArgs(nil, database.Primary)
	if args.EngineVersion != "17.4" || args.Instances != 2 || args.DatabaseName != "eduai" ||
		args.ReaderScaling == nil || args.ReaderScaling.MaxReaders != 5 || args.Role != database.Primary {
		t.Errorf("database args %+v", args)
	}
	if c.databaseArgs(nil, database.Secondary).ReaderScaling != nil {
		t.Error("a secondary got reader scaling")
	}
}
