//go:build e2e

// Command standin is a TEST-ONLY stand-in for the aws, eks, kubernetes and
// random resource providers, used by the engine end-to-end test (e2e/), where
// the real provider plugins cannot be had. It speaks the provider gRPC
// protocol and is our model of AWS and of the clusters' API servers, as
// strict as we can make it: Check refuses what the AWS provider's schema
// refuses (internal/providercheck); Create and Update refuse inputs that
// address a resource not created yet (internal/refs; ResourceNotFound,
// `namespaces "x" not found`, `no matches for kind`) or a physical name
// already taken (AlreadyExists); Diff answers replace for a change of a
// forceNew property; resources AWS takes minutes to create take a modeled
// delay, so the engine's parallelism exposes a missing dependency; and a
// test can inject faults (faults.go). What it creates is recorded in the
// world (world.go) shared by its processes, with the same deterministic ids,
// ARNs and names as the offline preview's mocks (internal/mockstack).
//
// One binary serves every package: it is installed as pulumi-resource-<name>
// and takes its package from that name; -ldflags "-X main.versions=aws=6.83.4,…"
// sets the plugin version each package reports.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/eduai/infra/internal/mockstack"
	"github.com/eduai/infra/internal/providercheck"
	"github.com/eduai/infra/internal/refs"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// versions is "pkg=version,…", set at build time.
var versions string

type standin struct {
	pulumirpc.UnimplementedResourceProviderServer
	pkg, version string
	// region is the AWS provider's; cluster the EKS cluster a Kubernetes
	// provider reaches, and clusterRegion the region its API server is in.
	region, cluster, clusterRegion string
	host                           *provider.HostClient
	world                          *world
}

func main() {
	pkg := strings.TrimPrefix(filepath.Base(os.Args[0]), "pulumi-resource-")
	version := "0.0.0"
	for _, kv := range strings.Split(versions, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == pkg {
			version = v
		}
	}
	// A plugin ends with the engine that started it (a killed CLI leaves no stand-ins behind).
	go func(parent int) {
		for {
			time.Sleep(200 * time.Millisecond)
			if os.Getppid() != parent {
				os.Exit(1)
			}
		}
	}(os.Getppid())
	err := provider.Main(pkg, func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &standin{pkg: pkg, version: version, host: host, world: openWorld()}, nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

var opts = plugin.MarshalOptions{KeepSecrets: true, KeepUnknowns: true, KeepResources: true}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	return plugin.UnmarshalProperties(s, opts)
}
func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, opts)
}

func (p *standin) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: p.version}, nil
}

func (p *standin) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *standin) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *standin) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	if args, err := unmarshal(req.GetArgs()); err == nil {
		if r, ok := args["region"]; ok && r.IsString() {
			p.region = r.StringValue()
		}
		if k := args["kubeconfig"]; k.IsSecret() || k.IsString() {
			if k.IsSecret() {
				k = k.SecretValue().Element
			}
			if k.IsString() {
				var cfg struct {
					Clusters []struct {
						Name    string
						Cluster struct{ Server string }
					} `json:"clusters"`
				}
				if json.Unmarshal([]byte(k.StringValue()), &cfg) == nil && len(cfg.Clusters) > 0 {
					p.cluster = cfg.Clusters[0].Name
					if m := eksRegion.FindStringSubmatch(cfg.Clusters[0].Cluster.Server); m != nil {
						p.clusterRegion = m[1]
					}
				}
			}
		}
	}
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, AcceptResources: true}, nil
}

// scope is where this provider's resources of type typ live in the world.
func (p *standin) scope(typ string) string { return scopeOf(typ, p.home()) }

// home is the provider's own scope: its region, or its cluster.
func (p *standin) home() string {
	switch p.pkg {
	case "kubernetes":
		return "k8s:" + p.cluster
	case "aws":
		region := p.region
		if region == "" {
			region = "us-west-2"
		}
		return "aws:" + region
	}
	return p.pkg
}

// Check refuses what the AWS provider's schema refuses, on known values, as
// the bridge does: a preview with the value unknown passes, `up` does not.
func (p *standin) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	for _, f := range providercheck.Load().Check(string(resource.URN(req.GetUrn()).Type()), news) {
		failures = append(failures, &pulumirpc.CheckFailure{Property: f.Property,
			Reason: f.Message + " (provider schema: " + f.Rule + "; the AWS provider refuses this)"})
	}
	inputs := req.GetNews()
	if p.pkg == "kubernetes" && autoName(req, news) {
		if inputs, err = marshal(news); err != nil {
			return nil, err
		}
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, nil
}

// autoName gives a Kubernetes object without metadata.name the name
// pulumi-kubernetes gives it in Check, so that it is known at preview: the
// old one, else "<logical name>-<8 hex>" (mockstack.KubernetesAutoName).
// A Helm release names itself. It tells whether it named the object.
func autoName(req *pulumirpc.CheckRequest, news resource.PropertyMap) bool {
	urn := resource.URN(req.GetUrn())
	if urn.Type() == refs.HelmRelease {
		return false
	}
	md := resource.PropertyMap{}
	if v := news["metadata"]; v.IsObject() {
		md = v.ObjectValue().Copy()
	} else if v.IsComputed() {
		return false
	}
	if n := md["name"]; n.IsComputed() || (n.IsString() && n.StringValue() != "") {
		return false
	}
	name := mockstack.KubernetesAutoName(urn.Name(), string(urn))
	if olds, err := unmarshal(req.GetOlds()); err == nil {
		if omd := olds["metadata"]; omd.IsObject() {
			if n := omd.ObjectValue()["name"]; n.IsString() && n.StringValue() != "" {
				name = n.StringValue()
			}
		}
	}
	md["name"] = resource.NewStringProperty(name)
	news["metadata"] = resource.NewObjectProperty(md)
	return true
}

// Diff reports the changed inputs, and a replacement when one of them is
// forceNew in the provider's schema (or a Kubernetes object's name or namespace).
func (p *standin) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	var changed []string
	for k := range olds {
		if !news.HasValue(k) {
			changed = append(changed, string(k))
		}
	}
	for k, v := range news {
		if o, ok := olds[k]; !ok || !o.DeepEquals(v) {
			changed = append(changed, string(k))
		}
	}
	sort.Strings(changed)
	if len(changed) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	typ := string(resource.URN(req.GetUrn()).Type())
	replaces := providercheck.Load().ForceNew(typ, olds, news)
	if strings.HasPrefix(typ, "kubernetes:") && nameOf(typ, olds) != nameOf(typ, news) {
		replaces = append(replaces, "metadata")
	}
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME, Diffs: changed, Replaces: replaces}, nil
}

// delays model the minutes AWS takes for these types (create times in
// internal/critpath), scaled down: long enough that a resource created
// without waiting for one of them meets it missing.
var delays = map[string]time.Duration{
	"aws:eks/cluster:Cluster":                                       1500 * time.Millisecond,
	"aws:eks/nodeGroup:NodeGroup":                                   500 * time.Millisecond,
	"aws:rds/cluster:Cluster":                                       600 * time.Millisecond,
	"aws:rds/clusterInstance:ClusterInstance":                       600 * time.Millisecond,
	"aws:rds/globalCluster:GlobalCluster":                           300 * time.Millisecond,
	"aws:elasticache/replicationGroup:ReplicationGroup":             800 * time.Millisecond,
	"aws:elasticache/globalReplicationGroup:GlobalReplicationGroup": 300 * time.Millisecond,
	"aws:msk/cluster:Cluster":                                       800 * time.Millisecond,
	"aws:mq/broker:Broker":                                          500 * time.Millisecond,
}

// admit refuses inputs that address what the world does not hold yet.
func (p *standin) admit(typ string, inputs resource.PropertyMap) error {
	if p.world == nil {
		return nil
	}
	if p.pkg == "kubernetes" && !p.clusterExists() {
		return fmt.Errorf("dial tcp: lookup of the API server of EKS cluster %q: no such host (the cluster does not exist yet)", p.cluster)
	}
	var missing []string
	for _, ref := range refs.Of(typ, inputs) {
		if !p.world.exists(ref, p.home()) {
			missing = append(missing, fmt.Sprintf("%s (%s = %q)", strings.ReplaceAll(ref.Rule.Answer, "%s", ref.Value), ref.Path, ref.Value))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s", strings.Join(missing, "; "))
	}
	return nil
}

func (p *standin) clusterExists() bool {
	for _, e := range p.world.all() {
		if e.Type == "aws:eks/cluster:Cluster" && e.state()["name"].IsString() && e.state()["name"].StringValue() == p.cluster {
			return true
		}
	}
	return false
}

func (p *standin) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	urn := resource.URN(req.GetUrn())
	typ := string(urn.Type())
	inputs, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		id, state := mockstack.FakeState(string(urn), typ, urn.Name(), inputs, p.region)
		out, err := marshal(state)
		return &pulumirpc.CreateResponse{Id: id, Properties: out}, err
	}
	if err := p.down(typ); err != nil {
		return nil, fmt.Errorf("creating %s: %w", typ, err)
	}
	f := injected("create", string(urn))
	if f != nil && f.Error != "" {
		return nil, fmt.Errorf("creating %s: %s", typ, f.Error)
	}
	if f != nil && f.Hang == "before" {
		hang(string(urn))
	}
	if err := p.admit(typ, inputs); err != nil {
		return nil, fmt.Errorf("creating %s %s: %w", typ, urn.Name(), err)
	}
	if p.world != nil {
		if e := p.world.taken(typ, p.home(), nameOf(typ, inputs)); e != nil {
			return nil, fmt.Errorf("creating %s: AlreadyExists: %q is taken by %s (id %s)", typ, nameOf(typ, inputs), e.URN, e.ID)
		}
		if e := p.world.failoverClash(string(urn), inputs); e != nil {
			return nil, failoverRefusal(inputs, e)
		}
	}
	if d := delays[typ]; d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	id, state := mockstack.FakeState(string(urn), typ, urn.Name(), inputs, p.region)
	if p.world != nil {
		if err := p.world.put(&entry{URN: string(urn), Type: typ, Scope: p.scope(typ), ID: id, State: plain(state),
			Inputs: plain(inputs)}); err != nil {
			return nil, err
		}
		if typ == "aws:eks/cluster:Cluster" {
			// A new cluster has its built-in namespaces.
			for _, ns := range builtinNamespaces {
				if err := p.world.put(&entry{URN: string(urn) + "$" + ns, Type: refs.Namespace, Scope: "k8s:" + state["name"].StringValue(),
					ID: ns, State: map[string]any{"metadata": map[string]any{"name": ns}}}); err != nil {
					return nil, err
				}
			}
		}
	}
	if f != nil && f.Hang == "after" {
		hang(string(urn))
	}
	out, err := marshal(state)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: out}, nil
}

// failoverRefusal is Route 53's answer to a second record of one failover role.
func failoverRefusal(inputs resource.PropertyMap, holder *entry) error {
	role := refs.Values(resource.NewObjectProperty(inputs), "failoverRoutingPolicies[*].type")[0].Value
	return fmt.Errorf("InvalidChangeBatch: [RRSet with DNS name %s, type %s and failover %s cannot be created "+
		"because a record set with the same failover type already exists: %s]", inputs["name"].StringValue(),
		inputs["type"].StringValue(), role, holder.URN)
}

func (p *standin) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	urn := resource.URN(req.GetUrn())
	typ := string(urn.Type())
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	if !req.GetPreview() {
		if err := p.down(typ); err != nil {
			return nil, fmt.Errorf("updating %s: %w", typ, err)
		}
		if f := injected("update", string(urn)); f != nil && f.Error != "" {
			return nil, fmt.Errorf("updating %s: %s", typ, f.Error)
		}
		if err := p.admit(typ, news); err != nil {
			return nil, fmt.Errorf("updating %s %s: %w", typ, urn.Name(), err)
		}
		if p.world != nil {
			if e := p.world.failoverClash(string(urn), news); e != nil {
				return nil, failoverRefusal(news, e)
			}
		}
	}
	_, state := mockstack.FakeState(string(urn), typ, urn.Name(), news, p.region)
	if p.world != nil && !req.GetPreview() {
		if err := p.world.put(&entry{URN: string(urn), Type: typ, Scope: p.scope(typ), ID: req.GetId(), State: plain(state),
			Inputs: plain(news)}); err != nil {
			return nil, err
		}
	}
	out, err := marshal(state)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: out}, nil
}

// Read answers a refresh or an import from the world: a resource it does
// not hold is gone (no id); one it holds keeps the engine's values, or the
// world's when the engine has none (an import of a pending create).
func (p *standin) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	urn := resource.URN(req.GetUrn())
	typ := string(urn.Type())
	if err := p.down(typ); err != nil {
		return nil, fmt.Errorf("reading %s: %w", typ, err)
	}
	if p.world == nil {
		return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
	}
	e := p.world.get(typ, p.scope(typ), req.GetId())
	if e == nil {
		return &pulumirpc.ReadResponse{}, nil
	}
	if len(req.GetProperties().GetFields()) > 0 {
		props, inputs := req.GetProperties(), req.GetInputs()
		if ds := drifted(string(urn), typ); len(ds) > 0 {
			var err error
			if props, inputs, err = applyDrift(props, inputs, ds); err != nil {
				return nil, err
			}
		}
		return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: props, Inputs: inputs}, nil
	}
	state, err := marshal(e.state())
	if err != nil {
		return nil, err
	}
	inputs, err := marshal(e.inputs())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: e.ID, Properties: state, Inputs: inputs}, nil
}

func (p *standin) Delete(_ context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	if err := p.down(string(resource.URN(req.GetUrn()).Type())); err != nil {
		return nil, fmt.Errorf("deleting %s: %w", req.GetUrn(), err)
	}
	if p.world != nil {
		typ := string(resource.URN(req.GetUrn()).Type())
		p.world.remove(typ, p.scope(typ), req.GetId())
	}
	return &emptypb.Empty{}, nil
}

func (p *standin) Invoke(_ context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	return nil, fmt.Errorf("stand-in %s provider: the program invoked %s; the program is written to need no invokes",
		p.pkg, req.GetTok())
}

func (p *standin) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

type component struct{ pulumi.ResourceState }

type custom struct{ pulumi.CustomResourceState }

// eksCluster is the aws:eks/cluster:Cluster a Cluster component makes, with its ARN.
type eksCluster struct {
	pulumi.CustomResourceState
	Arn pulumi.StringOutput `pulumi:"arn"`
}

// Construct builds a remote component (pulumi-eks Cluster, ManagedNodeGroup):
// it registers the component itself and, for a Cluster, the children AWS
// and the policy pack need — the cluster's service role and the
// aws:eks/cluster:Cluster that pulumi-eks creates from the component's
// inputs (the engine shows policies the component without its inputs).
// Other children of the real provider (security groups, the OIDC provider)
// are left out. The outputs the program reads resolve once the cluster
// exists, as pulumi-eks' kubeconfig does (built from the cluster's endpoint).
func (p *standin) Construct(ctx context.Context, req *pulumirpc.ConstructRequest) (*pulumirpc.ConstructResponse, error) {
	return provider.Construct(ctx, req, p.host.EngineConn(), func(pctx *pulumi.Context, typ, name string,
		inputs provider.ConstructInputs, opts pulumi.ResourceOption) (*provider.ConstructResult, error) {
		c := &component{}
		if err := pctx.RegisterComponentResource(typ, name, c, opts); err != nil {
			return nil, err
		}
		state := pulumi.Map{}
		for k, v := range mockstack.RemoteComponentOutputs(typ, name, nil, p.region) {
			if v.IsString() {
				state[string(k)] = pulumi.String(v.StringValue())
			}
		}
		if typ == "eks:index:Cluster" {
			in, err := inputs.Map()
			if err != nil {
				return nil, err
			}
			role := &custom{}
			if err := pctx.RegisterResource("aws:iam/role:Role", name+"-eksRole", pulumi.Map{
				"assumeRolePolicy": pulumi.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
					`"Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
			}, role, pulumi.Parent(c)); err != nil {
				return nil, err
			}
			roleARN := role.ID().ApplyT(func(id pulumi.ID) string {
				return "arn:aws:iam::" + mockstack.FakeAccount + ":role/" + string(id)
			}).(pulumi.StringOutput)
			cluster := &eksCluster{}
			if err := pctx.RegisterResource("aws:eks/cluster:Cluster", name+"-eksCluster", eksClusterArgs(in, roleARN),
				cluster, pulumi.Parent(c)); err != nil {
				return nil, err
			}
			// The kubeconfig names the EKS cluster and its region (the region
			// of the AWS provider that made it: its ARN's), and resolves once it exists.
			for k := range state {
				key := resource.PropertyKey(k)
				state[k] = pulumi.All(cluster.ID(), pulumi.ToOutput(in["name"]), cluster.Arn).ApplyT(func(args []any) string {
					n, _ := args[1].(string)
					region := p.region
					if parts := strings.SplitN(args[2].(string), ":", 5); len(parts) == 5 && parts[3] != "" {
						region = parts[3]
					}
					out := mockstack.RemoteComponentOutputs(typ, name,
						resource.PropertyMap{"name": resource.NewStringProperty(n)}, region)
					return out[key].StringValue()
				}).(pulumi.StringOutput)
			}
		}
		if err := pctx.RegisterResourceOutputs(c, state); err != nil {
			return nil, err
		}
		return &provider.ConstructResult{URN: c.URN(), State: state}, nil
	})
}

// eksClusterArgs maps pulumi-eks Cluster inputs onto the aws:eks/cluster:Cluster
// it creates, for the settings the pack judges: endpoint access, secrets
// encryption, control-plane logs, version, tags. Like pulumi-eks, an unset
// endpointPublicAccess means a public endpoint.
func eksClusterArgs(in pulumi.Map, roleARN pulumi.StringOutput) pulumi.Map {
	public := in["endpointPublicAccess"]
	if public == nil {
		public = pulumi.Bool(true)
	}
	vpc := pulumi.Map{"endpointPublicAccess": public, "endpointPrivateAccess": pulumi.Bool(true)}
	for from, to := range map[string]string{"privateSubnetIds": "subnetIds", "publicAccessCidrs": "publicAccessCidrs",
		"endpointPrivateAccess": "endpointPrivateAccess"} {
		if v, ok := in[from]; ok {
			vpc[to] = v
		}
	}
	// pulumi-eks puts the cluster security group it is given on the
	// cluster's VPC config (nodejs/eks/cluster.ts: vpcConfig.securityGroupIds
	// [eksClusterSecurityGroup.id]); the pack's network-sg-attached sees the
	// group attached through it.
	if sg, ok := in["clusterSecurityGroup"].(pulumi.AnyOutput); ok {
		// A resource reference arrives as an output of the resource, which
		// carries the dependency on it.
		id := sg.ApplyT(func(v any) (pulumi.StringOutput, error) {
			cr, ok := v.(pulumi.CustomResource)
			if !ok {
				return pulumi.StringOutput{}, fmt.Errorf("clusterSecurityGroup: want a resource, got %T", v)
			}
			return cr.ID().ToStringOutput(), nil
		}).(pulumi.StringOutput)
		vpc["securityGroupIds"] = pulumi.StringArray{id}
	} else if v, present := in["clusterSecurityGroup"]; present {
		panic(fmt.Sprintf("clusterSecurityGroup arrives as %T", v))
	}
	args := pulumi.Map{"roleArn": roleARN, "vpcConfig": vpc}
	for _, k := range []string{"name", "version", "enabledClusterLogTypes", "tags"} {
		if v, ok := in[k]; ok {
			args[k] = v
		}
	}
	if key, ok := in["encryptionConfigKeyArn"]; ok {
		args["encryptionConfig"] = pulumi.Map{"provider": pulumi.Map{"keyArn": key},
			"resources": pulumi.StringArray{pulumi.String("secrets")}}
	}
	return args
}
