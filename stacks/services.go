package stacks

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/eduai/infra/components/addons"
	"github.com/eduai/infra/components/cluster"
	"github.com/eduai/infra/components/mesh"
	"github.com/eduai/infra/components/observability"
	"github.com/eduai/infra/components/service"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// endpoints are how a service reaches one data store in its region.
type endpoints struct {
	host, readerHost, secretARN pulumi.StringOutput
}

func endpointsOf(host, readerHost, secretARN pulumi.StringOutput) *endpoints {
	return &endpoints{host: host, readerHost: readerHost, secretARN: secretARN}
}

// dataStores are what a region's services connect to: that region's
// database, cache and queue endpoints and secrets, and its buckets (the
// primary's, or their replicas in the DR region).
type dataStores struct {
	db, redis, queue        *endpoints
	bucketNames, bucketARNs map[string]pulumi.StringOutput
}

// Now is the clock blue-green services compare keepIdleUntil with (tests pin it).
var Now = time.Now

// deployServices installs the Argo Rollouts controller when a service is a
// canary, then every service of eduai:services.
func deployServices(ctx *pulumi.Context, cfg *Config, prefix string, eks *cluster.Cluster, platform *addons.ClusterAddons,
	stores dataStores, namespace pulumi.Resource, mesh *mesh.Mesh, watch *observability.Observability,
	after map[string]pulumi.Resource, providers pulumi.ResourceOption) (map[string]pulumi.Resource, error) {
	if namespace == nil {
		return nil, nil
	}
	// The services namespace denies every connection; each service opens
	// what it needs (components/service/netpol.go; issue #17). The deny
	// comes with the namespace, before any workload, and also when the mesh
	// makes the namespace for services that are yet to come (issue #20).
	if _, err := service.DefaultDenyPolicy(ctx, prefix+"services-default-deny", ServicesNamespace,
		providers, pulumi.DependsOn([]pulumi.Resource{namespace})); err != nil {
		return nil, err
	}
	if len(cfg.Services) == 0 {
		return nil, nil
	}
	// Every object needs its namespace, and the custom resources their CRDs:
	// the mesh's (VirtualService, DestinationRule) come with the namespace's mesh.
	prereqs := []pulumi.Resource{namespace}
	var crds []pulumi.Resource
	if mesh != nil {
		// VirtualServices and DestinationRules: Istio's CRDs and istiod's validation.
		crds = append(crds, mesh.ControlPlane)
	}
	if cfg.Observability.Mode == observability.Full {
		// ServiceMonitors need the Prometheus operator's CRDs.
		crds = append(crds, watch.Releases[observability.KubePrometheusStack])
	}
	canary := false
	for _, s := range cfg.Services {
		canary = canary || s.Strategy == service.Canary
	}
	if canary {
		ctrl, err := service.NewController(ctx, prefix+"rollouts", cfg.Rollouts.Version, cfg.Rollouts.Replicas, eks.Nodes(), providers)
		if err != nil {
			return nil, err
		}
		// Rollouts and AnalysisTemplates need Argo Rollouts' CRDs.
		crds = append(crds, ctrl.Release)
	}
	out := map[string]pulumi.Resource{}
	for _, name := range slices.Sorted(maps.Keys(cfg.Services)) {
		args := cfg.serviceArgs(name, eks, platform, stores)
		args.Prerequisites, args.CRDs, args.DependsOn = prereqs, crds, eks.Nodes()
		if active, ok := after[name]; ok {
			// Depending on a component waits for all its resources (the Rollout, its analysis).
			args.DependsOn = append(slices.Clone(args.DependsOn), active)
		}
		svc, err := service.New(ctx, prefix+"service-"+name, args, providers)
		if err != nil {
			return nil, err
		}
		out[name] = svc
	}
	return out, nil
}

// serviceArgs converts one service's config.
func (c *Config) serviceArgs(name string, eks *cluster.Cluster, platform *addons.ClusterAddons, stores dataStores) *service.Args {
	args := c.serviceValues(name)
	s := c.Services[name]
	full := c.Observability.Mode == observability.Full
	args.Namespace, args.Mesh, args.Monitoring = ServicesNamespace, c.Mesh.Enabled, full
	args.Follows = s.follows && s.Strategy == service.Canary
	args.PrometheusURL = observability.PrometheusURL
	// A `secure:` env value goes into the service's Secret, never its
	// ConfigMap: under the engine the program reads it decrypted. Where only
	// the key is known to hold a secret, every env value of the services is
	// treated as one.
	for k, v := range s.Env {
		if secret, _ := c.secretAt("services." + name + ".env." + k); secret {
			if args.SecretEnv == nil {
				args.SecretEnv = map[string]string{}
			}
			args.SecretEnv[k] = v
			continue
		}
		if args.Env == nil {
			args.Env = map[string]string{}
		}
		args.Env[k] = v
	}
	if in := args.Ingress; in != nil {
		in.Issuer = platform.IssuerName
		// The DNS failover's health check calls this service's /health on the region's own name.
		if d := c.DR.DNS; d != nil && c.DR.Enabled && d.HealthService == name {
			in.Aliases, in.Health = []string{c.regionalName()}, true
		}
	}
	if b := s.BlueGreen; b.KeepIdleUntil != "" {
		args.BlueGreen.KeepIdleUntil, _ = time.Parse(time.RFC3339, b.KeepIdleUntil)
	}
	args.Connections, args.AWSAccess = c.connections(s, eks, stores)
	iso := args.Isolation
	iso.DataStoreCIDRs = []string{c.Network.CIDR}
	if s.Ingress != nil {
		iso.IngressNamespace = addons.IngressNginxNamespace
		if c.Mesh.Enabled {
			iso.IngressNamespace = mesh.IngressNamespace
		}
	}
	if full {
		iso.ScrapeNamespace = observability.MonitoringNamespace
	}
	if c.Mesh.Enabled {
		iso.MeshNamespace = mesh.SystemNamespace
		if full {
			iso.CollectorNamespace = observability.MonitoringNamespace
		}
	}
	return args
}

// serviceValues are a service's arguments from its config entry alone:
// what the service component validates (Validate) and what the stack then
// wires (serviceArgs).
func (c *Config) serviceValues(name string) *service.Args {
	s := c.Services[name]
	args := &service.Args{Name: name, Repository: s.Image.Repository, Tag: s.Image.Tag,
		Resources: service.Resources{RequestCPU: s.Resources.Requests.CPU, RequestMemory: s.Resources.Requests.Memory,
			LimitCPU: s.Resources.Limits.CPU, LimitMemory: s.Resources.Limits.Memory},
		NoProbes: !s.Probes, NoAnalysis: !s.Analysis, Isolation: &service.Isolation{Callers: s.Callers},
		BlueGreen: service.BlueGreenArgs{ActiveColor: s.BlueGreen.ActiveColor, BlueTag: s.BlueGreen.BlueTag,
			GreenTag: s.BlueGreen.GreenTag, Now: Now()}}
	serviceBindings.bind(args, &s)
	if a := s.Autoscaling; a.Enabled {
		args.Autoscaling = &service.Autoscaling{Min: a.Min, Max: a.Max, CPUPercent: a.CPUPercent, MemoryPercent: a.MemoryPercent}
	}
	if in := s.Ingress; in != nil {
		args.Ingress = &service.Ingress{Host: in.Host, Path: in.Path, RateLimitRPS: in.RateLimitRPS}
	}
	if m := s.Migrations; m != nil {
		args.Migration = &service.Migration{Command: m.Command, Contract: m.Contract}
	}
	return args
}

// serviceBindings build a service's arguments from its entry (bound by
// hand where the shapes differ) and name the keys of its errors.
var serviceBindings = bindings{{arg: "Name", key: ""}, {arg: "Strategy", key: "strategy"}, {arg: "Port", key: "port"},
	{arg: "Replicas", key: "replicas"}, {arg: "SecretEnvFrom", key: "secretEnvFrom"},
	{arg: "Repository", key: "image.repository", manual: true}, {arg: "Tag", key: "image.tag", manual: true},
	{arg: "Autoscaling", key: "autoscaling", manual: true, elem: bindings{{arg: "CPUPercent", key: "cpuPercent"},
		{arg: "MemoryPercent", key: "memoryPercent"}}},
	{arg: "Resources", key: "resources", manual: true, elem: bindings{{arg: "RequestCPU", key: "requests.cpu"},
		{arg: "RequestMemory", key: "requests.memory"}, {arg: "LimitCPU", key: "limits.cpu"}, {arg: "LimitMemory", key: "limits.memory"}}},
	{arg: "Ingress", key: "ingress", manual: true, elem: bindings{{arg: "Host", key: "host"}, {arg: "Path", key: "path"},
		{arg: "RateLimitRPS", key: "rateLimitRps"}}},
	{arg: "Isolation", key: "", manual: true, elem: bindings{{arg: "Callers", key: "callers"}}},
	{arg: "BlueGreen", key: "blueGreen", manual: true, elem: bindings{{arg: "ActiveColor", key: "activeColor"},
		{arg: "BlueTag", key: "blueTag"}, {arg: "GreenTag", key: "greenTag"}}},
	{arg: "Migration", key: "migrations", manual: true, elem: bindings{{arg: "Command", key: "command"},
		{arg: "Contract", key: "contract"}}}}

// connections: the endpoints and bucket names a service's ConfigMap gets,
// and its AWS access (EKS Pod Identity): read the secrets of the stores it
// uses, read and write the buckets it names.
func (c *Config) connections(s ServiceConfig, eks *cluster.Cluster, st dataStores) (map[string]pulumi.StringInput, *service.AWSAccess) {
	if len(s.Connections) == 0 && len(s.Buckets) == 0 {
		return nil, nil
	}
	out := map[string]pulumi.StringInput{}
	var secrets, buckets []pulumi.StringOutput
	for _, conn := range s.Connections {
		switch conn {
		case "database":
			out["DATABASE_HOST"] = st.db.host
			out["DATABASE_READER_HOST"] = st.db.readerHost
			out["DATABASE_NAME"] = pulumi.String(c.Database.DatabaseName)
			out["DATABASE_SECRET_ARN"] = st.db.secretARN
			secrets = append(secrets, st.db.secretARN)
		case "cache":
			out["REDIS_HOST"] = st.redis.host
			out["REDIS_SECRET_ARN"] = st.redis.secretARN
			secrets = append(secrets, st.redis.secretARN)
		case "queue":
			out["QUEUE_ENGINE"] = pulumi.String(c.Queue.Engine)
			out["QUEUE_ENDPOINT"] = st.queue.host
			out["QUEUE_SECRET_ARN"] = st.queue.secretARN
			secrets = append(secrets, st.queue.secretARN)
		}
	}
	for _, b := range s.Buckets {
		out["BUCKET_"+strings.ToUpper(strings.ReplaceAll(b, "-", "_"))] = st.bucketNames[b]
		buckets = append(buckets, st.bucketARNs[b])
	}
	all := make([]any, 0, len(secrets)+len(buckets))
	for _, v := range append(append([]pulumi.StringOutput{}, secrets...), buckets...) {
		all = append(all, v)
	}
	policy := pulumi.All(all...).ApplyT(func(vals []any) string {
		var quotedSecrets, quotedBuckets []string
		for i, v := range vals {
			arn, _ := v.(string)
			switch {
			case arn == "":
			case i < len(secrets):
				quotedSecrets = append(quotedSecrets, `"`+arn+`"`)
			default:
				quotedBuckets = append(quotedBuckets, `"`+arn+`"`, `"`+arn+`/*"`)
			}
		}
		return accessPolicy(quotedSecrets, quotedBuckets, c.Region)
	}).(pulumi.StringOutput)
	return out, &service.AWSAccess{Cluster: eks.ClusterName, Policy: policy}
}

// accessPolicy lets a service read the given secrets, use the given buckets,
// and use KMS keys only through Secrets Manager and S3.
func accessPolicy(secrets, buckets []string, region string) string {
	var statements []string
	if len(secrets) > 0 {
		statements = append(statements, `{"Effect":"Allow","Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],`+
			`"Resource":[`+strings.Join(secrets, ",")+`]}`)
	}
	if len(buckets) > 0 {
		statements = append(statements, `{"Effect":"Allow","Action":["s3:ListBucket","s3:GetObject","s3:PutObject","s3:DeleteObject"],`+
			`"Resource":[`+strings.Join(buckets, ",")+`]}`)
	}
	if len(statements) == 0 {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`
	}
	statements = append(statements, `{"Effect":"Allow","Action":["kms:Decrypt","kms:GenerateDataKey"],"Resource":"*",`+
		`"Condition":{"StringEquals":{"kms:ViaService":["secretsmanager.`+region+`.amazonaws.com","s3.`+region+`.amazonaws.com"]}}}`)
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
}
