package stacks

import (
	"bufio"
	"github.com/eduai/infra/components/network"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eduai/infra/components/cluster"
	"github.com/eduai/infra/internal/stackfile"
)

// load reads a stack file exactly as the engine would pass it and decodes it.
func load(t *testing.T, stack, file string) (*Config, error) {
	t.Helper()
	sf, err := stackfile.Load("../Pulumi.yaml", file)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return LoadConfig(SourceFromValues(stack, sf.Values))
}

func TestShippedStackFiles(t *testing.T) {
	cases := []struct {
		stack    string
		zones    int
		nat      network.NATStrategy
		flowLogs bool
		cidr     string
	}{
		{"dev", 2, "single", false, "10.10.0.0/16"},
		{"staging", 3, "perAz", true, "10.20.0.0/16"},
		{"prod", 3, "perAz", true, "10.30.0.0/16"},
	}
	for _, c := range cases {
		t.Run(c.stack, func(t *testing.T) {
			cfg, err := load(t, c.stack, "../Pulumi."+c.stack+".yaml")
			if err != nil {
				t.Fatal(err)
			}
			n := cfg.Network
			if len(n.AvailabilityZones) != c.zones || n.NATStrategy != c.nat || n.FlowLogs.Enabled != c.flowLogs ||
				n.CIDR != c.cidr {
				t.Errorf("network: %+v", n)
			}
			if cfg.Environment != Environment(c.stack) || cfg.Region != "us-west-2" {
				t.Errorf("environment %q, region %q", cfg.Environment, cfg.Region)
			}
			for _, k := range []string{"Environment", "Project", "CostCenter", "ManagedBy"} {
				if cfg.Tags[k] == "" {
					t.Errorf("tag %s is empty", k)
				}
			}
			if cfg.Tags["Environment"] != c.stack {
				t.Errorf("Environment tag %q", cfg.Tags["Environment"])
			}
		})
	}
}

// A stack file that sets nothing but the region gets the documented defaults.
func TestDefaults(t *testing.T) {
	cfg, err := LoadConfig(SourceFromValues("staging", map[string]string{"aws:region": "eu-west-1"}))
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.Network
	if !slices.Equal(n.AvailabilityZones, []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}) {
		t.Errorf("zones %v", n.AvailabilityZones)
	}
	if n.CIDR != "10.0.0.0/16" || n.NATStrategy != "perAz" || !n.FlowLogs.Enabled || n.FlowLogs.RetentionDays != 365 ||
		n.FlowLogs.TrafficType != "ALL" || len(n.InterfaceEndpoints) != 6 {
		t.Errorf("network defaults: %+v", n)
	}
	if cfg.Tags["Environment"] != "staging" || cfg.Tags["ManagedBy"] != "pulumi" || cfg.Tags["CostCenter"] != "" {
		t.Errorf("tag defaults: %v", cfg.Tags)
	}
}

// Keys present overwrite the defaults; keys absent keep them; [] means none.
func TestPartialOverride(t *testing.T) {
	cfg, err := LoadConfig(SourceFromValues("dev", map[string]string{
		"aws:region":    "us-west-2",
		"eduai:network": `{"flowLogs":{"retentionDays":30},"interfaceEndpoints":[]}`,
		"eduai:tags":    `{"CostCenter":"x","Team":"platform"}`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Network.FlowLogs.Enabled || cfg.Network.FlowLogs.RetentionDays != 30 || cfg.Network.FlowLogs.TrafficType != "ALL" {
		t.Errorf("flowLogs: %+v", cfg.Network.FlowLogs)
	}
	if cfg.Network.InterfaceEndpoints == nil || len(cfg.Network.InterfaceEndpoints) != 0 {
		t.Errorf("interfaceEndpoints: %#v", cfg.Network.InterfaceEndpoints)
	}
	if cfg.Tags["Team"] != "platform" || cfg.Tags["Project"] != "multimodal-education" {
		t.Errorf("tags: %v", cfg.Tags)
	}
}

// fixtureExpectations reads the "# error:" lines of a fixture.
func fixtureExpectations(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "# error: "); ok {
			want = append(want, rest)
		}
	}
	return want
}

// Every *.bad.yaml fails with exactly the errors its "# error:" lines name,
// each carrying its key path and the bad value.
func TestBadFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.bad.yaml")
	if len(files) < 10 {
		t.Fatalf("only %d bad fixtures", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			want := fixtureExpectations(t, file)
			if len(want) == 0 {
				t.Fatal("fixture has no # error: line")
			}
			_, err := load(t, "dev", file)
			if err == nil {
				t.Fatal("config accepted")
			}
			errs, ok := err.(Errors)
			if !ok {
				t.Fatalf("error is %T, want Errors: %v", err, err)
			}
			if len(errs) != len(want) {
				t.Errorf("got %d errors, want %d:\n%v", len(errs), len(want), err)
			}
			for _, w := range want {
				found := false
				for _, e := range errs {
					if strings.HasPrefix(e.Error(), w) {
						found = true
					}
				}
				if !found {
					t.Errorf("no error starts with %q; got:\n%v", w, err)
				}
			}
		})
	}
}

func TestDecodeStrictPaths(t *testing.T) {
	type inner struct {
		Ports []int `json:"ports"`
	}
	type outer struct {
		Items []inner `json:"items"`
		Name  string  `json:"name"`
	}
	var errs Errors
	var v outer
	decodeStrict("svc", `{"items":[{"ports":[80,"x"]},{"port":1}],"name":3}`, &v, &errs)
	got := errs.Error()
	for _, want := range []string{
		`svc.items[0].ports[1]: must be an integer (got "x")`,
		`svc.items[1].port: unknown key (known: ports)`,
		`svc.name: must be a string (got 3)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	errs = nil
	decodeStrict("svc", `not json`, &v, &errs)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `svc: must be an object (got "not json")`) {
		t.Errorf("got %v", errs)
	}
}

// A receiver credential must be a secret where the runtime says which keys
// are (the Go language host, the offline preview); the error never repeats the value.
func TestReceiverCredentialMustBeSecret(t *testing.T) {
	dir := t.TempDir()
	write := func(name, credential string) string {
		path := filepath.Join(dir, name)
		body := "config:\n  aws:region: us-west-2\n  eduai:tags: {CostCenter: cc-1}\n" +
			"  eduai:observability:\n    alerting:\n      receivers:\n        oncall:\n          type: pagerduty\n" +
			"          credential: " + credential + "\n      critical: oncall\n"
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	source := func(file string) ConfigSource {
		sf, err := stackfile.Load("../Pulumi.yaml", file)
		if err != nil {
			t.Fatal(err)
		}
		src := SourceFromValues("staging", sf.Values)
		src.SecretKeys = append([]string{}, sf.SecretKeys...)
		return src
	}
	_, err := LoadConfig(source(write("plain.yaml", "routing-key-123")))
	if err == nil || !strings.Contains(err.Error(), "observability.alerting.receivers.oncall.credential: is in plain text") ||
		strings.Contains(err.Error(), "routing-key-123") {
		t.Errorf("plain-text credential: %v", err)
	}
	cfg, err := LoadConfig(source(write("secret.yaml", "{secure: v1:abc}")))
	if err != nil {
		t.Fatalf("secret credential rejected: %v", err)
	}
	args := cfg.observabilityArgs(&cluster.Cluster{Name: "eduai-staging"})
	if len(args.Alerting.Receivers) != 1 || args.Alerting.Critical != "oncall" || args.Alerting.Receivers[0].Credential == "" {
		t.Errorf("receivers not handed on: %+v", args.Alerting)
	}
}

// Issue #17: each credential on its own. A plain Slack webhook beside a
// secret PagerDuty key was accepted because the whole key was secret; so
// was any credential with mode: logs.
func TestEachCredentialMustBeSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "Pulumi.staging.yaml")
	body := "config:\n  aws:region: us-west-2\n  eduai:tags: {CostCenter: cc-1}\n" +
		"  eduai:observability:\n    mode: logs\n    alerting:\n      receivers:\n" +
		"        oncall: {type: pagerduty, credential: {secure: v1:abc}}\n" +
		"        chat: {type: slack, channel: '#alerts', credential: https://hooks.slack.com/services/T0/B0/plain}\n" +
		"      critical: oncall\n      warning: chat\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	sf, err := stackfile.Load("../Pulumi.yaml", file)
	if err != nil {
		t.Fatal(err)
	}
	src := SourceFromValues("staging", sf.Values)
	src.SecretKeys, src.SecretPaths = sf.SecretKeys, sf.SecretPaths
	_, err = LoadConfig(src)
	if err == nil || !strings.Contains(err.Error(), "observability.alerting.receivers.chat.credential: is in plain text") ||
		strings.Contains(err.Error(), "receivers.oncall.credential") || strings.Contains(err.Error(), "hooks.slack.com") {
		t.Errorf("plain Slack webhook beside a secret PagerDuty key: %v", err)
	}
	// The engine's view reads the same paths from the stack file, and only
	// when they agree with the keys it says are secret.
	if got := secretPathsFromFile(file, sf.SecretKeys); strings.Join(got, ",") != strings.Join(sf.SecretPaths, ",") || len(got) != 1 {
		t.Errorf("paths from the file %v, want %v", got, sf.SecretPaths)
	}
	if got := secretPathsFromFile(file, []string{"eduai:observability", "eduai:services"}); got != nil {
		t.Errorf("a file that disagrees with the engine is used: %v", got)
	}
}

// A map entry starts from its template in Defaults (issue #21): a key it
// leaves out takes the default, a key it sets keeps its value, even zero or
// false (before, resolve replaced zeros, so `replicas: 0` silently became 3).
func TestEntriesStartFromTheirTemplates(t *testing.T) {
	values := map[string]string{
		"aws:region": "us-west-2",
		"eduai:services": `{"api":{"image":{"repository":"r","tag":"1"},"probes":false,"autoscaling":{"enabled":false},` +
			`"ingress":{"host":"api.eduai.com","path":"/"}},"zero":{"image":{"repository":"r"},"replicas":0,"autoscaling":{"enabled":false}}}`,
		"eduai:cluster": `{"nodeGroups":{"gpu":{"instanceTypes":["g5.xlarge"],"minSize":0,"maxSize":2,"desiredSize":0}}}`,
		"eduai:storage": `{"buckets":{"logs":{}}}`,
		"eduai:mesh":    `{"enabled":false}`,
	}
	_, err := LoadConfig(SourceFromValues("dev", values))
	if err == nil || !strings.Contains(err.Error(), "services.zero.replicas: must be 1..100 (got 0)") {
		t.Fatalf("an explicit zero was not kept: %v", err)
	}
	values["eduai:services"] = strings.Replace(values["eduai:services"], `"replicas":0`, `"replicas":5`, 1)
	cfg, err := LoadConfig(SourceFromValues("dev", values))
	if err != nil {
		t.Fatal(err)
	}
	api := cfg.Services["api"]
	if api.Port != 8080 || api.Replicas != 3 || api.Probes || !api.Analysis || api.Autoscaling.Enabled ||
		api.Autoscaling.Min != 3 || api.Resources.Limits.Memory != "2Gi" || api.Ingress.RateLimitRPS != 1000 ||
		api.Strategy != "rolling" || api.BlueGreen.ActiveColor != "blue" || cfg.Services["zero"].Replicas != 5 {
		t.Errorf("service api: %+v", api)
	}
	if g := cfg.Cluster.NodeGroups["gpu"]; g.DiskSizeGiB != 100 || g.MaxUnavailablePercentage != 33 || g.MinSize != 0 {
		t.Errorf("node group gpu: %+v", g)
	}
	if b := cfg.Storage.Buckets["logs"]; b.NoncurrentDays != 90 {
		t.Errorf("bucket logs: %+v", b)
	}
	if !cfg.GitOps.AutoSync || cfg.Backup.Enabled || !cfg.Runner.Enabled || cfg.Runner.InstanceType != "m7i.large" {
		t.Errorf("dev's environment defaults: gitops %+v, backup %+v, runner %+v", cfg.GitOps, cfg.Backup, cfg.Runner)
	}
}
