package refs

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func refsOf(typ string, in map[string]any) string {
	var out []string
	for _, r := range Of(typ, resource.NewPropertyMapFromMap(in)) {
		out = append(out, r.Path+"="+r.Value+" by "+r.Rule.By)
	}
	return strings.Join(out, "; ")
}

func TestOf(t *testing.T) {
	cases := []struct {
		name, typ string
		in        map[string]any
		want      string
	}{
		{"cluster by name, role by ARN", "aws:eks/podIdentityAssociation:PodIdentityAssociation", map[string]any{
			"clusterName": "eduai-prod", "namespace": "kube-system", "roleArn": "arn:aws:iam::123456789012:role/r"},
			"clusterName=eduai-prod by name; roleArn=arn:aws:iam::123456789012:role/r by arn"},
		{"EC2 ids wherever they are; tags are text", "aws:ec2/subnet:Subnet", map[string]any{"vpcId": "vpc-0123456789abcdef0",
			"tags": map[string]any{"Name": "vpc-0123456789abcdef0"}}, "vpcId=vpc-0123456789abcdef0 by id"},
		{"a role's trusted principals", "aws:iam/role:Role", map[string]any{"assumeRolePolicy": `{"Statement":[{"Effect":"Allow",` +
			`"Principal":{"AWS":["arn:aws:iam::123456789012:role/ci","arn:aws:iam::123456789012:root"],"Service":"ec2.amazonaws.com"}}]}`},
			"assumeRolePolicy=arn:aws:iam::123456789012:role/ci by arn"},
		{"a namespace", "kubernetes:core/v1:ConfigMap", map[string]any{"metadata": map[string]any{"namespace": "eduai"}},
			"metadata.namespace=eduai by namespace"},
		{"a release that creates its namespace", "kubernetes:helm.sh/v3:Release", map[string]any{"chart": "c",
			"namespace": "monitoring", "createNamespace": true}, ""},
		{"a release into an existing namespace", "kubernetes:helm.sh/v3:Release", map[string]any{"chart": "c",
			"namespace": "monitoring"}, "namespace=monitoring by namespace"},
		{"a pod's service account and config map; an optional secret is none", "kubernetes:apps/v1:Deployment", map[string]any{
			"metadata": map[string]any{"namespace": "eduai"},
			"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"serviceAccountName": "svc",
				"containers": []any{map[string]any{"envFrom": []any{
					map[string]any{"configMapRef": map[string]any{"name": "cfg"}},
					map[string]any{"secretRef": map[string]any{"name": "extra", "optional": true}}}}}}}}},
			"metadata.namespace=eduai by namespace; spec.template.spec.containers[0].envFrom[0].configMapRef.name=cfg by metadata.name; " +
				"spec.template.spec.serviceAccountName=svc by metadata.name"},
		{"a custom resource's CRD", "kubernetes:argoproj.io/v1alpha1:Rollout", map[string]any{}, "kind=argo-rollouts by chart"},
		{"an Aurora cluster id behind a prefix", "aws:appautoscaling/target:Target", map[string]any{"resourceId": "cluster:eduai-prod"},
			"resourceId=eduai-prod by clusterIdentifier"},
	}
	for _, c := range cases {
		if got := refsOf(c.typ, c.in); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

func TestIdentities(t *testing.T) {
	release := resource.NewPropertyMapFromMap(map[string]any{"chart": "base", "namespace": "istio-system", "createNamespace": true})
	if got := Identities(HelmRelease, "namespace", "", release); len(got) != 1 || got[0] != "istio-system" {
		t.Errorf("a release that creates its namespace: %v", got)
	}
	release["createNamespace"] = resource.NewBoolProperty(false)
	if got := Identities(HelmRelease, "namespace", "", release); len(got) != 0 {
		t.Errorf("a release into an existing namespace stands for it: %v", got)
	}
	svc := resource.NewPropertyMapFromMap(map[string]any{"status": map[string]any{"loadBalancer": map[string]any{
		"ingress": []any{map[string]any{"hostname": "k8s-x.elb.amazonaws.com"}}}}})
	if got := Identities("kubernetes:core/v1:Service", "status.loadBalancer.ingress[*].hostname", "", svc); len(got) != 1 {
		t.Errorf("load balancer host name: %v", got)
	}
	if CRDChart("kubernetes:networking.istio.io/v1:VirtualService") != "base" || CRDChart("kubernetes:core/v1:Service") != "" ||
		CRDChart("kubernetes:argoproj.io/v1alpha1:Application") != "argo-cd" {
		t.Error("CRD charts")
	}
}

// A cross-region peering addresses its peer VPC in the peer region.
func TestCrossRegionReference(t *testing.T) {
	in := resource.NewPropertyMapFromMap(map[string]any{"vpcId": "vpc-0123456789abcdef0",
		"peerVpcId": "vpc-0fedcba9876543210", "peerRegion": "us-east-1"})
	got := map[string]string{}
	for _, r := range Of("aws:ec2/vpcPeeringConnection:VpcPeeringConnection", in) {
		got[r.Path] = r.Region
	}
	if len(got) != 2 || got["vpcId"] != "" || got["peerVpcId"] != "us-east-1" {
		t.Errorf("references and their regions: %v", got)
	}
}
