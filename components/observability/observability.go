// Package observability installs what the platform is watched with.
//
// Every mode ships container logs to CloudWatch Logs: Fluent Bit
// (aws-for-fluent-bit) on every node, writing to a log group this component
// creates with a retention, through an EKS Pod Identity role that may write
// only to that group. Mode "logs" stops there (the seed's dev: "Minimal (logs
// only)"). Mode "full" adds, in namespace monitoring:
//   - kube-prometheus-stack: Prometheus on encrypted gp3 volumes with a
//     retention, Alertmanager routing critical and warning alerts to
//     receivers from config (credentials in a Secret, never in Helm values),
//     Grafana with a generated admin password kept in a Secret;
//   - Jaeger, which the mesh's tracing points at (TracingService);
//   - the seed's deployment alerts as a PrometheusRule, Istio scraping
//     (ServiceMonitor, PodMonitor) and the deployment dashboards.
//
// Every chart is a kubernetes:helm.sh/v3:Release with a pinned version; the
// custom resources are the Prometheus operator's own Go types.
package observability

import (
	"errors"
	"fmt"
	"github.com/eduai/infra/components/enum"
	"github.com/eduai/infra/components/field"
	"github.com/eduai/infra/components/internal/netpol"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/eduai/infra/components/internal/secure"

	"github.com/eduai/infra/components/internal/k8sobj"
	"github.com/eduai/infra/components/internal/podidentity"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	storagev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/storage/v1"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Object is the shared typed custom-resource shape.
type Object = k8sobj.Object

var labels = map[string]string{"app.kubernetes.io/part-of": "eduai", "app.kubernetes.io/managed-by": "pulumi"}

// Mode is how much is installed.
type Mode string

const (
	// Logs: container logs to CloudWatch Logs only.
	Logs Mode = "logs"
	// Full: logs plus metrics, alerts, dashboards and traces.
	Full Mode = "full"
)

// Modes lists the modes.
var Modes = []Mode{Logs, Full}

// Chart names a chart this component installs.
type Chart string

const (
	FluentBit           Chart = "aws-for-fluent-bit"
	KubePrometheusStack Chart = "kube-prometheus-stack"
	Jaeger              Chart = "jaeger"
)

// Charts lists the charts of a mode.
func Charts(m Mode) []Chart {
	if m == Full {
		return []Chart{FluentBit, KubePrometheusStack, Jaeger}
	}
	return []Chart{FluentBit}
}

// AllCharts lists every chart the component knows.
var AllCharts = Charts(Full)

var chartRepos = map[Chart]string{
	FluentBit:           "https://aws.github.io/eks-charts",
	KubePrometheusStack: "https://prometheus-community.github.io/helm-charts",
	Jaeger:              "https://jaegertracing.github.io/helm-charts",
}

// Namespaces.
const (
	LogsNamespace       = "amazon-cloudwatch"
	MonitoringNamespace = "monitoring"
)

// Where the mesh sends spans: Jaeger's OTLP gRPC receiver.
const (
	TracingService = "jaeger-collector." + MonitoringNamespace + ".svc.cluster.local"
	TracingPort    = 4317
)

// PrometheusURL is where in-cluster clients (the canary analysis) query Prometheus.
const PrometheusURL = "http://kube-prometheus-stack-prometheus." + MonitoringNamespace + ".svc.cluster.local:9090"

// StorageClass is the encrypted gp3 class the monitoring volumes use.
const StorageClass = "gp3-encrypted"

// GrafanaAdminSecret holds Grafana's admin user and generated password.
const GrafanaAdminSecret = "grafana-admin"

const fluentBitServiceAccount = "aws-for-fluent-bit"

var (
	chartVersionPattern = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+$`)
	retentionPattern    = regexp.MustCompile(`^[0-9]+(h|d|w|y)$`)
	namePattern         = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// ValidRetention tells whether r is a Prometheus retention like 15d.
func ValidRetention(r string) bool { return retentionPattern.MatchString(r) && r[0] != '0' }

// LogRetentionDays are the values CloudWatch Logs accepts.
var LogRetentionDays = secure.LogRetentionDays

// PrometheusArgs sizes Prometheus.
type PrometheusArgs struct {
	// Retention of samples, like 15d. Required in full mode.
	Retention string
	// StorageGiB of each replica's volume, 10 or more. Required in full mode.
	StorageGiB int
	// Replicas of Prometheus (and Alertmanager), at least 1.
	Replicas int
}

// Args configures the component.
type Args struct {
	// ClusterName and Region: where Fluent Bit runs and writes. Required.
	ClusterName string
	// Cluster is the same name as the cluster's output (cluster.Cluster.ClusterName):
	// Fluent Bit's Pod Identity association takes it, so it waits for the cluster. Required.
	Cluster pulumi.StringInput
	// RegionalARN is any ARN of the cluster's account and region (its
	// secrets key): the log group's key policy takes them from it. Required.
	RegionalARN pulumi.StringInput
	Region      string
	// Mode is Logs or Full. Required.
	Mode Mode
	// ChartVersions pins every chart of the mode, exactly. Required.
	ChartVersions map[Chart]string
	// LogRetentionDays of the container log group; one of LogRetentionDays. Required.
	LogRetentionDays int
	// Prometheus sizes Prometheus (full mode).
	Prometheus PrometheusArgs
	// Alerting routes alerts to receivers (full mode).
	Alerting AlertingArgs
	// QueryNamespaces may query Prometheus (the canary analysis runs in
	// Argo Rollouts' namespace); the monitoring namespace admits no one else on 9090.
	QueryNamespaces []string
	// ServicesNamespace is where the platform's services run; the alerts and
	// dashboards watch it. Required in full mode.
	ServicesNamespace string
	// ScrapeIstio adds the ServiceMonitor and PodMonitor for the mesh.
	ScrapeIstio bool
	// Protect keeps monitoring volumes (reclaim policy Retain) and guards the log group.
	Protect bool
	// DependsOn: what the releases wait for (nodes, the EBS CSI driver).
	DependsOn []pulumi.Resource
}

// Validate checks the arguments' values (not the wiring: cluster, key,
// namespaces) and names each wrong field (field.List); stacks/ reports them
// at their config keys. The receivers are checked in every mode: a broken
// receiver is broken whether or not Alertmanager runs yet.
func (a *Args) Validate() error {
	var errs field.List
	if !enum.Valid(a.Mode, Modes) {
		errs.Add(field.Enum, "Mode", string(a.Mode), "must be one of %s", enum.Describe(Modes))
	}
	var known []string
	for _, c := range AllCharts {
		known = append(known, string(c))
	}
	for _, c := range slices.Sorted(maps.Keys(a.ChartVersions)) {
		switch v := a.ChartVersions[c]; {
		case !slices.Contains(AllCharts, c):
			errs.Add(field.Enum, "ChartVersions["+string(c)+"]", nil, "unknown chart (known: %s)", strings.Join(known, ", "))
		case !chartVersionPattern.MatchString(v):
			errs.Add(field.Format, "ChartVersions["+string(c)+"]", v, "must be an exact chart version like 79.10.0")
		}
	}
	for _, c := range Charts(a.Mode) {
		if _, ok := a.ChartVersions[c]; !ok {
			errs.Add(field.Required, "ChartVersions", nil, "must pin %s", c)
		}
	}
	if !slices.Contains(LogRetentionDays, a.LogRetentionDays) {
		errs.Add(field.Enum, "LogRetentionDays", a.LogRetentionDays, "must be one of the values CloudWatch Logs accepts, %v",
			LogRetentionDays)
	}
	if a.Mode == Full {
		p := a.Prometheus
		if !ValidRetention(p.Retention) {
			errs.Add(field.Format, "Prometheus.Retention", p.Retention, "must be a duration like 15d, 12h, 2w or 1y")
		}
		if p.StorageGiB < 10 || p.StorageGiB > 16384 {
			errs.Add(field.Range, "Prometheus.StorageGiB", p.StorageGiB, "must be 10..16384")
		}
		if p.Replicas < 1 || p.Replicas > 5 {
			errs.Add(field.Range, "Prometheus.Replicas", p.Replicas, "must be 1..5")
		}
	}
	a.Alerting.validate(&errs)
	return errs.Err()
}

func (a *Args) validate() error {
	errs := []error{a.Validate()}
	if a.ClusterName == "" || a.Cluster == nil || a.Region == "" || a.RegionalARN == nil {
		errs = append(errs, errors.New("ClusterName, Cluster, Region and RegionalARN are required"))
	}
	if a.Mode == Full && !namePattern.MatchString(a.ServicesNamespace) {
		errs = append(errs, fmt.Errorf("ServicesNamespace: %q is not a namespace name", a.ServicesNamespace))
	}
	return errors.Join(errs...)
}

// Observability is the component.
type Observability struct {
	pulumi.ResourceState

	// LogGroupName receives every container's logs.
	LogGroupName pulumi.StringOutput
	// GrafanaAdminPassword (full mode; secret).
	GrafanaAdminPassword pulumi.StringOutput
	// Releases by chart.
	Releases map[Chart]*helmv3.Release
}

// New installs the component. It needs the AWS provider and the cluster's
// Kubernetes provider among its providers (pulumi.Providers).
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Observability, error) {
	if args == nil {
		args = &Args{}
	}
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("observability %q: %w", name, err)
	}
	c := &Observability{Releases: map[Chart]*helmv3.Release{}}
	if err := ctx.RegisterComponentResource("eduai:observability:Observability", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)

	release := func(chart Chart, namespace string, createNamespace bool, values pulumi.Map, deps []pulumi.Resource) (*helmv3.Release, error) {
		rel, err := helmv3.NewRelease(ctx, name+"-"+string(chart), &helmv3.ReleaseArgs{
			Name:            pulumi.String(string(chart)),
			Chart:           pulumi.String(string(chart)),
			Version:         pulumi.String(args.ChartVersions[chart]),
			RepositoryOpts:  helmv3.RepositoryOptsArgs{Repo: pulumi.String(chartRepos[chart])},
			Namespace:       pulumi.String(namespace),
			CreateNamespace: pulumi.Bool(createNamespace),
			Atomic:          pulumi.Bool(true),
			CleanupOnFail:   pulumi.Bool(true),
			Timeout:         pulumi.Int(900),
			MaxHistory:      pulumi.Int(10),
			Values:          values,
		}, parent, pulumi.DependsOn(append(slices.Clone(args.DependsOn), deps...)))
		if err == nil {
			c.Releases[chart] = rel
		}
		return rel, err
	}

	// Logs, in every mode.
	logGroup, err := secure.NewLogGroup(ctx, name+"-containers", secure.LogGroupArgs{
		Name:          "/aws/eks/" + args.ClusterName + "/containers",
		RetentionDays: args.LogRetentionDays,
		RegionalARN:   args.RegionalARN,
		Protect:       args.Protect,
	}, parent, pulumi.Protect(args.Protect))
	if err != nil {
		return nil, err
	}
	c.LogGroupName = logGroup.Name
	writer, err := podidentity.New(ctx, name+"-fluent-bit", podidentity.Binding{
		Cluster: args.Cluster, Namespace: LogsNamespace, ServiceAccount: fluentBitServiceAccount,
		Policy: logGroup.Arn.ApplyT(func(arn string) string {
			return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
				`"Action":["logs:CreateLogStream","logs:PutLogEvents","logs:DescribeLogStreams"],` +
				`"Resource":["` + arn + `","` + arn + `:*"]}]}`
		}).(pulumi.StringOutput),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := release(FluentBit, LogsNamespace, true, pulumi.Map{
		// The chart's default image predates Pod Identity (images.go).
		"image":          pulumi.Map{"tag": pulumi.String(FluentBitImage)},
		"serviceAccount": pulumi.Map{"create": pulumi.Bool(true), "name": pulumi.String(fluentBitServiceAccount)},
		"cloudWatch":     pulumi.Map{"enabled": pulumi.Bool(false)},
		"cloudWatchLogs": pulumi.Map{
			"enabled":         pulumi.Bool(true),
			"region":          pulumi.String(args.Region),
			"logGroupName":    logGroup.Name,
			"logStreamPrefix": pulumi.String("fluentbit-"),
			// The group exists with its retention; Fluent Bit must not make another.
			"autoCreateGroup": pulumi.Bool(false),
		},
		"firehose":      pulumi.Map{"enabled": pulumi.Bool(false)},
		"kinesis":       pulumi.Map{"enabled": pulumi.Bool(false)},
		"elasticsearch": pulumi.Map{"enabled": pulumi.Bool(false)},
	}, []pulumi.Resource{writer}); err != nil {
		return nil, err
	}
	outputs := pulumi.Map{"logGroupName": c.LogGroupName}
	if args.Mode == Full {
		if err := c.full(ctx, name, args, parent, release); err != nil {
			return nil, err
		}
		outputs["grafanaAdminPassword"] = c.GrafanaAdminPassword
	}
	return c, ctx.RegisterResourceOutputs(c, outputs)
}

type releaseFunc func(chart Chart, namespace string, createNamespace bool, values pulumi.Map, deps []pulumi.Resource) (*helmv3.Release, error)

// full installs metrics, alerting, dashboards and tracing.
func (c *Observability) full(ctx *pulumi.Context, name string, args *Args, parent pulumi.ResourceOption, release releaseFunc) error {
	ns, err := corev1.NewNamespace(ctx, name+"-monitoring", &corev1.NamespaceArgs{
		Metadata: metav1.ObjectMetaArgs{Name: pulumi.String(MonitoringNamespace), Labels: pulumi.ToStringMap(labels)},
	}, parent)
	if err != nil {
		return err
	}
	if err := isolateMonitoring(ctx, name, args, parent, pulumi.DependsOn([]pulumi.Resource{ns})); err != nil {
		return err
	}
	reclaim := "Delete"
	if args.Protect {
		reclaim = "Retain"
	}
	sc, err := storagev1.NewStorageClass(ctx, name+"-gp3", &storagev1.StorageClassArgs{
		Metadata:             metav1.ObjectMetaArgs{Name: pulumi.String(StorageClass), Labels: pulumi.ToStringMap(labels)},
		Provisioner:          pulumi.String("ebs.csi.aws.com"),
		Parameters:           pulumi.StringMap{"type": pulumi.String("gp3"), "encrypted": pulumi.String("true")},
		VolumeBindingMode:    pulumi.String("WaitForFirstConsumer"),
		AllowVolumeExpansion: pulumi.Bool(true),
		ReclaimPolicy:        pulumi.String(reclaim),
	}, parent)
	if err != nil {
		return err
	}

	// Grafana's admin password: generated, secret, handed to Grafana by a Secret.
	password, err := random.NewRandomPassword(ctx, name+"-grafana-admin", &random.RandomPasswordArgs{
		Length: pulumi.Int(32), Special: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return err
	}
	c.GrafanaAdminPassword = pulumi.ToSecret(password.Result).(pulumi.StringOutput)
	inMonitoring := func(n string) metav1.ObjectMetaArgs {
		return metav1.ObjectMetaArgs{Name: pulumi.String(n), Namespace: ns.Metadata.Name(), Labels: pulumi.ToStringMap(labels)}
	}
	grafanaSecret, err := corev1.NewSecret(ctx, name+"-grafana-admin", &corev1.SecretArgs{
		Metadata:   inMonitoring(GrafanaAdminSecret),
		StringData: pulumi.StringMap{"admin-user": pulumi.String("admin"), "admin-password": c.GrafanaAdminPassword},
	}, parent)
	if err != nil {
		return err
	}
	secrets := []pulumi.Resource{grafanaSecret}
	alertmanagerSecrets := pulumi.Array{}
	if len(args.Alerting.Receivers) > 0 {
		creds := pulumi.StringMap{}
		for _, r := range args.Alerting.Receivers {
			creds[r.Name] = pulumi.ToSecret(pulumi.String(r.Credential)).(pulumi.StringOutput)
		}
		s, err := corev1.NewSecret(ctx, name+"-receivers", &corev1.SecretArgs{
			Metadata: inMonitoring(ReceiversSecret), StringData: creds,
		}, parent)
		if err != nil {
			return err
		}
		secrets = append(secrets, s)
		alertmanagerSecrets = append(alertmanagerSecrets, pulumi.String(ReceiversSecret))
	}

	volume := func(gib int) pulumi.Map {
		return pulumi.Map{"volumeClaimTemplate": pulumi.Map{"spec": pulumi.Map{
			"storageClassName": pulumi.String(StorageClass),
			"accessModes":      pulumi.StringArray{pulumi.String("ReadWriteOnce")},
			"resources":        pulumi.Map{"requests": pulumi.Map{"storage": pulumi.Sprintf("%dGi", gib)}},
		}}}
	}
	p := args.Prometheus
	stack, err := release(KubePrometheusStack, MonitoringNamespace, false, pulumi.Map{
		"prometheus": pulumi.Map{"prometheusSpec": pulumi.Map{
			"replicas":  pulumi.Int(p.Replicas),
			"retention": pulumi.String(p.Retention),
			// Prometheus deletes old blocks before the volume fills.
			"retentionSize": pulumi.Sprintf("%dGB", p.StorageGiB*85/100),
			"storageSpec":   volume(p.StorageGiB),
			// Pick up every ServiceMonitor, PodMonitor and PrometheusRule, not only the chart's own.
			"serviceMonitorSelectorNilUsesHelmValues": pulumi.Bool(false),
			"podMonitorSelectorNilUsesHelmValues":     pulumi.Bool(false),
			"ruleSelectorNilUsesHelmValues":           pulumi.Bool(false),
		}},
		"alertmanager": pulumi.Map{
			"config": pulumi.ToMap(AlertmanagerConfig(args.Alerting)),
			"alertmanagerSpec": pulumi.Map{
				"replicas": pulumi.Int(p.Replicas),
				"storage":  volume(10),
				"secrets":  alertmanagerSecrets,
			},
		},
		"grafana": pulumi.Map{
			"admin": pulumi.Map{"existingSecret": pulumi.String(GrafanaAdminSecret),
				"userKey": pulumi.String("admin-user"), "passwordKey": pulumi.String("admin-password")},
			"persistence": pulumi.Map{"enabled": pulumi.Bool(true), "type": pulumi.String("pvc"),
				"storageClassName": pulumi.String(StorageClass), "size": pulumi.String("10Gi")},
			// The volume is an EBS ReadWriteOnce claim: a rolling update's new
			// pod on another node waits forever for the old pod's volume, so
			// the old pod goes first (the grafana chart's deploymentStrategy,
			// default RollingUpdate in grafana/helm-charts charts/grafana/values.yaml).
			"deploymentStrategy": pulumi.Map{"type": pulumi.String("Recreate")},
			"sidecar": pulumi.Map{"dashboards": pulumi.Map{"enabled": pulumi.Bool(true),
				"label": pulumi.String(DashboardLabel), "labelValue": pulumi.String("1"),
				"searchNamespace": pulumi.String("ALL")}},
		},
	}, append([]pulumi.Resource{ns, sc}, secrets...))
	if err != nil {
		return err
	}
	if _, err := release(Jaeger, MonitoringNamespace, false, pulumi.Map{
		"fullnameOverride":   pulumi.String("jaeger"),
		"provisionDataStore": pulumi.Map{"cassandra": pulumi.Bool(false)},
		"storage":            pulumi.Map{"type": pulumi.String("memory")},
	}, []pulumi.Resource{ns}); err != nil {
		return err
	}

	// Custom resources need the operator's CRDs, which the stack's release installs.
	afterStack := pulumi.DependsOn([]pulumi.Resource{stack})
	objects := map[string]Object{"deployment-rules": PrometheusRuleFor(MonitoringNamespace, args.ServicesNamespace)}
	if args.ScrapeIstio {
		objects["istiod-monitor"] = IstiodMonitor(MonitoringNamespace, "istio-system")
		objects["envoy-monitor"] = EnvoyMonitor(MonitoringNamespace)
	}
	for _, key := range slices.Sorted(maps.Keys(objects)) {
		if _, err := k8sobj.New(ctx, name+"-"+key, objects[key], parent, afterStack); err != nil {
			return err
		}
	}
	dashboards := Dashboards(args.ServicesNamespace)
	sort.Slice(dashboards, func(i, j int) bool { return dashboards[i].UID < dashboards[j].UID })
	for _, d := range dashboards {
		if _, err := corev1.NewConfigMap(ctx, name+"-"+d.UID, &corev1.ConfigMapArgs{
			Metadata: metav1.ObjectMetaArgs{Name: pulumi.String(d.UID), Namespace: ns.Metadata.Name(),
				Labels: pulumi.ToStringMap(map[string]string{DashboardLabel: "1",
					"app.kubernetes.io/part-of": "eduai", "app.kubernetes.io/managed-by": "pulumi"})},
			Data: pulumi.StringMap{d.UID + ".json": pulumi.String(d.JSON())},
		}, parent); err != nil {
			return err
		}
	}
	return nil
}

// isolateMonitoring denies connections into the monitoring namespace but
// those its components need (issue #17): its own pods among themselves
// (Grafana and the operator to Prometheus and Alertmanager), spans from any
// namespace to the Jaeger collector (OTLP 4317/4318: the services' sidecars
// and the ingress gateway), queries to Prometheus from QueryNamespaces (the
// canary analysis), and the API server to the operator's admission webhook
// (10250; the control plane's addresses are not pods, so by port alone).
// Egress stays open: Prometheus scrapes every namespace.
func isolateMonitoring(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) error {
	if _, err := netpol.DefaultDeny(ctx, name+"-monitoring-default-deny", MonitoringNamespace, []string{"Ingress"}, opts...); err != nil {
		return err
	}
	ingress := networkingv1.NetworkPolicyIngressRuleArray{
		networkingv1.NetworkPolicyIngressRuleArgs{From: networkingv1.NetworkPolicyPeerArray{netpol.SameNamespace()}},
		networkingv1.NetworkPolicyIngressRuleArgs{From: networkingv1.NetworkPolicyPeerArray{netpol.AnyNamespace()},
			Ports: netpol.TCP(4317, 4318)},
		networkingv1.NetworkPolicyIngressRuleArgs{From: networkingv1.NetworkPolicyPeerArray{netpol.IPBlock("0.0.0.0/0")},
			Ports: netpol.TCP(10250)},
	}
	for _, q := range args.QueryNamespaces {
		ingress = append(ingress, networkingv1.NetworkPolicyIngressRuleArgs{
			From: networkingv1.NetworkPolicyPeerArray{netpol.InNamespace(q)}, Ports: netpol.TCP(9090)})
	}
	_, err := netpol.Allow(ctx, name+"-monitoring-allow", MonitoringNamespace, nil, ingress, opts...)
	return err
}
