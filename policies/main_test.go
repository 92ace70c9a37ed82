package main

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eduai/infra/policies/rules"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// startPack builds this package as the engine would run an executable pack,
// starts it, and connects to the analyzer it serves on the port it prints.
func startPack(t *testing.T) pulumirpc.AnalyzerClient {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "eduai-policy")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	port, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the pack's port: %v", err)
	}
	conn, err := grpc.NewClient("127.0.0.1:"+strings.TrimSpace(port),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return pulumirpc.NewAnalyzerClient(conn)
}

func marshal(t *testing.T, m resource.PropertyMap) *structpb.Struct {
	t.Helper()
	s, err := plugin.MarshalProperties(m, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The pack speaks the analyzer protocol the engine uses: handshake, stack
// configuration, info, per-resource and whole-stack analysis, and unknown
// values during a preview give no verdict instead of a crash.
func TestPackServesAnalyzerProtocol(t *testing.T) {
	client := startPack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if _, err := client.Handshake(ctx, &pulumirpc.AnalyzerHandshakeRequest{}); err != nil {
		t.Fatalf("Handshake: %v", err)
	}
	if _, err := client.ConfigureStack(ctx, &pulumirpc.AnalyzerStackConfigureRequest{
		Stack: "prod", Project: "eduai", DryRun: true}); err != nil {
		t.Fatalf("ConfigureStack: %v", err)
	}
	info, err := client.GetAnalyzerInfo(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatalf("GetAnalyzerInfo: %v", err)
	}
	if info.GetName() != rules.PackName || info.GetVersion() != rules.PackVersion.String() {
		t.Errorf("pack %s@%s", info.GetName(), info.GetVersion())
	}
	var names []string
	for _, p := range info.GetPolicies() {
		names = append(names, p.GetName())
	}
	if len(names) != len(rules.Policies()) {
		t.Errorf("policies %v", names)
	}

	vpcURN := "urn:pulumi:prod::eduai::aws:ec2/vpc:Vpc::network"
	provider := &pulumirpc.AnalyzerProviderResource{Type: "pulumi:providers:aws", Name: "aws",
		Urn: "urn:pulumi:prod::eduai::pulumi:providers:aws::aws",
		Properties: marshal(t, resource.PropertyMap{
			// The engine sends provider inputs JSON-encoded.
			"defaultTags": resource.NewStringProperty(`{"tags":{"Environment":"prod","Project":"p","ManagedBy":"pulumi"}}`),
		})}

	resp, err := client.Analyze(ctx, &pulumirpc.AnalyzeRequest{Type: "aws:ec2/vpc:Vpc", Name: "network", Urn: vpcURN,
		Properties: marshal(t, resource.PropertyMap{"cidrBlock": resource.NewStringProperty("10.0.0.0/16")}),
		Provider:   provider})
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	if d := resp.GetDiagnostics(); len(d) != 1 || d[0].GetPolicyName() != rules.RequiredTags ||
		!strings.Contains(d[0].GetMessage(), "CostCenter") {
		t.Errorf("Analyze diagnostics: %v", d)
	}

	// Tags not known yet (a preview before the value is computed): no verdict, no crash.
	resp, err = client.Analyze(ctx, &pulumirpc.AnalyzeRequest{Type: "aws:ec2/vpc:Vpc", Name: "network", Urn: vpcURN,
		Properties: marshal(t, resource.PropertyMap{"tags": resource.MakeComputed(resource.NewStringProperty(""))}),
		Provider:   provider})
	if err != nil {
		t.Fatalf("Analyze with unknown tags: %v", err)
	}
	if d := resp.GetDiagnostics(); len(d) != 0 {
		t.Errorf("unknown tags gave a verdict: %v", d)
	}

	stack, err := client.AnalyzeStack(ctx, &pulumirpc.AnalyzeStackRequest{Resources: []*pulumirpc.AnalyzerResource{{
		Type: "aws:ec2/vpc:Vpc", Name: "network", Urn: vpcURN,
		Properties: marshal(t, resource.PropertyMap{"cidrBlock": resource.NewStringProperty("10.0.0.0/16")}),
	}}})
	if err != nil {
		t.Fatalf("AnalyzeStack: %v", err)
	}
	found := false
	for _, d := range stack.GetDiagnostics() {
		if d.GetPolicyName() == rules.VpcFlowLogs && d.GetUrn() == vpcURN &&
			d.GetEnforcementLevel() == pulumirpc.EnforcementLevel_MANDATORY {
			found = true
		}
	}
	if !found {
		t.Errorf("AnalyzeStack diagnostics: %v", stack.GetDiagnostics())
	}
}
