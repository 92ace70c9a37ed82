package service

import (
	"strings"

	"github.com/eduai/infra/components/internal/netpol"

	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Network isolation (issue #17). The services namespace denies every
// connection (DefaultDenyPolicy, made by the stack with the namespace), and
// each service opens what it needs: its callers, the ingress controller
// when it has an ingress, Prometheus when it is scraped; out, DNS, the mesh's
// control plane, the trace collector, the node's Pod Identity agent, the data
// stores and AWS APIs, and the other pods of the namespace. The VPC CNI
// enforces these (components/cluster enables its network policy agent).

// Ports the allows open (Istio's sidecar and control plane: istio.io,
// "Ports used by Istio"; the data stores: PostgreSQL 5432, Redis 6379, MSK
// TLS and IAM 9094/9098, Amazon MQ AMQPS 5671; the EKS Pod Identity agent:
// 169.254.170.23:80, EKS user guide "EKS Pod Identity").
var (
	meshEgressPorts   = []int{15012, 15017}
	sidecarPorts      = []int{15090, 15020, 15021}
	dataStorePorts    = []int{5432, 6379, 9094, 9098, 5671}
	podIdentityAgent  = "169.254.170.23/32"
	collectorOTLPPort = 4317
	dnsNamespace      = "kube-system"
	awsAPIPort        = 443
)

// Isolation says who may reach a service and what it reaches.
type Isolation struct {
	// Callers may call the service, "namespace/serviceAccount" (a caller in
	// the service's namespace by its ServiceLabel, which is its service
	// account here; another namespace as a whole). Empty: every pod of the namespace.
	Callers []string
	// IngressNamespace runs the ingress controller that forwards the
	// service's Ingress (istio-ingress, ingress-nginx). Empty without an ingress.
	IngressNamespace string
	// ScrapeNamespace runs the Prometheus that scrapes the service. Empty: not scraped.
	ScrapeNamespace string
	// DataStoreCIDRs hold the data stores (the VPC). Required.
	DataStoreCIDRs []string
	// MeshNamespace runs istiod, which the sidecars reach. Empty without the mesh.
	MeshNamespace string
	// CollectorNamespace runs the trace collector the sidecars send spans to. Empty: none.
	CollectorNamespace string
}

// DefaultDenyPolicy is the namespace-wide NetworkPolicy that denies every
// connection in and out of the namespace's pods; the allows open the rest.
func DefaultDenyPolicy(ctx *pulumi.Context, name, namespace string, opts ...pulumi.ResourceOption) (*networkingv1.NetworkPolicy, error) {
	return netpol.DefaultDeny(ctx, name, namespace, []string{"Ingress", "Egress"}, opts...)
}

// ServiceLabel marks every pod of a service (its workloads and its Jobs,
// which carry no app label so that no Service sends them traffic).
const ServiceLabel = "eduai.com/service"

func appPods(service string) networkingv1.NetworkPolicyPeerArgs {
	return netpol.Pods(map[string]string{ServiceLabel: service})
}

// networkPolicy opens the service's pods (every pod labelled
// ServiceLabel=<name>: the workloads, their migration and smoke Jobs) to
// what they need.
func (b *builder) networkPolicy() error {
	a, iso := b.args, b.args.Isolation
	if iso == nil {
		return nil
	}
	var from networkingv1.NetworkPolicyPeerArray
	if len(iso.Callers) == 0 {
		from = append(from, netpol.SameNamespace())
	}
	// Its own pods (a smoke Job calls the green pods).
	from = append(from, appPods(a.Name))
	for _, c := range iso.Callers {
		ns, sa, _ := strings.Cut(c, "/")
		if ns == a.Namespace {
			from = append(from, appPods(sa))
		} else {
			from = append(from, netpol.InNamespace(ns))
		}
	}
	// With the mesh, a caller's packets still name the app's port (the
	// sidecar takes them over inside the pod, after the policy has judged them).
	servePorts := []int{a.Port}
	ingress := networkingv1.NetworkPolicyIngressRuleArray{
		networkingv1.NetworkPolicyIngressRuleArgs{From: from, Ports: netpol.TCP(servePorts...)},
	}
	if iso.IngressNamespace != "" {
		ingress = append(ingress, networkingv1.NetworkPolicyIngressRuleArgs{
			From: networkingv1.NetworkPolicyPeerArray{netpol.InNamespace(iso.IngressNamespace)}, Ports: netpol.TCP(servePorts...)})
	}
	if iso.ScrapeNamespace != "" {
		scrape := []int{a.Port}
		if a.Mesh {
			scrape = append(scrape, sidecarPorts...)
		}
		ingress = append(ingress, networkingv1.NetworkPolicyIngressRuleArgs{
			From: networkingv1.NetworkPolicyPeerArray{netpol.InNamespace(iso.ScrapeNamespace)}, Ports: netpol.TCP(scrape...)})
	}

	var stores networkingv1.NetworkPolicyPeerArray
	for _, cidr := range iso.DataStoreCIDRs {
		stores = append(stores, netpol.IPBlock(cidr))
	}
	egress := networkingv1.NetworkPolicyEgressRuleArray{
		networkingv1.NetworkPolicyEgressRuleArgs{To: networkingv1.NetworkPolicyPeerArray{netpol.InNamespace(dnsNamespace)}, Ports: netpol.DNS()},
		// The namespace's other services (their own policies decide who gets in).
		networkingv1.NetworkPolicyEgressRuleArgs{To: networkingv1.NetworkPolicyPeerArray{netpol.SameNamespace()}},
		networkingv1.NetworkPolicyEgressRuleArgs{To: stores, Ports: netpol.TCP(dataStorePorts...)},
		networkingv1.NetworkPolicyEgressRuleArgs{To: networkingv1.NetworkPolicyPeerArray{netpol.IPBlock(podIdentityAgent)},
			Ports: netpol.TCP(80)},
		// AWS APIs (S3, STS, Secrets Manager; through endpoints or NAT).
		networkingv1.NetworkPolicyEgressRuleArgs{To: networkingv1.NetworkPolicyPeerArray{netpol.IPBlock("0.0.0.0/0")},
			Ports: netpol.TCP(awsAPIPort)},
	}
	if iso.MeshNamespace != "" {
		egress = append(egress, networkingv1.NetworkPolicyEgressRuleArgs{
			To: networkingv1.NetworkPolicyPeerArray{netpol.InNamespace(iso.MeshNamespace)}, Ports: netpol.TCP(meshEgressPorts...)})
	}
	if iso.CollectorNamespace != "" {
		egress = append(egress, networkingv1.NetworkPolicyEgressRuleArgs{
			To: networkingv1.NetworkPolicyPeerArray{netpol.InNamespace(iso.CollectorNamespace)}, Ports: netpol.TCP(collectorOTLPPort)})
	}
	_, err := networkingv1.NewNetworkPolicy(b.ctx, b.name, &networkingv1.NetworkPolicyArgs{
		Metadata: b.meta(a.Name, nil),
		Spec: networkingv1.NetworkPolicySpecArgs{
			PodSelector: metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{ServiceLabel: pulumi.String(a.Name)}},
			PolicyTypes: pulumi.StringArray{pulumi.String("Ingress"), pulumi.String("Egress")},
			Ingress:     ingress,
			Egress:      egress,
		},
	}, b.parent)
	return err
}
