//go:build e2e

// Command standin is a TEST-ONLY stand-in for the aws, eks, kubernetes and
// random resource providers, used by the engine end-to-end test (e2e/), where
// the real provider plugins cannot be had. It speaks the provider gRPC
// protocol; for any resource type it accepts the inputs, diffs them, and
// "creates" by echoing the inputs as outputs with the same deterministic ids,
// ARNs and names as the offline preview's mocks (internal/mockstack). It never
// talks to a cloud, and what it returns is not AWS's answer: it proves the
// engine, config, program and policy layers, nothing more.
//
// One binary serves every package: it is installed as pulumi-resource-<name>
// and takes its package from that name; -ldflags "-X main.versions=aws=6.83.4,…"
// sets the plugin version each package reports.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/eduai/infra/internal/mockstack"
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
	region       string
	host         *provider.HostClient
}

func main() {
	pkg := strings.TrimPrefix(filepath.Base(os.Args[0]), "pulumi-resource-")
	version := "0.0.0"
	for _, kv := range strings.Split(versions, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == pkg {
			version = v
		}
	}
	err := provider.Main(pkg, func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &standin{pkg: pkg, version: version, host: host}, nil
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
	}
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, AcceptResources: true}, nil
}

func (p *standin) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

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
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME, Diffs: changed}, nil
}

func (p *standin) state(urn string, props *structpb.Struct) (string, *structpb.Struct, error) {
	inputs, err := unmarshal(props)
	if err != nil {
		return "", nil, err
	}
	u := resource.URN(urn)
	id, state := mockstack.FakeState(urn, string(u.Type()), u.Name(), inputs, p.region)
	out, err := marshal(state)
	return id, out, err
}

func (p *standin) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	id, state, err := p.state(req.GetUrn(), req.GetProperties())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: state}, nil
}

func (p *standin) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	_, state, err := p.state(req.GetUrn(), req.GetNews())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: state}, nil
}

func (p *standin) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func (p *standin) Delete(context.Context, *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
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

// Construct builds a remote component (pulumi-eks Cluster, ManagedNodeGroup):
// it registers the component itself and, for a Cluster, the one child the
// policy pack judges under the engine — the aws:eks/cluster:Cluster that
// pulumi-eks creates from the component's inputs (the engine shows policies
// the component without its inputs). Other children of the real provider
// (IAM roles, security groups) are left out. It returns the outputs the
// program reads from the component.
func (p *standin) Construct(ctx context.Context, req *pulumirpc.ConstructRequest) (*pulumirpc.ConstructResponse, error) {
	return provider.Construct(ctx, req, p.host.EngineConn(), func(pctx *pulumi.Context, typ, name string,
		inputs provider.ConstructInputs, opts pulumi.ResourceOption) (*provider.ConstructResult, error) {
		c := &component{}
		if err := pctx.RegisterComponentResource(typ, name, c, opts); err != nil {
			return nil, err
		}
		if typ == "eks:index:Cluster" {
			in, err := inputs.Map()
			if err != nil {
				return nil, err
			}
			if err := pctx.RegisterResource("aws:eks/cluster:Cluster", name+"-eksCluster", eksClusterArgs(in),
				&custom{}, pulumi.Parent(c)); err != nil {
				return nil, err
			}
		}
		state := pulumi.Map{}
		for k, v := range mockstack.RemoteComponentOutputs(typ, name, p.region) {
			if v.IsString() {
				state[string(k)] = pulumi.String(v.StringValue())
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
func eksClusterArgs(in pulumi.Map) pulumi.Map {
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
	args := pulumi.Map{"roleArn": pulumi.String("arn:aws:iam::" + mockstack.FakeAccount + ":role/standin-eks"),
		"vpcConfig": vpc}
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
