// Package addons installs the cluster's platform add-ons with Helm, each a
// single kubernetes:helm.sh/v3:Release with a pinned chart version:
// metrics-server, cluster-autoscaler, aws-load-balancer-controller,
// ingress-nginx and cert-manager, plus cert-manager's ClusterIssuer for the
// environment. AWS access for the autoscaler and the load balancer
// controller goes through EKS Pod Identity (roles trusted by
// pods.eks.amazonaws.com, bound to one service account each).
package addons

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/eduai/infra/components/field"

	"github.com/eduai/infra/components/internal/k8sobj"
	"github.com/eduai/infra/components/internal/podidentity"
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Chart names the add-on charts; a Chart's version is pinned in config.
type Chart string

const (
	MetricsServer             Chart = "metrics-server"
	ClusterAutoscaler         Chart = "cluster-autoscaler"
	AWSLoadBalancerController Chart = "aws-load-balancer-controller"
	IngressNginx              Chart = "ingress-nginx"
	CertManager               Chart = "cert-manager"
)

// chartSpec is where a chart comes from and where it runs.
type chartSpec struct {
	repo, namespace, serviceAccount string
}

var charts = map[Chart]chartSpec{
	MetricsServer:             {"https://kubernetes-sigs.github.io/metrics-server/", "kube-system", "metrics-server"},
	ClusterAutoscaler:         {"https://kubernetes.github.io/autoscaler", "kube-system", "cluster-autoscaler"},
	AWSLoadBalancerController: {"https://aws.github.io/eks-charts", "kube-system", "aws-load-balancer-controller"},
	IngressNginx:              {"https://kubernetes.github.io/ingress-nginx", "ingress-nginx", "ingress-nginx"},
	CertManager:               {"https://charts.jetstack.io", "cert-manager", "cert-manager"},
}

// IngressNginxNamespace runs ingress-nginx (its Ingresses' traffic comes from there).
var IngressNginxNamespace = charts[IngressNginx].namespace

// Charts lists every chart, in a stable order.
var Charts = []Chart{MetricsServer, ClusterAutoscaler, AWSLoadBalancerController, IngressNginx, CertManager}

var chartVersionPattern = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+$`)

// ValidChartVersion tells whether v is an exact chart version (no ranges).
func ValidChartVersion(v string) bool { return chartVersionPattern.MatchString(v) }

// Args configures the add-ons.
type Args struct {
	// ClusterName is the EKS cluster's name (autoscaler discovery, the load
	// balancer controller, pod identity associations). Required.
	ClusterName string
	// Cluster is the same name as the cluster's output (cluster.Cluster.ClusterName):
	// the Pod Identity associations take it, so they wait for the cluster. Required.
	Cluster pulumi.StringInput
	// Region and VpcID tell the load balancer controller where it runs. Required.
	Region string
	VpcID  pulumi.StringInput
	// ChartVersions pins every chart in Charts. Required.
	ChartVersions map[Chart]string
	// Issuer is the environment's ClusterIssuer. Required.
	Issuer IssuerArgs
	// DNSZoneARN is Issuer.DNSZone's hosted zone ARN: cert-manager may
	// change records there (DNS-01). Required with Issuer.DNSZone.
	DNSZoneARN pulumi.StringInput
	// DependsOn are resources the releases wait for (node groups: pods need nodes).
	DependsOn []pulumi.Resource
}

// Validate checks the arguments' values (not the wiring: cluster, VPC,
// zone) and names each wrong field (field.List); stacks/ reports them at
// their config keys.
func (a *Args) Validate() error {
	var errs field.List
	var names []string
	for _, c := range Charts {
		names = append(names, string(c))
		if v, ok := a.ChartVersions[c]; !ok {
			errs.Add(field.Required, "ChartVersions", nil, "must pin %s (setting the charts replaces the defaults, so list all five)", c)
		} else if !ValidChartVersion(v) {
			errs.Add(field.Format, "ChartVersions["+string(c)+"]", v, "must be an exact chart version like 1.14.0")
		}
	}
	for _, c := range slices.Sorted(maps.Keys(a.ChartVersions)) {
		if _, ok := charts[c]; !ok {
			errs.Add(field.Enum, "ChartVersions["+string(c)+"]", nil, "unknown chart (known: %s)", strings.Join(names, ", "))
		}
	}
	a.Issuer.validate(&errs)
	return errs.Err()
}

func (a *Args) validate() error {
	errs := []error{a.Validate()}
	if a.ClusterName == "" || a.Cluster == nil || a.Region == "" || a.VpcID == nil {
		errs = append(errs, errors.New("ClusterName, Cluster, Region and VpcID are required"))
	}
	if (a.Issuer.DNSZone != "") != (a.DNSZoneARN != nil) {
		errs = append(errs, errors.New("DNSZoneARN: required with Issuer.DNSZone, and only then (cert-manager's DNS-01 role)"))
	}
	if _, acme := acmeServers[a.Issuer.Kind]; acme && a.Issuer.DNSZone != "" && a.Issuer.Region == "" {
		errs = append(errs, errors.New("Issuer.Region: required with Issuer.DNSZone (DNS-01 in Route 53)"))
	}
	return errors.Join(errs...)
}

// ClusterAddons is the component.
type ClusterAddons struct {
	pulumi.ResourceState

	// Releases by chart.
	Releases map[Chart]*helmv3.Release
	// IssuerName is the ClusterIssuer that Ingress TLS refers to.
	IssuerName string
}

// New installs the add-ons. The component needs the AWS provider and the
// cluster's Kubernetes provider among its providers.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*ClusterAddons, error) {
	if args == nil {
		args = &Args{}
	}
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("addons %q: %w", name, err)
	}
	c := &ClusterAddons{Releases: map[Chart]*helmv3.Release{}, IssuerName: args.Issuer.Name()}
	if err := ctx.RegisterComponentResource("eduai:addons:ClusterAddons", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)

	// AWS access for the two controllers that call AWS APIs.
	identities := map[Chart]string{
		ClusterAutoscaler:         autoscalerPolicy(args.ClusterName),
		AWSLoadBalancerController: loadBalancerControllerPolicy,
	}
	policies := map[Chart]pulumi.StringInput{}
	for chart, p := range identities {
		policies[chart] = pulumi.String(p)
	}
	if _, acme := acmeServers[args.Issuer.Kind]; acme && args.DNSZoneARN != nil {
		// cert-manager solves DNS-01 in the zone (issuer.go).
		policies[CertManager] = args.DNSZoneARN.ToStringOutput().ApplyT(dns01Policy).(pulumi.StringOutput)
	}
	var bindings []pulumi.Resource
	for _, chart := range slices.Sorted(maps.Keys(policies)) {
		spec := charts[chart]
		assoc, err := podidentity.New(ctx, name+"-"+string(chart), podidentity.Binding{Cluster: args.Cluster,
			Namespace: spec.namespace, ServiceAccount: spec.serviceAccount, Policy: policies[chart]}, parent)
		if err != nil {
			return nil, err
		}
		bindings = append(bindings, assoc)
	}

	values := map[Chart]pulumi.Map{
		MetricsServer: {},
		ClusterAutoscaler: {
			"cloudProvider": pulumi.String("aws"),
			"awsRegion":     pulumi.String(args.Region),
			"autoDiscovery": pulumi.Map{"clusterName": pulumi.String(args.ClusterName)},
			"rbac": pulumi.Map{"serviceAccount": pulumi.Map{
				"name": pulumi.String(charts[ClusterAutoscaler].serviceAccount)}},
			"extraArgs": pulumi.Map{
				"balance-similar-node-groups":   pulumi.Bool(true),
				"skip-nodes-with-local-storage": pulumi.Bool(false),
				"expander":                      pulumi.String("least-waste"),
			},
		},
		AWSLoadBalancerController: {
			"clusterName": pulumi.String(args.ClusterName),
			"region":      pulumi.String(args.Region),
			"vpcId":       args.VpcID,
			"serviceAccount": pulumi.Map{
				"name": pulumi.String(charts[AWSLoadBalancerController].serviceAccount)},
		},
		IngressNginx: {
			"controller": pulumi.Map{
				"replicaCount": pulumi.Int(2),
				"service": pulumi.Map{"annotations": pulumi.Map{
					// An internet-facing NLB provisioned by the load balancer controller.
					"service.beta.kubernetes.io/aws-load-balancer-type":            pulumi.String("external"),
					"service.beta.kubernetes.io/aws-load-balancer-scheme":          pulumi.String("internet-facing"),
					"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": pulumi.String("ip"),
				}},
				"metrics": pulumi.Map{"enabled": pulumi.Bool(true)},
			},
		},
		CertManager: {"crds": pulumi.Map{"enabled": pulumi.Bool(true), "keep": pulumi.Bool(true)}},
	}
	// The load balancer controller's webhook must run before any Service of
	// type LoadBalancer (ingress-nginx) is created.
	after := map[Chart][]Chart{IngressNginx: {AWSLoadBalancerController}}

	for _, chart := range Charts {
		spec := charts[chart]
		deps := append(slices.Clone(args.DependsOn), bindings...)
		for _, d := range after[chart] {
			deps = append(deps, c.Releases[d])
		}
		rel, err := helmv3.NewRelease(ctx, name+"-"+string(chart), &helmv3.ReleaseArgs{
			Name:            pulumi.String(string(chart)),
			Chart:           pulumi.String(string(chart)),
			Version:         pulumi.String(args.ChartVersions[chart]),
			RepositoryOpts:  helmv3.RepositoryOptsArgs{Repo: pulumi.String(spec.repo)},
			Namespace:       pulumi.String(spec.namespace),
			CreateNamespace: pulumi.Bool(spec.namespace != "kube-system"),
			Atomic:          pulumi.Bool(true),
			CleanupOnFail:   pulumi.Bool(true),
			Timeout:         pulumi.Int(600),
			MaxHistory:      pulumi.Int(10),
			Values:          values[chart],
		}, parent, pulumi.DependsOn(deps))
		if err != nil {
			return nil, err
		}
		c.Releases[chart] = rel
	}

	if _, err := k8sobj.New(ctx, name+"-issuer", args.Issuer.Manifest(), parent,
		pulumi.DependsOn([]pulumi.Resource{c.Releases[CertManager]})); err != nil {
		return nil, err
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"issuer": pulumi.String(c.IssuerName)})
}

// autoscalerPolicy lets the autoscaler read every Auto Scaling group but
// resize only the ones EKS tagged as this cluster's.
func autoscalerPolicy(cluster string) string {
	return `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Action":["autoscaling:DescribeAutoScalingGroups","autoscaling:DescribeAutoScalingInstances",` +
		`"autoscaling:DescribeLaunchConfigurations","autoscaling:DescribeScalingActivities","autoscaling:DescribeTags",` +
		`"ec2:DescribeImages","ec2:DescribeInstanceTypes","ec2:DescribeLaunchTemplateVersions",` +
		`"ec2:GetInstanceTypesFromInstanceRequirements","eks:DescribeNodegroup"],"Resource":"*"},` +
		`{"Effect":"Allow","Action":["autoscaling:SetDesiredCapacity","autoscaling:TerminateInstanceInAutoScalingGroup"],` +
		`"Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/k8s.io/cluster-autoscaler/` + cluster +
		`":"owned"}}}]}`
}

// loadBalancerControllerPolicy is what the controller needs to manage load
// balancers, target groups and their security groups; writes are limited to
// resources the controller itself tagged (elbv2.k8s.aws/cluster).
const loadBalancerControllerPolicy = `{"Version":"2012-10-17","Statement":[` +
	`{"Effect":"Allow","Action":["iam:CreateServiceLinkedRole"],"Resource":"*",` +
	`"Condition":{"StringEquals":{"iam:AWSServiceName":"elasticloadbalancing.amazonaws.com"}}},` +
	`{"Effect":"Allow","Action":["ec2:Describe*","ec2:GetSecurityGroupsForVpc","elasticloadbalancing:Describe*",` +
	`"acm:ListCertificates","acm:DescribeCertificate","iam:ListServerCertificates","iam:GetServerCertificate",` +
	`"wafv2:GetWebACL","wafv2:GetWebACLForResource","shield:GetSubscriptionState"],"Resource":"*"},` +
	`{"Effect":"Allow","Action":["ec2:CreateSecurityGroup","ec2:CreateTags"],"Resource":"*"},` +
	`{"Effect":"Allow","Action":["ec2:AuthorizeSecurityGroupIngress","ec2:RevokeSecurityGroupIngress",` +
	`"ec2:DeleteSecurityGroup","ec2:DeleteTags"],"Resource":"*",` +
	`"Condition":{"Null":{"aws:ResourceTag/elbv2.k8s.aws/cluster":"false"}}},` +
	`{"Effect":"Allow","Action":["elasticloadbalancing:CreateLoadBalancer","elasticloadbalancing:CreateTargetGroup"],` +
	`"Resource":"*","Condition":{"Null":{"aws:RequestTag/elbv2.k8s.aws/cluster":"false"}}},` +
	`{"Effect":"Allow","Action":["elasticloadbalancing:CreateListener","elasticloadbalancing:DeleteListener",` +
	`"elasticloadbalancing:CreateRule","elasticloadbalancing:DeleteRule","elasticloadbalancing:AddTags",` +
	`"elasticloadbalancing:RemoveTags","elasticloadbalancing:ModifyLoadBalancerAttributes",` +
	`"elasticloadbalancing:SetIpAddressType","elasticloadbalancing:SetSecurityGroups","elasticloadbalancing:SetSubnets",` +
	`"elasticloadbalancing:DeleteLoadBalancer","elasticloadbalancing:ModifyTargetGroup",` +
	`"elasticloadbalancing:ModifyTargetGroupAttributes","elasticloadbalancing:DeleteTargetGroup",` +
	`"elasticloadbalancing:RegisterTargets","elasticloadbalancing:DeregisterTargets",` +
	`"elasticloadbalancing:ModifyListener","elasticloadbalancing:ModifyRule","elasticloadbalancing:AddListenerCertificates",` +
	`"elasticloadbalancing:RemoveListenerCertificates","elasticloadbalancing:SetWebAcl"],"Resource":"*",` +
	`"Condition":{"Null":{"aws:ResourceTag/elbv2.k8s.aws/cluster":"false"}}}]}`
