package observability

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/eduai/infra/internal/crdcheck"
	"github.com/eduai/infra/internal/mockstack"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"sigs.k8s.io/yaml"

	amconfig "github.com/prometheus/alertmanager/config"
)

var versions = map[Chart]string{FluentBit: "0.1.35", KubePrometheusStack: "79.10.0", Jaeger: "4.1.5"}

func logsArgs() *Args {
	return &Args{ClusterName: "eduai-dev", Cluster: pulumi.String("eduai-dev"), Region: "us-west-2", RegionalARN: pulumi.String(testKeyARN), Mode: Logs,
		ChartVersions: map[Chart]string{FluentBit: versions[FluentBit]}, LogRetentionDays: 14}
}

func fullArgs() *Args {
	return &Args{ClusterName: "eduai-prod", Cluster: pulumi.String("eduai-prod"), Region: "us-west-2", RegionalARN: pulumi.String(testKeyARN), Mode: Full, ChartVersions: versions,
		LogRetentionDays: 90, Prometheus: PrometheusArgs{Retention: "30d", StorageGiB: 100, Replicas: 2},
		Alerting: AlertingArgs{Receivers: []Receiver{
			{Name: "oncall", Type: PagerDuty, Credential: "pd-routing-key-123"},
			{Name: "team", Type: Slack, Channel: "#eduai-alerts", Credential: "https://hooks.slack.com/services/T/B/X"},
		}, Critical: "oncall", Warning: "team"},
		ServicesNamespace: "eduai", ScrapeIstio: true, Protect: true}
}

func run(t *testing.T, args *Args) *mockstack.Recorder {
	t.Helper()
	rec, err := mockstack.RunKubernetes(func(ctx *pulumi.Context, k8s pulumi.ResourceOption) error {
		_, err := New(ctx, "observability", args, k8s)
		return err
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return rec
}

func releases(rec *mockstack.Recorder) map[string]*mockstack.Resource {
	out := map[string]*mockstack.Resource{}
	for _, r := range rec.ByType("kubernetes:helm.sh/v3:Release") {
		out[r.String("chart")] = r
	}
	return out
}

func values(r *mockstack.Resource) map[string]any {
	return r.Inputs["values"].Mappable().(map[string]any)
}

func dig(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

// unsecret reads a map that is secret as a whole or holds secrets.
func unsecret(v resource.PropertyValue) map[string]any {
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	out := map[string]any{}
	for k, e := range v.ObjectValue() {
		if e.IsSecret() {
			e = e.SecretValue().Element
		}
		out[string(k)] = e.Mappable()
	}
	return out
}

func TestLogsOnly(t *testing.T) {
	rec := run(t, logsArgs())
	rels := releases(rec)
	if len(rels) != 1 || rels["aws-for-fluent-bit"] == nil {
		t.Fatalf("releases %v, want only aws-for-fluent-bit", rels)
	}
	fb := rels["aws-for-fluent-bit"]
	if fb.String("version") != "0.1.35" || fb.String("namespace") != LogsNamespace {
		t.Errorf("fluent bit release %v", fb.Inputs)
	}
	v := values(fb)
	if dig(v, "cloudWatchLogs", "enabled") != true || dig(v, "cloudWatchLogs", "autoCreateGroup") != false ||
		dig(v, "cloudWatchLogs", "region") != "us-west-2" {
		t.Errorf("cloudWatchLogs values %v", v["cloudWatchLogs"])
	}
	lg := rec.Named("aws:cloudwatch/logGroup:LogGroup", "observability-containers")
	if lg == nil || lg.String("name") != "/aws/eks/eduai-dev/containers" || lg.Inputs["retentionInDays"].NumberValue() != 14 {
		t.Fatalf("log group %v", lg)
	}
	assoc := rec.Named("aws:eks/podIdentityAssociation:PodIdentityAssociation", "observability-fluent-bit")
	if assoc == nil || assoc.String("namespace") != LogsNamespace || assoc.String("serviceAccount") != "aws-for-fluent-bit" {
		t.Errorf("pod identity %v", assoc)
	}
	policy := rec.Named("aws:iam/rolePolicy:RolePolicy", "observability-fluent-bit").String("policy")
	if !strings.Contains(policy, "logs:PutLogEvents") || strings.Contains(policy, `"Resource":"*"`) {
		t.Errorf("fluent bit policy %s", policy)
	}
	for _, typ := range []string{"kubernetes:monitoring.coreos.com/v1:PrometheusRule", "kubernetes:core/v1:ConfigMap",
		"random:index/randomPassword:RandomPassword", "kubernetes:storage.k8s.io/v1:StorageClass"} {
		if n := len(rec.ByType(typ)); n != 0 {
			t.Errorf("logs mode registered %d %s", n, typ)
		}
	}
}

func crds(t *testing.T) map[string]*crdcheck.CRD {
	t.Helper()
	c, err := crdcheck.Kinds("PrometheusRule", "ServiceMonitor", "PodMonitor")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFull(t *testing.T) {
	rec := run(t, fullArgs())
	rels := releases(rec)
	if len(rels) != 3 {
		t.Fatalf("releases %v", rels)
	}
	for chart, want := range versions {
		r := rels[string(chart)]
		if r == nil || r.String("version") != want || r.Inputs["repositoryOpts"].ObjectValue()["repo"].StringValue() != chartRepos[chart] {
			t.Errorf("%s: %v", chart, r)
		}
	}
	kps := values(rels["kube-prometheus-stack"])
	spec := dig(kps, "prometheus", "prometheusSpec").(map[string]any)
	if spec["retention"] != "30d" || spec["replicas"] != float64(2) || spec["retentionSize"] != "85GB" {
		t.Errorf("prometheusSpec %v", spec)
	}
	claim := dig(spec, "storageSpec", "volumeClaimTemplate", "spec").(map[string]any)
	if claim["storageClassName"] != StorageClass || dig(claim, "resources", "requests", "storage") != "100Gi" {
		t.Errorf("prometheus volume %v", claim)
	}
	if dig(kps, "grafana", "admin", "existingSecret") != GrafanaAdminSecret || dig(kps, "grafana", "adminPassword") != nil {
		t.Errorf("grafana admin %v", kps["grafana"])
	}
	// Issue #17: a ReadWriteOnce volume under a Deployment: Recreate, not a rolling update.
	if dig(kps, "grafana", "persistence", "enabled") != true || dig(kps, "grafana", "deploymentStrategy", "type") != "Recreate" {
		t.Errorf("grafana's persistent volume with strategy %v", dig(kps, "grafana", "deploymentStrategy"))
	}
	// No credential reaches the Helm values.
	raw, _ := json.Marshal(kps)
	for _, secret := range []string{"pd-routing-key-123", "hooks.slack.com"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("credential %q in Helm values", secret)
		}
	}

	sc := rec.Named("kubernetes:storage.k8s.io/v1:StorageClass", "observability-gp3")
	if sc.String("provisioner") != "ebs.csi.aws.com" || sc.String("reclaimPolicy") != "Retain" ||
		sc.Inputs["parameters"].ObjectValue()["type"].StringValue() != "gp3" ||
		sc.Inputs["parameters"].ObjectValue()["encrypted"].StringValue() != "true" {
		t.Errorf("storage class %v", sc.Inputs)
	}
	grafana := rec.Named("kubernetes:core/v1:Secret", "observability-grafana-admin")
	if data := grafana.Inputs["stringData"]; !data.ContainsSecrets() || unsecret(data)["admin-user"] != "admin" {
		t.Errorf("grafana admin secret: %v", data)
	}
	receivers := rec.Named("kubernetes:core/v1:Secret", "observability-receivers").Inputs["stringData"]
	creds := unsecret(receivers)
	if !receivers.ContainsSecrets() || creds["oncall"] != "pd-routing-key-123" || len(creds) != 2 {
		t.Errorf("receiver credentials: %v", receivers)
	}
	if got := dig(kps, "alertmanager", "alertmanagerSpec", "secrets"); len(got.([]any)) != 1 || got.([]any)[0] != ReceiversSecret {
		t.Errorf("alertmanager secrets %v", got)
	}

	schemas := crds(t)
	kinds := map[string]int{}
	for _, r := range rec.Resources() {
		if !strings.Contains(r.Type, "monitoring.coreos.com/") {
			continue
		}
		obj := r.Inputs.Mappable()
		kind := obj["kind"].(string)
		kinds[kind]++
		if p := schemas[kind].Validate(obj); len(p) != 0 {
			t.Errorf("%s %s against its CRD: %v", kind, r.Name, p)
		}
		if !slices.Contains(r.Dependencies, rels["kube-prometheus-stack"].URN) {
			t.Errorf("%s does not wait for the operator's CRDs", r.Name)
		}
	}
	if kinds["PrometheusRule"] != 1 || kinds["ServiceMonitor"] != 1 || kinds["PodMonitor"] != 1 {
		t.Errorf("custom resources %v", kinds)
	}

	maps := rec.ByType("kubernetes:core/v1:ConfigMap")
	if len(maps) != 4 {
		t.Fatalf("%d dashboard ConfigMaps, want 4", len(maps))
	}
	for _, cm := range maps {
		if cm.Inputs["metadata"].ObjectValue()["labels"].ObjectValue()[DashboardLabel].StringValue() != "1" {
			t.Errorf("%s lacks the dashboard label", cm.Name)
		}
		for key, v := range cm.Inputs["data"].ObjectValue() {
			var d map[string]any
			if err := json.Unmarshal([]byte(v.StringValue()), &d); err != nil || !strings.HasSuffix(string(key), ".json") {
				t.Errorf("%s/%s: %v", cm.Name, key, err)
			}
		}
	}
}

func TestFullWithoutMeshOrReceivers(t *testing.T) {
	args := fullArgs()
	args.ScrapeIstio, args.Alerting, args.Protect = false, AlertingArgs{}, false
	rec := run(t, args)
	if n := len(rec.ByType("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")) +
		len(rec.ByType("kubernetes:monitoring.coreos.com/v1:PodMonitor")); n != 0 {
		t.Errorf("%d Istio monitors without the mesh", n)
	}
	if rec.Named("kubernetes:core/v1:Secret", "observability-receivers") != nil {
		t.Error("receivers secret without receivers")
	}
	sc := rec.Named("kubernetes:storage.k8s.io/v1:StorageClass", "observability-gp3")
	if sc.String("reclaimPolicy") != "Delete" {
		t.Errorf("unprotected reclaim policy %q", sc.String("reclaimPolicy"))
	}
	var cfg = dig(values(releases(rec)["kube-prometheus-stack"]), "alertmanager", "config").(map[string]any)
	if _, routed := cfg["route"].(map[string]any)["routes"]; routed {
		t.Errorf("routes without receivers: %v", cfg["route"])
	}
}

// The rendered Alertmanager config is what Alertmanager itself accepts, and
// routes each severity to its receiver.
func TestAlertmanagerConfig(t *testing.T) {
	for _, a := range []AlertingArgs{fullArgs().Alerting, {},
		{Receivers: []Receiver{{Name: "hook", Type: Webhook, Credential: "x"}}, Critical: "hook"}} {
		data, err := yaml.Marshal(AlertmanagerConfig(a))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := amconfig.Load(string(data))
		if err != nil {
			t.Fatalf("alertmanager rejects %v:\n%s\n%v", a, data, err)
		}
		routes := map[string]string{}
		for _, r := range cfg.Route.Routes {
			routes[r.Matchers[0].Value] = r.Receiver
		}
		if routes[Critical] != a.Critical || routes[Warning] != a.Warning || cfg.Route.Receiver != "null" {
			t.Errorf("routes %v for %+v", routes, a)
		}
	}
	cfg, _ := yaml.Marshal(AlertmanagerConfig(fullArgs().Alerting))
	if !strings.Contains(string(cfg), "routing_key_file: /etc/alertmanager/secrets/alertmanager-receivers/oncall") {
		t.Errorf("pagerduty key not read from the mounted secret:\n%s", cfg)
	}
}

func TestBadArgs(t *testing.T) {
	for _, c := range []struct {
		mutate func(*Args)
		want   string
	}{
		{func(a *Args) { a.Mode = "metrics" }, `Mode: must be one of logs, full (got "metrics")`},
		{func(a *Args) { a.ChartVersions = map[Chart]string{FluentBit: "0.1.35", KubePrometheusStack: "79"} },
			`ChartVersions[kube-prometheus-stack]: must be an exact chart version like 79.10.0 (got "79")`},
		{func(a *Args) { a.LogRetentionDays = 10 }, "LogRetentionDays: must be one of the values CloudWatch Logs accepts"},
		{func(a *Args) { a.Prometheus.Retention = "15 days" }, `Prometheus.Retention: must be a duration like 15d, 12h, 2w or 1y (got "15 days")`},
		{func(a *Args) { a.Prometheus.StorageGiB = 5 }, "Prometheus.StorageGiB: must be 10..16384 (got 5)"},
		{func(a *Args) { a.Alerting.Critical = "pager" }, `Alerting.Critical: names no receiver in the receivers (got "pager")`},
		{func(a *Args) { a.Alerting.Receivers[1].Channel = "" }, `Alerting.Receivers[team].Channel: a slack receiver needs a channel like #alerts (got "")`},
		{func(a *Args) { a.Alerting.Receivers[0].Credential = "" }, "Alerting.Receivers[oncall].Credential: is required"},
		{func(a *Args) { a.ChartVersions = maps.Clone(a.ChartVersions); a.ChartVersions["grafana"] = "1.0.0" }, "ChartVersions[grafana]: unknown chart (known: aws-for-fluent-bit"},
		{func(a *Args) { a.Prometheus.Replicas = 6 }, "Prometheus.Replicas: must be 1..5 (got 6)"},
		{func(a *Args) { a.Alerting.Receivers[0].Type = "email" }, `Alerting.Receivers[oncall].Type: must be one of slack, pagerduty, webhook (got "email")`},
	} {
		args := fullArgs()
		c.mutate(args)
		rec, err := mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
			_, err := New(ctx, "observability", args)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), c.want) || len(rec.Resources()) != 0 {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}

// testKeyARN stands for the cluster's secrets key: the log group's key policy takes region and account from it.
const testKeyARN = "arn:aws:kms:us-west-2:123456789012:key/cluster-secrets"

// The container log group is encrypted with its own key, which CloudWatch Logs of the region may use.
func TestLogGroupEncrypted(t *testing.T) {
	rec := run(t, logsArgs())
	group := rec.Named("aws:cloudwatch/logGroup:LogGroup", "observability-containers")
	key := rec.Named("aws:kms/key:Key", "observability-containers")
	if group == nil || key == nil || !group.DependsOnURN("kmsKeyId", key.URN) {
		t.Fatalf("log group %v key %v", group, key)
	}
	policy := key.String("policy")
	for _, want := range []string{`"Service":"logs.us-west-2.amazonaws.com"`, `arn:aws:iam::123456789012:root`,
		`"kms:EncryptionContext:aws:logs:arn":"arn:aws:logs:us-west-2:123456789012:log-group:*"`} {
		if !strings.Contains(policy, want) {
			t.Errorf("key policy lacks %s: %s", want, policy)
		}
	}
}

func TestOlderImage(t *testing.T) {
	for _, c := range []struct {
		a, b  string
		older bool
	}{{"2.32.2.20240516", "2.32.5", true}, {"2.32.5", "2.32.5", false}, {"3.2.1", "2.32.5", false},
		{"2.32.5.20250101", "2.32.5", false}, {"2.9.0", "2.32.5", true}} {
		if got := OlderImage(c.a, c.b); got != c.older {
			t.Errorf("OlderImage(%s, %s) = %v", c.a, c.b, got)
		}
	}
	// The chart's own default is what the review found: older than Pod Identity.
	if img := EffectiveImage(FluentBit, "0.1.35", map[string]any{}); !OlderImage(img, MinimumImages[FluentBit].Version) {
		t.Errorf("chart 0.1.35 defaults to %s", img)
	}
}

// Issue #17: the monitoring namespace denies ingress but from itself, spans
// (OTLP) from anywhere, Prometheus queries from QueryNamespaces, and the
// operator's webhook port.
func TestMonitoringIsolated(t *testing.T) {
	args := fullArgs()
	args.QueryNamespaces = []string{"argo-rollouts"}
	rec := run(t, args)
	deny := rec.Named("kubernetes:networking.k8s.io/v1:NetworkPolicy", "observability-monitoring-default-deny")
	allow := rec.Named("kubernetes:networking.k8s.io/v1:NetworkPolicy", "observability-monitoring-allow")
	if deny == nil || allow == nil {
		t.Fatalf("policies %v %v", deny, allow)
	}
	text, _ := json.Marshal(allow.Inputs.Mappable())
	s := string(text)
	for _, want := range []string{`{"from":[{"podSelector":{}}]}`, `"ports":[{"port":4317,"protocol":"TCP"},{"port":4318,"protocol":"TCP"}]`,
		`"kubernetes.io/metadata.name":"argo-rollouts"}}}],"ports":[{"port":9090,"protocol":"TCP"}]`} {
		if !strings.Contains(s, want) {
			t.Errorf("allow lacks %s: %s", want, s)
		}
	}
}
